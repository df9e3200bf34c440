/* test_validate.c - Amplitude's event rules and the sentences that explain them. */
#include "fixtures.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static al_rules_t rules;

static void setup(void)
{
    al_rules_init(&rules);
}

/* @return the formatted reason, or "ok". */
static const char *verdict(const char *line)
{
    static char buf[256];
    al_event_t ev;
    al_reason_t why;
    if (al_event_check(line, strlen(line), &rules, &ev, &why))
        return "ok";
    return al_reason_format(&why, &rules, buf, sizeof(buf));
}

static al_reason_code_t code_of(const char *line)
{
    al_event_t ev;
    al_reason_t why;
    al_event_check(line, strlen(line), &rules, &ev, &why);
    return why.code;
}

/* Two spellings of one id - plain, and with an escape - hash alike at any
 * length, so they share a shard and a throttle pause. */
START_TEST(ids_hash_by_their_decoded_text_at_any_length)
{
    for (size_t n = 8; n <= 4096; n *= 2) {
        char *plain = malloc(n + 128), *escaped = malloc(n + 128);
        al_event_t a, b;
        al_reason_t why;
        int lp, le;
        memset(plain, 'x', n + 128);
        lp = snprintf(plain, n + 128, "{\"event_type\":\"e\",\"device_id\":\"A%0*d\"}", (int)n, 0);
        le = snprintf(escaped, n + 128, "{\"event_type\":\"e\",\"device_id\":\"\\u0041%0*d\"}",
                      (int)n, 0);
        ck_assert(al_event_check(plain, (size_t)lp, &rules, &a, &why));
        ck_assert(al_event_check(escaped, (size_t)le, &rules, &b, &why));
        ck_assert_msg(al_event_id_hash(plain, &a.scan.field[AL_KEY_DEVICE_ID]) ==
                          al_event_id_hash(escaped, &b.scan.field[AL_KEY_DEVICE_ID]),
                      "ids of %zu bytes hash apart", n);
        free(plain);
        free(escaped);
    }
}
END_TEST

START_TEST(accepts_a_typical_event)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\","
                             "\"time\":1700000000000,\"event_properties\":{\"a\":[1,2]}}"),
                     "ok");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"device_id\":\"abcde\"}"), "ok");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":null,\"device_id\":\"abcde\","
                             "\"time\":null,\"insert_id\":null}"),
                     "ok");
}
END_TEST

START_TEST(rejects_event_without_event_type)
{
    ck_assert_str_eq(verdict("{\"user_id\":\"user_12345\"}"), "missing event_type");
    ck_assert_str_eq(verdict("{\"event_type\":null,\"user_id\":\"user_12345\"}"),
                     "missing event_type");
    ck_assert_str_eq(verdict("{\"event_type\":7,\"user_id\":\"user_12345\"}"),
                     "event_type is not a string");
    ck_assert_str_eq(verdict("{\"event_type\":\"\",\"user_id\":\"user_12345\"}"),
                     "event_type is empty");
}
END_TEST

START_TEST(rejects_event_without_ids)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"x\"}"), "missing user_id and device_id");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":null,\"device_id\":null}"),
                     "missing user_id and device_id");
}
END_TEST

START_TEST(rejects_ids_shorter_than_the_minimum)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcd\"}"),
                     "user_id shorter than 5");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcde\",\"device_id\":\"\"}"),
                     "device_id shorter than 5");
    /* characters, not bytes: four characters in eight bytes */
    ck_assert_str_eq(
        verdict("{\"event_type\":\"x\",\"user_id\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"),
        "user_id shorter than 5");
    /* an escape is one character */
    ck_assert_str_eq(
        verdict("{\"event_type\":\"x\",\"user_id\":\"\\u00e9\\u00e9\\ud83d\\ude00a\"}"),
        "user_id shorter than 5");
    ck_assert_str_eq(
        verdict("{\"event_type\":\"x\",\"user_id\":\"\\u00e9\\u00e9\\ud83d\\ude00ab\"}"), "ok");
    rules.min_id_length = 2;
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"ab\"}"), "ok");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"a\"}"), "user_id shorter than 2");
}
END_TEST

START_TEST(rejects_placeholder_ids_in_any_case)
{
    static const char *const values[] = {
        "anonymous",
        "NIL",
        "None",
        "null",
        "N/A",
        "na",
        "undefined",
        "UNKNOWN",
        "0",
        "-1",
        "{}",
        "lmy47d",
        "00000000-0000-0000-0000-000000000000",
    };
    rules.min_id_length = 1;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "{\"event_type\":\"x\",\"device_id\":\"%s\"}", values[i]);
        ck_assert_msg(code_of(line) == AL_REASON_ID_PLACEHOLDER, "%s accepted", values[i]);
    }
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"\\u004eull\"}"),
                     "user_id is \"null\", a placeholder Amplitude refuses");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"nulls\"}"), "ok");
}
END_TEST

START_TEST(rejects_ids_that_are_not_strings)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":1234567}"),
                     "user_id is not a string");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"device_id\":[]}"),
                     "device_id is not a string");
}
END_TEST

