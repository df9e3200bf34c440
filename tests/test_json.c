/* test_json.c - the strict JSON scanner: verdicts, error positions, fields. */
#include "fixtures.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int scan(const char *s, al_jscan_t *out)
{
    return al_json_scan(s, strlen(s), out);
}

START_TEST(accepts_valid_documents)
{
    static const char *const ok[] = {
        "{}",
        "[]",
        " {} ",
        "\t{\"a\":1}\r",
        "0",
        "-0",
        "1.5e-3",
        "-12E+7",
        "\"x\"",
        "true",
        "false",
        "null",
        "[1,[2,[3,{}]]]",
        "{\"a\":{\"b\":[null,true,false,\"s\"]}}",
        "\"\\u0000\"",
        "\"\\ud83d\\ude00\"",
        "\"caf\xc3\xa9 \xe6\x9d\xb1 \xf0\x9f\x98\x80\"",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
        "\"\x7f\"",
        "\"0123456789abcdef0123456789abcdef\\n0123456789abcdef\"",
    };
    al_jscan_t r;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(scan(ok[i], &r) == 1, "rejected valid %s: %s", ok[i], r.err_msg);
}
END_TEST

typedef struct {
    const char *text;
    unsigned pos;
    const char *msg;
} bad_case_t;

START_TEST(rejects_invalid_documents_with_position_and_reason)
{
    static const bad_case_t bad[] = {
        {"", 0, "unexpected end of line"},
        {"{\"a\":1,}", 7, "trailing comma"},
        {"[1,2,]", 5, "trailing comma"},
        {"{\"a\":NaN}", 5, "NaN and Infinity are not JSON"},
        {"[-Infinity]", 2, "NaN and Infinity are not JSON"},
        {"{\"a\":01}", 6, "leading zero in number"},
        {"{\"a\":1.}", 7, "digit expected after decimal point"},
        {"{\"a\":1e}", 7, "digit expected in exponent"},
        {"{\"a\":-}", 6, "invalid number"},
        {"{\"a\":\"x\ty\"}", 7, "control character in string"},
        {"{\"a\":\"\\x\"}", 6, "invalid escape in string"},
        {"{\"a\":\"\\u12G4\"}", 6, "invalid \\u escape"},
        {"{\"a\":\"\\udc00\"}", 6, "unpaired surrogate in \\u escape"},
        {"{\"a\":\"\\ud800x\"}", 6, "unpaired surrogate in \\u escape"},
        {"{\"a\":\"\\ud800\\u0041\"}", 6, "unpaired surrogate in \\u escape"},
        {"{\"a\":\"\xff\"}", 6, "invalid UTF-8"},
        {"{\"a\":\"\xc0\xaf\"}", 6, "invalid UTF-8"},         /* overlong */
        {"{\"a\":\"\xed\xa0\x80\"}", 6, "invalid UTF-8"},     /* surrogate */
        {"{\"a\":\"\xf4\x90\x80\x80\"}", 6, "invalid UTF-8"}, /* > U+10FFFF */
        {"{\"a\":\"\xe2\x82\"}", 6, "invalid UTF-8"},         /* cut short */
        {"{\"a\":\"abc", 9, "unterminated string"},
        {"{\"a\" 1}", 5, "expected ':' after object key"},
        {"{a:1}", 1, "expected string key"},
        {"{'a':1}", 1, "single-quoted string"},
        {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after object member"},
        {"[1 2]", 3, "expected ',' or ']' after array element"},
        {"{\"a\":1}x", 7, "unexpected text after the JSON value"},
        {"{\"a\":1}{}", 7, "unexpected text after the JSON value"},
        {"{\"a\":tru}", 5, "invalid literal"},
        {"{\"a\":", 5, "unexpected end of line"},
        {"{\"a\":[1,", 8, "unexpected end of line"},
        {"@", 0, "unexpected character"},
    };
    al_jscan_t r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(scan(bad[i].text, &r) == 0, "accepted invalid %s", bad[i].text);
        ck_assert_msg(strcmp(r.err_msg, bad[i].msg) == 0, "%s: message '%s', expected '%s'",
                      bad[i].text, r.err_msg, bad[i].msg);
        ck_assert_msg(r.err_pos == bad[i].pos, "%s: position %u, expected %u", bad[i].text,
                      r.err_pos, bad[i].pos);
    }
}
END_TEST

