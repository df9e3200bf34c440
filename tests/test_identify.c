/* test_identify.c - the rules of an identification, which ones may be
 * resent, and the form encoding of Identify request bodies. */
#include "fixtures.h"
#include "identify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static al_rules_t rules;

static void setup(void)
{
    al_rules_init(&rules);
}

/* @return the reason key for line ("ok" when valid); *nonid gets whether a
 * resend would apply something twice. */
static const char *verdict(const char *line, int *nonid)
{
    al_ident_t id;
    al_reason_t why;
    int ok = al_ident_check(line, strlen(line), &rules, &id, &why);
    if (nonid != NULL)
        *nonid = id.non_idempotent;
    return ok ? "ok" : al_reason_key(why.code);
}

START_TEST(valid_identifications)
{
    int n;
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\"}", NULL), "ok");
    ck_assert_str_eq(verdict("{\"device_id\":\"dev-00001\",\"platform\":\"iOS\"}", NULL), "ok");
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"plan\":\"pro\","
                             "\"seats\":5}}",
                             &n),
                     "ok");
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$set\":{\"plan\":"
                "\"pro\"},\"$setOnce\":{\"first\":\"2026\"},\"$unset\":{\"old\":\"-\"}}}",
                &n),
        "ok");
    ck_assert_int_eq(n, 0); /* all of them idempotent */
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$add\":{\"logins\":1,"
                             "\"spent\":-2.5}}}",
                             &n),
                     "ok");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$append\":{\"tags\":"
                             "\"x\"},\"$remove\":{\"tags\":[\"y\"]}}}",
                             &n),
                     "ok");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$clearAll\":\"-\"}}", &n), "ok");
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":null}", NULL), "ok");
    /* an escaped operation name is the operation */
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"\\u0024add\":{\"n\":1}}}", &n),
        "ok");
    ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(each_rule_has_its_reason)
{
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",", NULL), "invalid_json");
    ck_assert_str_eq(verdict("[1]", NULL), "not_object");
    ck_assert_str_eq(verdict("{\"user_properties\":{\"a\":1}}", NULL), "missing_id");
    ck_assert_str_eq(verdict("{\"user_id\":\"abc\"}", NULL), "id_too_short");
    ck_assert_str_eq(verdict("{\"device_id\":\"undefined\"}", NULL), "id_placeholder");
    ck_assert_str_eq(verdict("{\"user_id\":5}", NULL), "id_not_string");
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_id\":\"user-2\"}", NULL),
                     "duplicate_key");
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":[1]}", NULL),
                     "user_properties_not_object");
    ck_assert_str_eq(verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$set\":{\"a\":1},"
                             "\"plan\":\"pro\"}}",
                             NULL),
                     "mixed_operations");
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$multiply\":{\"a\":2}}}", NULL),
        "unknown_operation");
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$set\":\"plan\"}}", NULL),
        "operation_not_object");
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{\"$add\":{\"n\":\"1\"}}}", NULL),
        "add_not_numeric");
    ck_assert_str_eq(
        verdict("{\"user_id\":\"user-1\",\"user_properties\":{},\"user_properties\":{}}", NULL),
        "duplicate_key");
}
END_TEST

START_TEST(reasons_read_well)
{
    al_ident_t id;
    al_reason_t why;
    char buf[200];
    const char *line = "{\"user_id\":\"user-1\",\"user_properties\":{\"$set\":7}}";
    ck_assert_int_eq(al_ident_check(line, strlen(line), &rules, &id, &why), 0);
    ck_assert_str_eq(al_reason_format(&why, &rules, buf, sizeof(buf)),
                     "the value of $set is not an object of properties");
    line = "{\"user_id\":\"user-1\",\"user_properties\":{},\"user_properties\":{}}";
    ck_assert_int_eq(al_ident_check(line, strlen(line), &rules, &id, &why), 0);
    ck_assert_str_eq(al_reason_format(&why, &rules, buf, sizeof(buf)),
                     "duplicate key user_properties");
}
END_TEST

/* Keys and values with the bytes a form treats specially go through and
 * come back unchanged. */
START_TEST(form_encoding_round_trips)
{
    static const char *const cases[] = {
        "a&b=c+d%e",    "caf\xc3\xa9 \xe2\x82\xac", "{\"q\":\"\\\"x\\\"\"}", "-._*~!'()", "",
        "\x01\x7f\xff",
    };
    static const char *const want[] = {
        "a%26b%3Dc%2Bd%25e",
        "caf%C3%A9+%E2%82%AC",
        "%7B%22q%22%3A%22%5C%22x%5C%22%22%7D",
        "-._*%7E%21%27%28%29",
        "",
        "%01%7F%FF",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i]);
        char enc[64], dec[64];
        size_t e = al_form_encode(enc, cases[i], n), d;
        enc[e] = '\0';
        ck_assert_str_eq(enc, want[i]);
        ck_assert_uint_le(e, AL_FORM_ENCODED_MAX(n));
        d = al_form_decode(dec, enc, e);
        ck_assert_uint_eq(d, n);
        ck_assert_int_eq(memcmp(dec, cases[i], n), 0);
    }
    ck_assert_uint_eq(al_form_decode((char[8]){0}, "%4", 2), (size_t)-1);
    ck_assert_uint_eq(al_form_decode((char[8]){0}, "%zz", 3), (size_t)-1);
    ck_assert_uint_eq(al_form_decode((char[8]){0}, "a%", 2), (size_t)-1);
}
END_TEST

static Suite *identify_suite(void)
{
    Suite *s = suite_create("identify");
    TCase *tc = tcase_create("identify");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, valid_identifications);
    tcase_add_test(tc, each_rule_has_its_reason);
    tcase_add_test(tc, reasons_read_well);
    tcase_add_test(tc, form_encoding_round_trips);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(identify_suite());
}
