/* test_differential.c - the hand-written scanner against jansson.
 *
 * 60,000 generated JSON documents (event-shaped objects and arbitrary values,
 * with escapes, surrogate pairs, multi-byte UTF-8, odd whitespace and
 * numbers) and 60,000 mutations of them (bytes flipped to syntax-relevant
 * values, deleted, inserted, duplicated, lines cut short) are judged by both.
 * The verdicts must agree on every line; for valid objects the type and text
 * of each extracted field must agree with jansson's tree too.
 *
 * Known, documented differences are set aside and counted: jansson refuses
 * numbers too large for int64/double and NUL inside object keys, both of
 * which RFC 8259 allows and the scanner accepts; and jansson takes a raw NUL
 * byte after a complete value for the end of input, where the scanner (and
 * RFC 8259) refuses the line.
 */
#include "fixtures.h"
#include "json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_GENERATED 60000
#define N_MUTATED   60000

static uint64_t rs = 0x243F6A8885A308D3ULL;

static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

typedef struct {
    char *p;
    size_t n, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
}

static void puts_(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

static void ws(text_t *t)
{
    static const char *const w[] = {"", "", "", " ", "\t", "\r\n ", "  "};
    puts_(t, w[rnd(7)]);
}

/* Keys avoid \u0000: jansson cannot hold NUL in a key (a known difference). */
static void gen_string(text_t *t, int key)
{
    static const char *const parts[] = {
        "a",
        "Z",
        "0",
        " ",
        "user",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\t",
        "\\b",
        "\\f",
        "\\r",
        "\\u00e9",
        "\\u0000",
        "\\uD83D\\uDE00",
        "\\u4e1c",
        "\xc3\xa9",
        "\xe6\x9d\xb1",
        "\xf0\x9f\x98\x80",
        "'",
        "{",
        "]",
        ",",
        ":",
        "\x7f",
        "0123456789abcdefXYZ",
        /* long plain runs: whole 32-byte blocks, specials at every offset */
        "The quick brown fox jumps over the lazy dog; 0123456789",
        "the-same-long-identifier-appears-again-and-again-here",
    };
    int k = (int)rnd(12);
    puts_(t, "\"");
    for (int i = 0; i < k; i++) {
        const char *part = parts[rnd(sizeof(parts) / sizeof(parts[0]))];
        puts_(t, key && strcmp(part, "\\u0000") == 0 ? "\\u0001" : part);
    }
    puts_(t, "\"");
}

static void gen_number(text_t *t)
{
    char buf[64];
    switch (rnd(6)) {
    case 0:
        snprintf(buf, sizeof(buf), "%u", rnd(1000));
        break;
    case 1:
        snprintf(buf, sizeof(buf), "-%u", rnd(100000));
        break;
    case 2:
        snprintf(buf, sizeof(buf), "%u.%u", rnd(1000), rnd(1000));
        break;
    case 3:
        snprintf(buf, sizeof(buf), "%ue%s%u", 1 + rnd(9), rnd(2) ? "-" : "+", rnd(20));
        break;
    case 4:
        snprintf(buf, sizeof(buf), "-0.%u%uE%u", rnd(10), rnd(10), rnd(10));
        break;
    default:
        snprintf(buf, sizeof(buf), "17%011u", rnd(1000000000));
        break;
    }
    puts_(t, buf);
}

static void gen_value(text_t *t, int depth);

static void gen_object(text_t *t, int depth, int event)
{
    static const char *const keys[] = {"event_type", "user_id", "device_id",        "time",
                                       "insert_id",  "k",       "event_properties", "a b"};
    int k = (int)rnd(event ? 8 : 5);
    puts_(t, "{");
    ws(t);
    for (int i = 0; i < k; i++) {
        if (i) {
            puts_(t, ",");
            ws(t);
        }
        if (rnd(4) == 0) {
            gen_string(t, 1);
        } else {
            puts_(t, "\"");
            puts_(t, keys[rnd(8)]);
            puts_(t, "\"");
        }
        ws(t);
        puts_(t, ":");
        ws(t);
        gen_value(t, depth + 1);
        ws(t);
    }
    puts_(t, "}");
}

static void gen_value(text_t *t, int depth)
{
    int kind = (int)rnd(depth > 6 ? 5 : 7);
    switch (kind) {
    case 0:
    case 1:
        gen_string(t, 0);
        break;
    case 2:
        gen_number(t);
        break;
    case 3:
        puts_(t, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
        break;
    case 4:
        gen_number(t);
        break;
    case 5:
        gen_object(t, depth, 0);
        break;
    default: {
        int k = (int)rnd(4);
        puts_(t, "[");
        ws(t);
        for (int i = 0; i < k; i++) {
            if (i) {
                puts_(t, ",");
                ws(t);
            }
            gen_value(t, depth + 1);
            ws(t);
        }
        puts_(t, "]");
    }
    }
}

static void mutate(text_t *t)
{
    static const unsigned char bytes[] = {'"', '\\', ',',  '}',  ']',  '{',  '[',  ':',  ' ', 0,
                                          1,   0x1f, 0x80, 0xbf, 0xc3, 0xed, 0xf4, 0xff, 'n', 'N',
                                          '0', '-',  'e',  '.',  'u',  'd',  '8',  '\'', '+', 'I'};
    int ops = 1 + (int)rnd(3);
    for (int o = 0; o < ops && t->n > 0; o++) {
        size_t at = rnd((uint32_t)t->n);
        switch (rnd(5)) {
        case 0:
        case 1:
            t->p[at] = (char)bytes[rnd(sizeof(bytes))];
            break;
        case 2:
            memmove(t->p + at, t->p + at + 1, t->n - at - 1);
            t->n--;
            break;
        case 3: {
            char c = (char)bytes[rnd(sizeof(bytes))];
            put(t, " ", 1);
            memmove(t->p + at + 1, t->p + at, t->n - at - 1);
            t->p[at] = c;
            break;
        }
        default:
            t->n = at;
            break;
        }
    }
}

static int jtype(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return AL_JT_OBJECT;
    case JSON_ARRAY:
        return AL_JT_ARRAY;
    case JSON_STRING:
        return AL_JT_STRING;
    case JSON_INTEGER:
        return AL_JT_INTEGER;
    case JSON_REAL:
        return AL_JT_NUMBER;
    case JSON_TRUE:
        return AL_JT_TRUE;
    case JSON_FALSE:
        return AL_JT_FALSE;
    default:
        return AL_JT_NULL;
    }
}

static void show(const char *what, const text_t *t, const char *detail)
{
    fprintf(stderr, "%s: ", what);
    for (size_t i = 0; i < t->n; i++) {
        unsigned char c = (unsigned char)t->p[i];
        if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fprintf(stderr, "  [%s]\n", detail);
}

typedef struct {
    long lines, valid, invalid, known_differences, raw_nul, disagreements, fields_checked;
    long variant_scans; /* scans by the other scanner variants, compared whole */
} tally_t;

/* Every scanner variant this machine runs must give exactly the result of
 * the default one (all fields, error position and message included). */
static void same_in_every_variant(const text_t *t, const al_jscan_t *want, tally_t *tl)
{
    static const char *const names[] = {"avx2", "sse2", "scalar"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        al_jscan_t r;
        if (al_json_use_simd(names[k]) != 0)
            continue;
        al_json_scan(t->p, t->n, &r);
        tl->variant_scans++;
        if (memcmp(&r, want, sizeof(r)) != 0 && tl->disagreements++ < 10)
            show("scanner variants differ", t, names[k]);
    }
    al_json_use_simd("auto");
}

static void judge(const text_t *t, tally_t *tl)
{
    al_jscan_t r;
    json_error_t err;
    int ours = al_json_scan(t->p, t->n, &r);
    json_t *doc = json_loadb(t->p, t->n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    tl->lines++;
    same_in_every_variant(t, &r, tl);
    if (memchr(t->p, '\0', t->n) != NULL) {
        /* A raw NUL byte is never JSON, but jansson takes one after a complete
         * value for the end of input. Only the scanner's verdict is checked. */
        if (ours && tl->disagreements++ < 10)
            show("scanner accepts a raw NUL", t, "");
        tl->raw_nul++;
        json_decref(doc);
        return;
    }
    if (doc == NULL && (strstr(err.text, "too big") || strstr(err.text, "overflow") ||
                        strstr(err.text, "NUL byte in object key"))) {
        tl->known_differences++;
        return;
    }
    if (ours != (doc != NULL)) {
        if (tl->disagreements++ < 10)
            show(ours ? "scanner accepts, jansson refuses" : "scanner refuses, jansson accepts", t,
                 ours ? err.text : r.err_msg);
        json_decref(doc);
        return;
    }
    if (doc == NULL) {
        tl->invalid++;
        return;
    }
    tl->valid++;
    if (json_is_object(doc)) {
        for (int k = 0; k < AL_KEY_COUNT; k++) {
            json_t *v = json_object_get(doc, al_json_key_name((al_json_key_t)k));
            const al_jfield_t *f = &r.field[k];
            if (f->seen > 1)
                continue; /* jansson keeps one of the duplicates; which is its business */
            tl->fields_checked++;
            if ((v == NULL) != (f->type == AL_JT_ABSENT) || (v != NULL && jtype(v) != f->type) ||
                (v != NULL && json_is_string(v) && !f->escaped &&
                 (json_string_length(v) != f->len ||
                  memcmp(json_string_value(v), t->p + f->off, f->len) != 0))) {
                if (tl->disagreements++ < 10)
                    show("field differs", t, al_json_key_name((al_json_key_t)k));
            }
        }
    }
    json_decref(doc);
}

START_TEST(agrees_with_jansson_on_generated_and_mutated_lines)
{
    tally_t tl = {0};
    text_t t = {0};
    for (int i = 0; i < N_GENERATED + N_MUTATED; i++) {
        t.n = 0;
        if (i % 3 == 0)
            gen_value(&t, 0);
        else
            gen_object(&t, 0, 1);
        if (i >= N_GENERATED)
            mutate(&t);
        judge(&t, &tl);
    }
    free(t.p);
    fprintf(stderr,
            "differential: %ld lines, %ld valid, %ld invalid (both agree), %ld with a raw NUL "
            "(scanner refuses), %ld other known differences, %ld fields compared, "
            "%ld scans by other variants than %s, %ld disagreements\n",
            tl.lines, tl.valid, tl.invalid, tl.raw_nul, tl.known_differences, tl.fields_checked,
            tl.variant_scans, al_json_simd(), tl.disagreements);
    ck_assert_int_eq(tl.disagreements, 0);
    ck_assert_int_ge(tl.lines, 100000);
    ck_assert_int_le(tl.known_differences, tl.lines / 100);
    ck_assert_int_ge(tl.valid, 50000);   /* most generated lines, a few lucky mutations */
    ck_assert_int_ge(tl.invalid, 30000); /* mutations must mostly break something */
    ck_assert_int_ge(tl.fields_checked, 100000);
    ck_assert_int_ge(tl.variant_scans, 2 * tl.lines); /* sse2 and scalar run everywhere on x86 */
}
END_TEST

static Suite *differential_suite(void)
{
    Suite *s = suite_create("differential");
    TCase *tc = tcase_create("jansson");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, agrees_with_jansson_on_generated_and_mutated_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(differential_suite());
}