START_TEST(extracts_top_level_fields)
{
    const char *s = "{\"event_type\":\"Login\",\"user_id\":\"u\\\"12345\",\"time\":1700000000000,"
                    "\"device_id\":null,\"insert_id\":{\"x\":[1]},\"other\":3}";
    al_jscan_t r;
    const al_jfield_t *f = r.field;
    ck_assert_int_eq(scan(s, &r), 1);
    ck_assert_int_eq(r.top_type, AL_JT_OBJECT);
    ck_assert_int_eq(f[AL_KEY_EVENT_TYPE].type, AL_JT_STRING);
    ck_assert_int_eq(f[AL_KEY_EVENT_TYPE].len, 5);
    ck_assert_int_eq(memcmp(s + f[AL_KEY_EVENT_TYPE].off, "Login", 5), 0);
    ck_assert_int_eq(f[AL_KEY_USER_ID].type, AL_JT_STRING);
    ck_assert_int_eq(f[AL_KEY_USER_ID].escaped, 1);
    ck_assert_int_eq(memcmp(s + f[AL_KEY_USER_ID].off, "u\\\"12345", f[AL_KEY_USER_ID].len), 0);
    ck_assert_int_eq(f[AL_KEY_TIME].type, AL_JT_INTEGER);
    ck_assert_int_eq(memcmp(s + f[AL_KEY_TIME].off, "1700000000000", f[AL_KEY_TIME].len), 0);
    ck_assert_int_eq(f[AL_KEY_DEVICE_ID].type, AL_JT_NULL);
    ck_assert_int_eq(f[AL_KEY_INSERT_ID].type, AL_JT_OBJECT);
    ck_assert_int_eq(memcmp(s + f[AL_KEY_INSERT_ID].off, "{\"x\":[1]}", f[AL_KEY_INSERT_ID].len),
                     0);
    ck_assert_uint_eq(r.max_depth, 3);
}
END_TEST

START_TEST(ignores_tracked_names_below_the_top_level)
{
    al_jscan_t r;
    ck_assert_int_eq(
        scan("{\"p\":{\"user_id\":\"x\",\"time\":1.5},\"e\":[{\"event_type\":1}]}", &r), 1);
    for (int k = 0; k < AL_KEY_COUNT; k++)
        ck_assert_int_eq(r.field[k].type, AL_JT_ABSENT);
}
END_TEST

START_TEST(matches_escaped_keys_and_counts_duplicates)
{
    al_jscan_t r;
    ck_assert_int_eq(
        scan("{\"user\\u005fid\":\"abcdef\",\"t\\u0069me\":1.5,\"user_id\":\"x\"}", &r), 1);
    ck_assert_int_eq(r.field[AL_KEY_USER_ID].seen, 2);
    ck_assert_int_eq(r.field[AL_KEY_TIME].type, AL_JT_NUMBER);
}
END_TEST

START_TEST(handles_nesting_up_to_its_limit_without_recursion)
{
    char *s = malloc(2 * AL_JSON_MAX_DEPTH + 4);
    al_jscan_t r;
    size_t n = 0;
    for (int i = 0; i < AL_JSON_MAX_DEPTH; i++)
        s[n++] = '[';
    for (int i = 0; i < AL_JSON_MAX_DEPTH; i++)
        s[n++] = ']';
    ck_assert_int_eq(al_json_scan(s, n, &r), 1);
    ck_assert_uint_eq(r.max_depth, AL_JSON_MAX_DEPTH);
    memmove(s + 1, s, n);
    s[0] = '[';
    s[n + 1] = ']';
    ck_assert_int_eq(al_json_scan(s, n + 2, &r), 0);
    ck_assert_str_eq(r.err_msg, "nesting too deep");
    free(s);
}
END_TEST

/* The scanner must not read a byte past the length it was given: put the
 * text against a page that faults on access. */
