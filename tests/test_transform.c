/* test_transform.c - edits of events on their raw bytes: the Amplitude
 * export mapping, the generic edits, their specs, UTC times, and the scan
 * the edit builds for its output, checked against a fresh scan. */
#include "fixtures.h"
#include "transform.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static al_edits_t ed; /* large: not on the stack */
static al_xform_t xf;

static void setup(void)
{
    al_edits_init(&ed);
    memset(&xf, 0, sizeof(xf));
}

static void teardown(void)
{
    al_xform_free(&xf);
}

/* The edit's scan of its output must be what a fresh scan finds. */
static void assert_scan_true(const char *out, size_t n, const al_event_t *ev)
{
    al_jscan_t fresh;
    ck_assert_msg(al_json_scan(out, n, &fresh), "output is not JSON: %.*s", (int)n, out);
    ck_assert_int_eq(fresh.top_type, AL_JT_OBJECT);
    ck_assert_uint_ge(ev->scan.max_depth, fresh.max_depth);
    for (int k = 0; k < AL_KEY_COUNT; k++) {
        const al_jfield_t *a = &ev->scan.field[k], *b = &fresh.field[k];
        ck_assert_msg(a->type == b->type && a->seen == b->seen, "%s: type %d/%d seen %d/%d",
                      al_json_key_name((al_json_key_t)k), a->type, b->type, a->seen, b->seen);
        if (b->type != AL_JT_ABSENT) {
            ck_assert_uint_eq(a->off, b->off);
            ck_assert_uint_eq(a->len, b->len);
            ck_assert_uint_eq(a->escaped, b->escaped);
        }
    }
}

/* Applies the edits to line; @return the output parsed by jansson (NULL
 * when refused; *why then says why). */
static json_t *edit(const char *line, al_reason_t *why)
{
    const char *out;
    size_t n;
    al_event_t ev;
    int rc = al_transform(&ed, line, strlen(line), &xf, &out, &n, &ev, why);
    json_t *j;
    json_error_t err;
    ck_assert_int_ge(rc, 0);
    if (rc == 0)
        return NULL;
    assert_scan_true(out, n, &ev);
    j = json_loadb(out, n, 0, &err);
    ck_assert_msg(j != NULL, "%s", err.text);
    return j;
}

static const char *str(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

static const char export_row[] =
    "{\"$insert_id\":\"ins-1\",\"uuid\":\"uu-1\",\"amplitude_id\":123,\"app\":456,"
    "\"event_time\":\"2026-01-02 03:04:05.678901\",\"client_event_time\":\"2026-01-02 "
    "03:04:05.000000\",\"server_received_time\":\"2026-01-02 03:04:06.123\","
    "\"server_upload_time\":\"2026-01-02 03:04:06.124\",\"event_type\":\"Play \\u00e9\","
    "\"user_id\":\"user-0001\",\"device_id\":\"dev-0001\",\"ip_address\":\"1.2.3.4\","
    "\"device_carrier\":\"Acme\",\"version_name\":\"1.2\",\"event_properties\":{\"a\": [1, "
    "{\"b\":null}]},\"user_properties\":{},\"group_properties\":{\"g\":1},\"paying\":null,"
    "\"location_lat\":null,\"city\":\"Oslo\",\"$schema\":12,\"data\":{\"path\":\"/x\"},"
    "\"library\":\"http/2.0\",\"session_id\":1767323045000}";

START_TEST(an_export_row_becomes_a_batch_event)
{
    al_reason_t why;
    json_t *j;
    al_edits_from_export(&ed);
    j = edit(export_row, &why);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str(j, "insert_id"), "ins-1");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), 1767323045678LL);
    ck_assert_str_eq(str(j, "ip"), "1.2.3.4");
    ck_assert_str_eq(str(j, "carrier"), "Acme");
    ck_assert_str_eq(str(j, "app_version"), "1.2");
    ck_assert_str_eq(str(j, "event_type"), "Play \xc3\xa9");
    ck_assert_str_eq(str(j, "user_id"), "user-0001");
    ck_assert_str_eq(str(j, "city"), "Oslo");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "session_id")), 1767323045000LL);
    ck_assert(json_is_object(json_object_get(j, "event_properties")));
    ck_assert(json_is_object(json_object_get(j, "user_properties")));
    static const char *const gone[] = {"$insert_id",
                                       "uuid",
                                       "amplitude_id",
                                       "app",
                                       "event_time",
                                       "client_event_time",
                                       "server_received_time",
                                       "server_upload_time",
                                       "ip_address",
                                       "device_carrier",
                                       "version_name",
                                       "group_properties",
                                       "paying",
                                       "location_lat",
                                       "$schema",
                                       "data",
                                       "library"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        ck_assert_msg(json_object_get(j, gone[i]) == NULL, "%s kept", gone[i]);
    ck_assert_uint_eq(json_object_size(j), 12);
    json_decref(j);
}
END_TEST