START_TEST(requires_integer_time)
{
    const char *base = "{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"time\":";
    char line[128];
    static const char *const bad[] = {"1.5", "1e3", "\"2024-01-01\"", "true", "[1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "%s%s}", base, bad[i]);
        ck_assert_str_eq(verdict(line), "time is not an integer (milliseconds since epoch)");
    }
    snprintf(line, sizeof(line), "%s-1}", base);
    ck_assert_str_eq(verdict(line), "ok");
}
END_TEST

START_TEST(requires_string_insert_id)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"insert_id\":5}"),
                     "insert_id is not a string");
}
END_TEST

START_TEST(rejects_duplicate_tracked_keys)
{
    ck_assert_str_eq(
        verdict("{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"user_id\":\"ghijkl\"}"),
        "duplicate key user_id");
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"a\":1,\"a\":2}"),
                     "ok");
}
END_TEST

START_TEST(limits_nesting_to_forty_levels_below_the_event)
{
    char line[512];
    size_t n;
    for (int depth = 40; depth <= 41; depth++) {
        n = (size_t)sprintf(line, "{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"p\":");
        for (int d = 0; d < depth; d++)
            line[n++] = '[';
        for (int d = 0; d < depth; d++)
            line[n++] = ']';
        line[n++] = '}';
        line[n] = '\0';
        ck_assert_str_eq(verdict(line), depth == 40 ? "ok" : "nesting deeper than 40 levels");
    }
}
END_TEST

START_TEST(rejects_lines_over_the_size_cap_before_parsing)
{
    rules.max_event_bytes = 64;
    ck_assert_str_eq(
        verdict(
            "{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"p\":\"0123456789012345678901234567\"}"),
        "line of 72 bytes is longer than --max-event-bytes 64");
}
END_TEST

START_TEST(explains_invalid_json_with_column)
{
    ck_assert_str_eq(verdict("{\"event_type\":\"x\",\"user_id\":\"abcdef\",}"),
                     "invalid JSON at column 38: trailing comma");
    ck_assert_str_eq(verdict("[{\"event_type\":\"x\",\"user_id\":\"abcdef\"}]"),
                     "not a JSON object");
}
END_TEST

/* A numeric time must be in milliseconds: seconds land in 1970-73, micro-
 * and nanoseconds thousands of years ahead, where no one can delete them. */
START_TEST(refuses_a_time_that_is_not_in_milliseconds)
{
    static const struct {
        const char *time;
        al_reason_code_t code;
        const char *words;
    } cases[] = {
        {"1700000000", AL_REASON_TIME_IN_SECONDS,
         "time 1700000000 looks like seconds (as milliseconds it is before 1973-03-03); ampload "
         "wants milliseconds since the epoch"},
        {"1", AL_REASON_TIME_IN_SECONDS, "time 1 looks like seconds"},
        {"99999999999", AL_REASON_TIME_IN_SECONDS, "looks like seconds"},
        {"1700000000000000", AL_REASON_TIME_IN_MICROSECONDS,
         "time 1700000000000000 looks like microseconds (as milliseconds it is after the year "
         "5138); ampload wants milliseconds since the epoch"},
        {"100000000000001", AL_REASON_TIME_IN_MICROSECONDS, "looks like microseconds"},
        {"1700000000000000000", AL_REASON_TIME_IN_MICROSECONDS, "looks like nanoseconds"},
        {"170000000000000000000000", AL_REASON_TIME_IN_MICROSECONDS, "looks like nanoseconds"},
        /* milliseconds from 1973-03-03 to the year 5138 pass; so do 0 and
         * negative times, as before (Amplitude takes them) */
        {"100000000000", AL_REASON_OK, "ok"},
        {"1700000000000", AL_REASON_OK, "ok"},
        {"100000000000000", AL_REASON_OK, "ok"},
        {"0", AL_REASON_OK, "ok"},
        {"-1000", AL_REASON_OK, "ok"},
    };
    char line[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "{\"event_type\":\"x\",\"user_id\":\"abcdef\",\"time\":%s}",
                 cases[i].time);
        ck_assert_msg(code_of(line) == cases[i].code, "%s: %d", cases[i].time, code_of(line));
        ck_assert_msg(strstr(verdict(line), cases[i].words) != NULL, "%s", verdict(line));
    }
    ck_assert_str_eq(al_reason_key(AL_REASON_TIME_IN_SECONDS), "time_in_seconds");
    ck_assert_str_eq(al_reason_key(AL_REASON_TIME_IN_MICROSECONDS), "time_in_microseconds");
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, accepts_a_typical_event);
    tcase_add_test(tc, ids_hash_by_their_decoded_text_at_any_length);
    tcase_add_test(tc, rejects_event_without_event_type);
    tcase_add_test(tc, rejects_event_without_ids);
    tcase_add_test(tc, rejects_ids_shorter_than_the_minimum);
    tcase_add_test(tc, rejects_placeholder_ids_in_any_case);
    tcase_add_test(tc, rejects_ids_that_are_not_strings);
    tcase_add_test(tc, requires_integer_time);
    tcase_add_test(tc, refuses_a_time_that_is_not_in_milliseconds);
    tcase_add_test(tc, requires_string_insert_id);
    tcase_add_test(tc, rejects_duplicate_tracked_keys);
    tcase_add_test(tc, limits_nesting_to_forty_levels_below_the_event);
    tcase_add_test(tc, rejects_lines_over_the_size_cap_before_parsing);
    tcase_add_test(tc, explains_invalid_json_with_column);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(validate_suite());
}