START_TEST(never_reads_past_the_given_length)
{
    static const char *const texts[] = {
        "{\"event_type\":\"0123456789abcdef0123456789\"",
        "{\"a\":\"\\u12",
        "{\"a\":12",
        "{\"a\":\"\xe2\x82",
        "{\"a\":tr",
        "\"0123456789abcdefghij\\",
        "[1,2,{\"k\":\"vvvvvvvvvvvvvvvvvv",
    };
    long page = sysconf(_SC_PAGESIZE);
    char *m =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    ck_assert_int_eq(mprotect(m + page, (size_t)page, PROT_NONE), 0);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t n = strlen(texts[i]);
        char *at = m + page - n;
        al_jscan_t r;
        memcpy(at, texts[i], n);
        ck_assert_int_eq(al_json_scan(at, n, &r), 0);
    }
    munmap(m, (size_t)page * 2);
}
END_TEST

START_TEST(escapes_text_into_valid_json)
{
    char out[128];
    size_t n = al_json_escape(out, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
    ck_assert_int_eq(memcmp(out, "a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9", n), 0);
    ck_assert_int_eq(al_json_utf8_valid("\xc3\xa9", 2), 1);
    ck_assert_int_eq(al_json_utf8_valid("\xc3", 1), 0);
}
END_TEST

/* A special byte at every offset of a long string body: each scanner
 * variant must stop exactly there (the 16- and 32-byte blocks, their tails). */
START_TEST(every_scanner_variant_finds_special_bytes_at_every_offset)
{
    static const char *const names[] = {"avx2", "sse2", "scalar"};
    int ran = 0;
    for (size_t v = 0; v < sizeof(names) / sizeof(names[0]); v++) {
        if (al_json_use_simd(names[v]) != 0)
            continue;
        ck_assert_str_eq(al_json_simd(), names[v]);
        ran++;
        for (size_t k = 0; k < 90; k++) {
            char line[160];
            al_jscan_t r;
            size_t body = 15; /* {"event_type":" */
            memset(line, 'a', sizeof(line));
            memcpy(line, "{\"event_type\":\"", body);
            memcpy(line + body + 100, "\"}", 2);
            /* a control character: refused at its exact position */
            line[body + k] = '\x01';
            ck_assert_int_eq(al_json_scan(line, body + 102, &r), 0);
            ck_assert_uint_eq(r.err_pos, body + k);
            ck_assert_str_eq(r.err_msg, "control character in string");
            /* a 2-byte UTF-8 character: accepted, the whole body extracted */
            line[body + k] = '\xc3';
            line[body + k + 1] = '\xa9';
            ck_assert_int_eq(al_json_scan(line, body + 102, &r), 1);
            ck_assert_uint_eq(r.field[AL_KEY_EVENT_TYPE].len, 100);
            /* an invalid UTF-8 byte: refused at its position */
            line[body + k + 1] = 'a';
            ck_assert_int_eq(al_json_scan(line, body + 102, &r), 0);
            ck_assert_uint_eq(r.err_pos, body + k);
            /* an escape: accepted and flagged */
            line[body + k] = '\\';
            line[body + k + 1] = 'n';
            ck_assert_int_eq(al_json_scan(line, body + 102, &r), 1);
            ck_assert_int_eq(r.field[AL_KEY_EVENT_TYPE].escaped, 1);
            /* a quote ends the string early: what follows is not JSON */
            line[body + k] = '"';
            line[body + k + 1] = 'a';
            ck_assert_int_eq(al_json_scan(line, body + 102, &r), 0);
            ck_assert_uint_eq(r.err_pos, body + k + 1);
        }
    }
    al_json_use_simd("auto");
    ck_assert_int_ge(ran, 1);
    ck_assert_int_eq(al_json_use_simd("no-such-variant"), -1);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("scan");
    tcase_add_test(tc, accepts_valid_documents);
    tcase_add_test(tc, rejects_invalid_documents_with_position_and_reason);
    tcase_add_test(tc, extracts_top_level_fields);
    tcase_add_test(tc, ignores_tracked_names_below_the_top_level);
    tcase_add_test(tc, matches_escaped_keys_and_counts_duplicates);
    tcase_add_test(tc, handles_nesting_up_to_its_limit_without_recursion);
    tcase_add_test(tc, never_reads_past_the_given_length);
    tcase_add_test(tc, escapes_text_into_valid_json);
    tcase_add_test(tc, every_scanner_variant_finds_special_bytes_at_every_offset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(json_suite());
}