/* Values are the line's own bytes: escapes and spacing inside a value stay. */
START_TEST(kept_values_are_byte_for_byte)
{
    const char *line =
        "{\"event_type\":\"a\\u0041\", \"user_id\" : \"user-1\" ,\"p\":{\"x\": [1 ,2]}}";
    const char *want = "{\"event_type\":\"a\\u0041\",\"user_id\":\"user-1\",\"p\":{\"x\": [1 ,2]}}";
    const char *out;
    size_t n;
    al_event_t ev;
    al_reason_t why;
    al_diag_t d;
    ck_assert_int_eq(al_edits_drop(&ed, "nothing_here", &d), AL_ERR_OK);
    ck_assert_int_eq(al_transform(&ed, line, strlen(line), &xf, &out, &n, &ev, &why), 1);
    ck_assert_msg(n == strlen(want) && memcmp(out, want, n) == 0, "%.*s", (int)n, out);
    assert_scan_true(out, n, &ev);
}
END_TEST

/* An export's nulls go, renamed ones too. */
START_TEST(export_nulls_are_dropped_under_any_name)
{
    al_reason_t why;
    json_t *j;
    al_edits_from_export(&ed);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"device_carrier\":null,"
             "\"version_name\":null,\"dma\":null,\"event_time\":\"2026-01-01 00:00:00\"}",
             &why);
    ck_assert_uint_eq(json_object_size(j), 3); /* event_type, user_id, time */
    json_decref(j);
}
END_TEST

START_TEST(insert_id_falls_back_to_uuid)
{
    al_reason_t why;
    json_t *j;
    al_edits_from_export(&ed);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"uuid\":\"u-9\","
             "\"event_time\":\"2026-01-01 00:00:00\"}",
             &why);
    ck_assert_str_eq(str(j, "insert_id"), "u-9");
    json_decref(j);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"$insert_id\":null,\"uuid\":\"u-8\","
             "\"event_time\":\"2026-01-01 00:00:00\"}",
             &why);
    ck_assert_str_eq(str(j, "insert_id"), "u-8");
    json_decref(j);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"event_time\":\"2026-01-01 00:00:00\"}",
             &why);
    ck_assert_ptr_null(json_object_get(j, "insert_id"));
    json_decref(j);
}
END_TEST

START_TEST(event_time_falls_back_then_refuses)
{
    al_reason_t why;
    json_t *j;
    char reason[200];
    al_rules_t rules;
    al_rules_init(&rules);
    al_edits_from_export(&ed);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"event_time\":null,"
             "\"client_event_time\":\"1970-01-01 00:00:01.5\",\"server_received_time\":\"x\"}",
             &why);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), 1500);
    json_decref(j);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"server_received_time\":\"1969-12-31 "
             "23:59:59.999\",\"time\":5}",
             &why);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), -1);
    json_decref(j);
    ck_assert_ptr_null(edit("{\"event_type\":\"e\",\"user_id\":\"user-1\"}", &why));
    ck_assert_int_eq(why.code, AL_REASON_BAD_EVENT_TIME);
    ck_assert_ptr_nonnull(
        strstr(al_reason_format(&why, &rules, reason, sizeof(reason)), "no event time"));
    ck_assert_ptr_null(edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"event_time\":"
                            "\"yesterday\",\"client_event_time\":\"2026-01-01 00:00:00\"}",
                            &why));
    ck_assert_int_eq(why.code, AL_REASON_BAD_EVENT_TIME);
    ck_assert_str_eq(why.field, "event_time");
    ck_assert_str_eq(al_reason_key(why.code), "bad_event_time");
    ck_assert_ptr_null(
        edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"event_time\":5}", &why));
    ck_assert_int_eq(why.code, AL_REASON_BAD_EVENT_TIME);
}
END_TEST

