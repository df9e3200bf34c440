/* test_insertid.c - the deterministic insert_id and its placement. */
#include "batch.h"
#include "fixtures.h"
#include "insertid.h"
#include "validate.h"

#include <jansson.h>
#include <string.h>

/* Runs one event through validation, planning and the batcher; returns the
 * event as it would be sent, parsed. */
static json_t *as_sent(const char *line, uint64_t line_no)
{
    al_rules_t rules;
    al_event_t ev;
    al_reason_t why;
    al_batch_opts_t o;
    al_batch_t *b;
    al_inject_t inj;
    char buf[64];
    json_error_t err;
    json_t *j;
    size_t len = strlen(line);
    int edit;

    al_rules_init(&rules);
    al_batch_opts_init(&o);
    ck_assert_int_eq(al_event_check(line, len, &rules, &ev, &why), 1);
    edit = al_insert_id_plan(line, len, &ev.scan, line_no, buf, &inj);
    b = al_batch_new(&o);
    ck_assert_int_eq(al_batch_add_edited(b, line, len, edit ? &inj : NULL, NULL), AL_ERR_OK);
    j = json_loadb(b->body + b->off[0], b->elen[0], 0, &err);
    ck_assert_msg(j != NULL, "edited event is not JSON: %.*s (%s)", (int)b->elen[0],
                  b->body + b->off[0], err.text);
    al_batch_free(b);
    return j;
}

START_TEST(is_stable_hex_of_fixed_length)
{
    char a[AL_INSERT_ID_HEX + 1], b[AL_INSERT_ID_HEX + 1];
    al_insert_id("{\"event_type\":\"x\"}", 18, 7, a);
    al_insert_id("{\"event_type\":\"x\"}", 18, 7, b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
    /* a release must never change the ids of events already sent: pinned */
    ck_assert_str_eq(a, "75e885046fd96e7a714afa95c86fe17e");
}
END_TEST

START_TEST(depends_on_the_line_number_and_the_bytes)
{
    char a[AL_INSERT_ID_HEX + 1], b[AL_INSERT_ID_HEX + 1], c[AL_INSERT_ID_HEX + 1];
    al_insert_id("{\"event_type\":\"x\"}", 18, 7, a);
    al_insert_id("{\"event_type\":\"x\"}", 18, 8, b);
    al_insert_id("{\"event_type\":\"y\"}", 18, 7, c);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(is_added_before_the_closing_brace)
{
    const char *line = "{\"event_type\":\"x\",\"user_id\":\"abcdef\"}  ";
    json_t *j = as_sent(line, 3);
    const char *id = json_string_value(json_object_get(j, "insert_id"));
    char want[AL_INSERT_ID_HEX + 1];
    al_insert_id(line, strlen(line), 3, want);
    ck_assert_ptr_nonnull(id);
    ck_assert_str_eq(id, want);
    ck_assert_str_eq(json_string_value(json_object_get(j, "user_id")), "abcdef");
    json_decref(j);
}
END_TEST

START_TEST(replaces_a_null_insert_id_and_keeps_an_existing_one)
{
    json_t *j = as_sent("{\"event_type\":\"x\",\"insert_id\":null,\"user_id\":\"abcdef\"}", 1);
    ck_assert(json_is_string(json_object_get(j, "insert_id")));
    ck_assert_uint_eq(json_object_size(j), 3);
    json_decref(j);
    j = as_sent("{\"event_type\":\"x\",\"insert_id\":\"mine-123\",\"user_id\":\"abcdef\"}", 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "insert_id")), "mine-123");
    json_decref(j);
}
END_TEST

static Suite *insertid_suite(void)
{
    Suite *s = suite_create("insertid");
    TCase *tc = tcase_create("insertid");
    tcase_add_test(tc, is_stable_hex_of_fixed_length);
    tcase_add_test(tc, depends_on_the_line_number_and_the_bytes);
    tcase_add_test(tc, is_added_before_the_closing_brace);
    tcase_add_test(tc, replaces_a_null_insert_id_and_keeps_an_existing_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(insertid_suite());
}
