/* test_response.c - the SDK response algorithm on canned bodies, including
 * the exact shapes from amplitude-api.md and malformed ones. */
#include "fixtures.h"
#include "response.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

static al_response_t r;

static void parse(long status, const char *body, uint32_t n)
{
    ck_assert_int_eq(al_response_parse(&r, status, body, body ? strlen(body) : 0, n, NULL),
                     AL_ERR_OK);
}

static void teardown(void)
{
    al_response_free(&r);
}

START_TEST(success_acknowledges_everything)
{
    parse(200,
          "{\"code\":200,\"events_ingested\":50,\"payload_size_bytes\":50,"
          "\"server_upload_time\":1396381378123}",
          50);
    ck_assert_int_eq(r.kind, AL_RESP_OK);
    ck_assert_uint_eq(r.refused, 0);
    parse(200, "{\"code\":200}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_OK);
}
END_TEST

/* A captive portal, a TLS-inspecting proxy or a wrong service also answers
 * 200: only Amplitude's acknowledgement counts as delivery. */
START_TEST(a_2xx_that_is_not_amplitudes_answer_is_a_configuration_error)
{
    parse(200, "<html><body>Welcome to the hotel wifi</body></html>", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_ptr_nonnull(strstr(r.error, "not Amplitude's answer: '<html><body>Welcome"));
    parse(200, "", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_str_eq(r.error, "HTTP 200 with an empty body");
    parse(200, NULL, 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse(200, "{\"code\":400,\"error\":\"Invalid JSON request body\"}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_str_eq(r.error, "HTTP 200 but the body says code 400: Invalid JSON request body");
    parse(204, "{}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse(200, "not json at all", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
}
END_TEST

/* One number beyond int64 must not make the whole list unreadable. */
START_TEST(indices_beyond_int64_or_not_whole_are_ignored)
{
    parse(400,
          "{\"code\":400,\"error\":\"Invalid field values on some events\","
          "\"events_with_invalid_fields\":{\"time\":[1,99999999999999999999999,2.5,-1,3]}}",
          10);
    ck_assert_int_eq(r.kind, AL_RESP_DROP);
    ck_assert_uint_eq(r.refused, 2);
    ck_assert_int_ne(r.mark[1], AL_MARK_NONE);
    ck_assert_int_ne(r.mark[3], AL_MARK_NONE);
    ck_assert_int_eq(r.mark[2], AL_MARK_NONE);
}
END_TEST

/* The key is redacted before the text is cut to fit, at any key length. */
START_TEST(the_key_is_redacted_before_the_error_text_is_cut)
{
    const char *key = "0123456789abcdef0123456789abc";
    char body[1024];
    for (size_t pad = 0; pad < 300; pad += 7) {
        snprintf(body, sizeof(body), "{\"code\":400,\"error\":\"Invalid API key: %*s%s tail\"}",
                 (int)pad, "", key);
        ck_assert_int_eq(al_response_parse(&r, 400, body, strlen(body), 10, key), AL_ERR_OK);
        ck_assert_ptr_null(strstr(r.error, "0123456"));
        al_response_free(&r);
    }
    snprintf(body, sizeof(body), "{\"code\":400,\"error\":\"bad key k\"}");
    ck_assert_int_eq(al_response_parse(&r, 400, body, strlen(body), 10, "k"), AL_ERR_OK);
    ck_assert_str_eq(r.error, "bad [redacted]ey [redacted]");
}
END_TEST

/* A piece of the key (4 characters or more, as a word) is redacted too:
 * "Invalid API key: badk..." names part of the key. */
START_TEST(a_piece_of_the_key_is_redacted)
{
    char out[256];
    const char *key = "badkeyxyz0123";
    const char *text = "Invalid API key: badk... (it is not xyz0123 nor 0123)";
    al_redact_copy(out, sizeof(out), text, strlen(text), key);
    ck_assert_str_eq(out, "Invalid API key: [redacted]... (it is not [redacted] nor [redacted])");
    al_redact_copy(out, sizeof(out), "key bad keys: keyxyz ok", 23, key);
    /* 3 letters, not a piece, or a piece from the middle (a word such as
     * "identify" in KEY_identify_77) */
    ck_assert_str_eq(out, "key bad keys: keyxyz ok");
}
END_TEST

START_TEST(missing_field_or_bad_key_is_a_configuration_error)
{
    parse(400,
          "{\"code\":400,\"error\":\"Request missing required field\","
          "\"missing_field\":\"api_key\",\"events_with_invalid_fields\":{\"time\":[3,4,7]},"
          "\"events_with_missing_fields\":{\"event_type\":[3,4,7]}}",
          10);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_str_eq(r.missing_field, "api_key");
    parse(400, "{\"code\":400,\"error\":\"Invalid API key: abc\"}", 10);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_str_eq(r.error, "Invalid API key: abc");
}
END_TEST

START_TEST(index_lists_mark_the_union_of_refused_events)
{
    parse(400,
          "{\"code\":400,\"error\":\"Invalid field values on some events\","
          "\"events_with_invalid_fields\":{\"time\":[3,4,7]},"
          "\"events_with_missing_fields\":{\"event_type\":[3,9]},"
          "\"events_with_invalid_id_lengths\":{\"user_id\":[2]},"
          "\"silenced_events\":[5,6],\"silenced_devices\":[\"d\"]}",
          10);
    ck_assert_int_eq(r.kind, AL_RESP_DROP);
    ck_assert_uint_eq(r.refused, 7); /* 2 3 4 5 6 7 9 */
    ck_assert_int_eq(r.mark[0], AL_MARK_NONE);
    ck_assert_int_eq(r.mark[1], AL_MARK_NONE);
    ck_assert_int_eq(r.mark[8], AL_MARK_NONE);
    ck_assert_str_eq(r.reasons[r.mark[3] - 1], "server: invalid time");
    ck_assert_str_eq(r.reasons[r.mark[9] - 1], "server: missing event_type");
    ck_assert_str_eq(r.reasons[r.mark[2] - 1], "server: invalid id length user_id");
    ck_assert_str_eq(r.reasons[r.mark[5] - 1], "server: silenced event");
}
END_TEST

START_TEST(ignores_indices_outside_the_batch_and_wrong_types)
{
    parse(400,
          "{\"events_with_invalid_fields\":{\"time\":[-1,10,99,\"3\",null,1.5,0],"
          "\"x\":\"notalist\"},\"silenced_events\":{\"a\":1}}",
          10);
    ck_assert_int_eq(r.kind, AL_RESP_DROP);
    ck_assert_uint_eq(r.refused, 1);
    ck_assert_int_ne(r.mark[0], AL_MARK_NONE);
}
END_TEST

START_TEST(a_400_without_usable_indices_is_undeliverable)
{
    parse(400, "{\"code\":400,\"error\":\"Invalid JSON request body\"}", 10);
    ck_assert_int_eq(r.kind, AL_RESP_UNDELIVERABLE);
    parse(400, "<html>bad request</html>", 10);
    ck_assert_int_eq(r.kind, AL_RESP_UNDELIVERABLE);
    parse(400, NULL, 10);
    ck_assert_int_eq(r.kind, AL_RESP_UNDELIVERABLE);
}
END_TEST

START_TEST(throttling_marks_throttled_events_and_collects_quota_ids)
{
    al_batch_opts_t o;
    al_batch_t *b;
    al_origin_t org = {0};
    parse(429,
          "{\"code\":429,\"error\":\"Too many requests for some devices and users\","
          "\"eps_threshold\":1000,\"throttled_devices\":{\"C8F9\":4000},"
          "\"throttled_users\":{\"someone@x.com\":4000},"
          "\"exceeded_daily_quota_users\":{\"u\":500200},"
          "\"exceeded_daily_quota_devices\":{\"d\":500900},\"throttled_events\":[3,4,7]}",
          10);
    ck_assert_int_eq(r.kind, AL_RESP_THROTTLED);
    ck_assert_uint_eq(r.throttled, 3);
    ck_assert_int_eq(r.mark[4], AL_MARK_THROTTLED);
    ck_assert_uint_eq(r.nquota, 2);
    ck_assert_uint_eq(r.nthrottled, 2);
    /* quota marks follow the batch's ids, and win over throttled marks */
    al_batch_opts_init(&o);
    b = al_batch_new(&o);
    for (int i = 0; i < 10; i++) {
        org.uid = i == 4 ? al_id_hash("u", 1) : al_id_hash("other", 5);
        org.did = i == 8 ? al_id_hash("d", 1) : 0;
        al_batch_add(b, "{}", 2, &org);
    }
    ck_assert_uint_eq(al_response_mark_quota(&r, b), 2);
    ck_assert_int_eq(r.mark[4], AL_MARK_QUOTA);
    ck_assert_int_eq(r.mark[8], AL_MARK_QUOTA);
    ck_assert_uint_eq(r.throttled, 2);
    al_batch_free(b);
}
END_TEST

START_TEST(classifies_the_other_statuses)
{
    parse(413, "{\"code\":413,\"error\":\"Payload too large\"}", 10);
    ck_assert_int_eq(r.kind, AL_RESP_TOO_LARGE);
    parse(429, "garbage", 10);
    ck_assert_int_eq(r.kind, AL_RESP_THROTTLED);
    ck_assert_uint_eq(r.throttled, 0);
    static const long retry[] = {408, 500, 502, 503, 504, 599};
    for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
        parse(retry[i], "", 10);
        ck_assert_int_eq(r.kind, AL_RESP_RETRY);
    }
    static const long config[] = {401, 403, 404, 405, 415};
    for (size_t i = 0; i < sizeof(config) / sizeof(config[0]); i++) {
        parse(config[i], "{\"code\":403,\"error\":\"Forbidden\"}", 10);
        ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    }
}
END_TEST

START_TEST(id_hashes_agree_whatever_the_escaping)
{
    const char *line = "{\"user_id\":\"caf\\u00e9-\\ud83d\\ude00\"}";
    al_jscan_t s;
    ck_assert_int_eq(al_json_scan(line, strlen(line), &s), 1);
    ck_assert_uint_eq(al_event_id_hash(line, &s.field[AL_KEY_USER_ID]),
                      al_id_hash("caf\xc3\xa9-\xf0\x9f\x98\x80", 10));
}
END_TEST

static void parse_identify(long status, const char *body, uint32_t n)
{
    al_response_free(&r); /* the lists of the answer before */
    ck_assert_int_eq(
        al_response_parse_identify(&r, status, body, body ? strlen(body) : 0, n, "SECRETKEY1"),
        AL_ERR_OK);
}

/* Identify answers 200 "success" in plain text; anything else under a 2xx
 * is not Amplitude's; 400 missing_event fails the request; a refused key
 * stops the run; 429 lists pause ids; 5xx retries (the sender decides what
 * is in doubt). */
START_TEST(identify_answers)
{
    parse_identify(200, "success", 3);
    ck_assert_int_eq(r.kind, AL_RESP_OK);
    parse_identify(200, "\"success\"\n", 3);
    ck_assert_int_eq(r.kind, AL_RESP_OK);
    parse_identify(200, "{\"code\":200,\"events_ingested\":3}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse_identify(200, "", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse_identify(204, NULL, 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse_identify(400, "missing_event", 3);
    ck_assert_int_eq(r.kind, AL_RESP_UNDELIVERABLE);
    ck_assert_str_eq(r.error, "missing_event");
    parse_identify(400, "Invalid API key: SECRETKEY1", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    ck_assert_ptr_null(strstr(r.error, "SECRETKEY1"));
    parse_identify(400,
                   "{\"code\":400,\"error\":\"Request missing required field\","
                   "\"missing_field\":\"api_key\"}",
                   3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
    parse_identify(400, "{\"code\":400,\"events_with_invalid_fields\":{\"x\":[0]}}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_UNDELIVERABLE); /* Identify names no lines */
    ck_assert_uint_eq(r.refused, 0);
    ck_assert_int_eq(r.mark[0], AL_MARK_NONE);
    parse_identify(
        429, "{\"code\":429,\"throttled_users\":{\"u12345\":30},\"throttled_events\":[1]}", 3);
    ck_assert_int_eq(r.kind, AL_RESP_THROTTLED);
    ck_assert_uint_eq(r.nthrottled, 1);
    ck_assert_int_eq(r.mark[1], AL_MARK_THROTTLED);
    parse_identify(502, "<html>bad gateway</html>", 3);
    ck_assert_int_eq(r.kind, AL_RESP_RETRY);
    parse_identify(413, NULL, 3);
    ck_assert_int_eq(r.kind, AL_RESP_TOO_LARGE);
    parse_identify(403, "Forbidden", 3);
    ck_assert_int_eq(r.kind, AL_RESP_CONFIG);
}
END_TEST

static Suite *response_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc = tcase_create("response");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, success_acknowledges_everything);
    tcase_add_test(tc, a_2xx_that_is_not_amplitudes_answer_is_a_configuration_error);
    tcase_add_test(tc, indices_beyond_int64_or_not_whole_are_ignored);
    tcase_add_test(tc, the_key_is_redacted_before_the_error_text_is_cut);
    tcase_add_test(tc, a_piece_of_the_key_is_redacted);
    tcase_add_test(tc, missing_field_or_bad_key_is_a_configuration_error);
    tcase_add_test(tc, index_lists_mark_the_union_of_refused_events);
    tcase_add_test(tc, ignores_indices_outside_the_batch_and_wrong_types);
    tcase_add_test(tc, a_400_without_usable_indices_is_undeliverable);
    tcase_add_test(tc, throttling_marks_throttled_events_and_collects_quota_ids);
    tcase_add_test(tc, classifies_the_other_statuses);
    tcase_add_test(tc, id_hashes_agree_whatever_the_escaping);
    tcase_add_test(tc, identify_answers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(response_suite());
}