START_TEST(utc_times_parse_exactly)
{
    int64_t ms;
    ck_assert(al_parse_utc_ms("1970-01-01 00:00:00", 19, &ms) && ms == 0);
    ck_assert(al_parse_utc_ms("2026-01-02 03:04:05.678", 23, &ms) && ms == 1767323045678LL);
    ck_assert(al_parse_utc_ms("2026-01-02 03:04:05.678901", 26, &ms) && ms == 1767323045678LL);
    ck_assert(al_parse_utc_ms("2026-01-02 03:04:05.678901999", 29, &ms) && ms == 1767323045678LL);
    ck_assert(al_parse_utc_ms("2026-01-02T03:04:05.6Z", 22, &ms) && ms == 1767323045600LL);
    ck_assert(al_parse_utc_ms("1969-12-31 23:59:59", 19, &ms) && ms == -1000);
    ck_assert(al_parse_utc_ms("1900-01-01 00:00:00", 19, &ms) && ms == -2208988800000LL);
    ck_assert(al_parse_utc_ms("2024-02-29 12:00:00", 19, &ms) && ms == 1709208000000LL);
    ck_assert(al_parse_utc_ms("2000-02-29 00:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2023-02-29 00:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("1900-02-29 00:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2026-13-01 00:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2026-04-31 00:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2026-01-01 24:00:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2026-01-01 00:60:00", 19, &ms));
    ck_assert(!al_parse_utc_ms("2026-01-01 00:00:00.", 20, &ms));
    ck_assert(!al_parse_utc_ms("2026-01-01 00:00:00.1234567890", 30, &ms));
    ck_assert(!al_parse_utc_ms("2026-01-01 00:00:00+01:00", 25, &ms));
    ck_assert(!al_parse_utc_ms("2026-1-01 00:00:00", 18, &ms));
    ck_assert(!al_parse_utc_ms("garbage, not a time", 19, &ms));
    ck_assert(!al_parse_utc_ms("", 0, &ms));
}
END_TEST

/* An export's empty ids are dropped, so the event may have no id left. */
START_TEST(empty_ids_are_dropped)
{
    al_reason_t why;
    al_rules_t rules;
    al_event_t ev;
    const char *out;
    size_t n;
    const char *line = "{\"event_type\":\"e\",\"user_id\":\"\",\"device_id\":null,"
                       "\"event_time\":\"2026-01-01 00:00:00\"}";
    al_rules_init(&rules);
    al_edits_from_export(&ed);
    ck_assert_int_eq(al_transform(&ed, line, strlen(line), &xf, &out, &n, &ev, &why), 1);
    ck_assert_int_eq(al_event_rules(out, n, &rules, &ev, &why), 0);
    ck_assert_int_eq(why.code, AL_REASON_MISSING_ID);
}
END_TEST

START_TEST(generic_edits_rename_drop_set_and_flag)
{
    al_diag_t d;
    al_reason_t why;
    json_t *j;
    ck_assert_int_eq(al_edits_rename(&ed, "uid=user_id", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_drop(&ed, "secret", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_set(&ed, "import_job=\"job-7\"", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_set(&ed, "platform={\"k\":[1,2]}", &d), AL_ERR_OK);
    ed.skip_ups = 1;
    j = edit("{\"event_type\":\"e\",\"uid\":\"user-1\",\"user_id\":\"old-user\",\"secret\":1,"
             "\"platform\":\"web\",\"keep\":true}",
             &why);
    ck_assert_str_eq(str(j, "user_id"), "user-1"); /* the renamed one wins */
    ck_assert_ptr_null(json_object_get(j, "uid"));
    ck_assert_ptr_null(json_object_get(j, "secret"));
    ck_assert_str_eq(str(j, "import_job"), "job-7");
    ck_assert(json_is_array(json_object_get(json_object_get(j, "platform"), "k")));
    ck_assert(json_is_true(json_object_get(j, "$skip_user_properties_sync")));
    ck_assert(json_is_true(json_object_get(j, "keep")));
    ck_assert_uint_eq(json_object_size(j), 6);
    json_decref(j);
}
END_TEST

/* A user's edit of a field the export mapping also edits takes precedence,
 * whichever comes first on the command line. */
START_TEST(user_edits_take_precedence_over_the_mapping)
{
    al_diag_t d;
    al_reason_t why;
    json_t *j;
    ck_assert_int_eq(al_edits_drop(&ed, "ip_address", &d), AL_ERR_OK);
    al_edits_from_export(&ed);
    ck_assert_int_eq(al_edits_rename(&ed, "device_carrier=carrier_name", &d), AL_ERR_OK);
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\",\"ip_address\":\"1.1.1.1\","
             "\"device_carrier\":\"Acme\",\"event_time\":\"2026-01-01 00:00:00\"}",
             &why);
    ck_assert_ptr_null(json_object_get(j, "ip"));
    ck_assert_ptr_null(json_object_get(j, "ip_address"));
    ck_assert_str_eq(str(j, "carrier_name"), "Acme");
    json_decref(j);
}
END_TEST

START_TEST(bad_specs_are_refused_with_a_reason)
{
    al_diag_t d;
    char longname[200];
    memset(longname, 'k', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(al_edits_rename(&ed, "nothing", &d), AL_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(d.detail, "OLD=NEW"));
    ck_assert_int_eq(al_edits_rename(&ed, "=new", &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_rename(&ed, "old=", &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_drop(&ed, "", &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_drop(&ed, longname, &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_drop(&ed, "\xff\xfe", &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_set(&ed, "tag=job-7", &d), AL_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(d.detail, "not JSON"));
    ck_assert_int_eq(al_edits_set(&ed, "tag", &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_edits_set(&ed, "tag=\"a\"", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_drop(&ed, "tag", &d), AL_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(d.detail, "edited twice"));
    ck_assert(al_edits_active(&ed));
}
END_TEST

START_TEST(escaped_keys_are_matched_decoded)
{
    al_diag_t d;
    al_reason_t why;
    json_t *j;
    ck_assert_int_eq(al_edits_rename(&ed, "uid=user_id", &d), AL_ERR_OK);
    j = edit("{\"event_\\u0074ype\":\"e\",\"\\u0075id\":\"user-1\",\"a\\\"b\":1}", &why);
    ck_assert_str_eq(str(j, "user_id"), "user-1");
    ck_assert_str_eq(str(j, "event_type"), "e");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "a\"b")), 1);
    json_decref(j);
}
END_TEST

START_TEST(input_that_is_not_an_object_is_refused)
{
    al_reason_t why;
    al_edits_from_export(&ed);
    ck_assert_ptr_null(edit("{\"event_type\":", &why));
    ck_assert_int_eq(why.code, AL_REASON_INVALID_JSON);
    ck_assert_ptr_null(edit("[1,2]", &why));
    ck_assert_int_eq(why.code, AL_REASON_NOT_OBJECT);
}
END_TEST

/* The edit's own scan and a fresh scan of its output give the same verdict
 * for generated events with every kind of fault. */
static void same_verdict(void *ctx, const char *line, size_t len)
{
    al_rules_t *rules = ctx;
    const char *out;
    size_t n;
    al_event_t ev, fresh;
    al_reason_t a, b;
    int rc = al_transform(&ed, line, len, &xf, &out, &n, &ev, &a);
    if (rc != 1)
        return;
    assert_scan_true(out, n, &ev);
    ck_assert_int_eq(al_event_rules(out, n, rules, &ev, &a),
                     al_event_check(out, n, rules, &fresh, &b));
    ck_assert_int_eq(a.code, b.code);
}

START_TEST(the_output_scan_agrees_with_a_fresh_one)
{
    char *dir = fx_tempdir(), *p = fx_path(dir, "g.ndjson");
    al_rules_t rules;
    al_diag_t d;
    al_rules_init(&rules);
    fx_generate(p, 20000, 21, "--bad-rate 0.2");
    ck_assert_int_eq(al_edits_rename(&ed, "event_properties=props", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_set(&ed, "insert_id=\"fixed-id\"", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_drop(&ed, "time", &d), AL_ERR_OK);
    ed.skip_ups = 1;
    fx_each_line(p, same_verdict, &rules);
    fx_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

/* The user's edits win over the export mapping: a --set or --rename that
 * writes time or insert_id replaces the mapping's, never adds a second. */
START_TEST(user_edits_of_time_and_insert_id_win_over_the_export_mapping)
{
    al_rules_t rules;
    al_reason_t why;
    al_diag_t d;
    al_event_t ev;
    const char *out;
    size_t n;
    json_t *j;

    al_rules_init(&rules);
    ck_assert_int_eq(al_edits_set(&ed, "time=1767323045000", &d), AL_ERR_OK);
    ck_assert_int_eq(al_edits_set(&ed, "insert_id=\"x\"", &d), AL_ERR_OK);
    al_edits_from_export(&ed);
    ck_assert_int_eq(al_transform(&ed, export_row, strlen(export_row), &xf, &out, &n, &ev, &why),
                     1);
    ck_assert_msg(al_event_rules(out, n, &rules, &ev, &why), "%.*s", (int)n, out);
    j = edit(export_row, &why);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), 1767323045000LL);
    ck_assert_str_eq(str(j, "insert_id"), "x");
    json_decref(j);
    /* the user's time stands even where the mapping would find none */
    j = edit("{\"event_type\":\"e\",\"user_id\":\"user-1\"}", &why);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), 1767323045000LL);
    json_decref(j);

    al_edits_init(&ed);
    al_edits_from_export(&ed); /* this order too: the mapping first */
    ck_assert_int_eq(al_edits_rename(&ed, "amplitude_id=time", &d), AL_ERR_OK);
    ck_assert_int_eq(al_transform(&ed, export_row, strlen(export_row), &xf, &out, &n, &ev, &why),
                     1);
    ck_assert_int_eq(al_event_rules(out, n, &rules, &ev, &why), 0); /* 123 is no time in ms */
    ck_assert_int_eq(why.code, AL_REASON_TIME_IN_SECONDS);
    j = edit(export_row, &why);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), 123);
    json_decref(j);

    al_edits_init(&ed);
    al_edits_from_export(&ed);
    ck_assert_int_eq(al_edits_rename(&ed, "uuid=time", &d), AL_ERR_OK);
    ck_assert_int_eq(al_transform(&ed, export_row, strlen(export_row), &xf, &out, &n, &ev, &why),
                     1);
    ck_assert_int_eq(al_event_rules(out, n, &rules, &ev, &why), 0);
    ck_assert_int_eq(why.code, AL_REASON_TIME_NOT_INTEGER); /* not duplicate_key */
    j = edit(export_row, &why);
    ck_assert_str_eq(str(j, "time"), "uu-1");
    ck_assert_str_eq(str(j, "insert_id"), "ins-1");
    json_decref(j);
}
END_TEST

/* A time the mapping derives from a date keeps the mapping's rules (1970
 * and before included); a number the input gives is checked as ms. */
START_TEST(only_a_time_given_as_a_number_is_checked_for_its_unit)
{
    al_rules_t rules;
    al_reason_t why;
    al_diag_t d;
    al_event_t ev;
    const char *out;
    size_t n;
    const char *row = "{\"event_type\":\"e\",\"user_id\":\"user-1\",\"event_time\":"
                      "\"1970-01-01 00:00:01\"}";
    const char *secs = "{\"event_type\":\"e\",\"user_id\":\"user-1\",\"time\":1767323045}";

    al_rules_init(&rules);
    al_edits_from_export(&ed);
    ck_assert_int_eq(al_transform(&ed, row, strlen(row), &xf, &out, &n, &ev, &why), 1);
    ck_assert_msg(al_event_rules(out, n, &rules, &ev, &why), "%.*s", (int)n, out);
    al_edits_init(&ed);
    ck_assert_int_eq(al_edits_set(&ed, "tag=1", &d), AL_ERR_OK);
    ck_assert_int_eq(al_transform(&ed, secs, strlen(secs), &xf, &out, &n, &ev, &why), 1);
    ck_assert_int_eq(al_event_rules(out, n, &rules, &ev, &why), 0);
    ck_assert_int_eq(why.code, AL_REASON_TIME_IN_SECONDS);
}
END_TEST

static Suite *transform_suite(void)
{
    Suite *s = suite_create("transform");
    TCase *tc = tcase_create("transform");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_export_row_becomes_a_batch_event);
    tcase_add_test(tc, kept_values_are_byte_for_byte);
    tcase_add_test(tc, export_nulls_are_dropped_under_any_name);
    tcase_add_test(tc, insert_id_falls_back_to_uuid);
    tcase_add_test(tc, event_time_falls_back_then_refuses);
    tcase_add_test(tc, user_edits_of_time_and_insert_id_win_over_the_export_mapping);
    tcase_add_test(tc, only_a_time_given_as_a_number_is_checked_for_its_unit);
    tcase_add_test(tc, utc_times_parse_exactly);
    tcase_add_test(tc, empty_ids_are_dropped);
    tcase_add_test(tc, generic_edits_rename_drop_set_and_flag);
    tcase_add_test(tc, user_edits_take_precedence_over_the_mapping);
    tcase_add_test(tc, bad_specs_are_refused_with_a_reason);
    tcase_add_test(tc, escaped_keys_are_matched_decoded);
    tcase_add_test(tc, input_that_is_not_an_object_is_refused);
    tcase_add_test(tc, the_output_scan_agrees_with_a_fresh_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(transform_suite());
}
