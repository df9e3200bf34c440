/* test_insertid.c - the deterministic insert_id and its placement. */
#include "batch.h"
#include "fixtures.h"
#include "insertid.h"
#include "validate.h"

#include <jansson.h>
#include <string.h>

/* Runs one event through validation, planning and the batcher; returns the
 * event as it would be sent, parsed. */
static json_t *as_sent(const char *line, uint64_t seed)
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
    edit = al_insert_id_plan(line, len, &ev.scan, seed, buf, &inj);
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
    al_insert_id("{\"event_type\":\"x\"}", 18, al_insert_id_seed(42, 7), a);
    al_insert_id("{\"event_type\":\"x\"}", 18, al_insert_id_seed(42, 7), b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
    /* a release must never change the ids of events already sent (the
     * checkpoint's version says when one does): pinned */
    ck_assert_str_eq(a, "2d5ef6817fdcb6a7312a7167b3159433");
}
END_TEST

START_TEST(depends_on_the_input_the_offset_and_the_bytes)
{
    char a[AL_INSERT_ID_HEX + 1], b[AL_INSERT_ID_HEX + 1], c[AL_INSERT_ID_HEX + 1],
        d[AL_INSERT_ID_HEX + 1];
    al_insert_id("{\"event_type\":\"x\"}", 18, al_insert_id_seed(42, 7), a);
    al_insert_id("{\"event_type\":\"x\"}", 18, al_insert_id_seed(42, 8), b);
    al_insert_id("{\"event_type\":\"y\"}", 18, al_insert_id_seed(42, 7), c);
    al_insert_id("{\"event_type\":\"x\"}", 18, al_insert_id_seed(43, 7), d);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_ne(a, d);
}
END_TEST

/* An input's key comes from what every copy can read cheaply: the stored
 * file's size and ends (and a member's name), not its path or its lines. */
START_TEST(an_input_key_is_its_content_not_its_name)
{
    char *dir = fx_tempdir(), *a = fx_path(dir, "a.ndjson"), *b = fx_path(dir, "b.ndjson");
    char *c = fx_path(dir, "c.ndjson"), *big = fx_path(dir, "big.ndjson");
    char *missing = fx_path(dir, "missing");
    char *text = malloc(300000);
    uint64_t ka, kb, kc, km1, km2, kbig1, kbig2;
    al_diag_t d;

    /* the same heartbeat opens two different hourly files */
    fx_write(a, "{\"event_type\":\"beat\",\"device_id\":\"dev-1\"}\n{\"n\":1}\n", 50);
    fx_write(b, "{\"event_type\":\"beat\",\"device_id\":\"dev-1\"}\n{\"n\":2}\n", 50);
    fx_write(c, "{\"event_type\":\"beat\",\"device_id\":\"dev-1\"}\n{\"n\":1}\n", 50);
    ck_assert_int_eq(al_insert_id_input_key(a, NULL, &ka, &d), AL_ERR_OK);
    ck_assert_int_eq(al_insert_id_input_key(b, NULL, &kb, &d), AL_ERR_OK);
    ck_assert_int_eq(al_insert_id_input_key(c, NULL, &kc, &d), AL_ERR_OK);
    ck_assert_uint_ne(ka, kb);
    ck_assert_uint_eq(ka, kc); /* a copy of the file is the same input */
    ck_assert_uint_ne(al_insert_id_seed(ka, 0), al_insert_id_seed(kb, 0));
    ck_assert_int_eq(al_insert_id_input_key(a, "day#1.json", &km1, &d), AL_ERR_OK);
    ck_assert_int_eq(al_insert_id_input_key(a, "day#2.json", &km2, &d), AL_ERR_OK);
    ck_assert_uint_ne(km1, km2);
    ck_assert_uint_ne(km1, ka);
    /* past 128 KiB, a byte in the middle is not read: the size and the ends are */
    memset(text, 'x', 300000);
    fx_write(big, text, 300000);
    ck_assert_int_eq(al_insert_id_input_key(big, NULL, &kbig1, &d), AL_ERR_OK);
    text[299999] = 'y';
    fx_write(big, text, 300000);
    ck_assert_int_eq(al_insert_id_input_key(big, NULL, &kbig2, &d), AL_ERR_OK);
    ck_assert_uint_ne(kbig1, kbig2);
    ck_assert_int_eq(al_insert_id_input_key("-", NULL, &ka, &d), AL_ERR_OK);
    ck_assert_uint_eq(ka, 0);
    ck_assert_int_eq(al_insert_id_input_key(missing, NULL, &ka, &d), AL_ERR_NOT_FOUND);
    fx_rmtree(dir);
    free(missing);
    free(text);
    free(a);
    free(b);
    free(c);
    free(big);
    free(dir);
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
    tcase_add_test(tc, depends_on_the_input_the_offset_and_the_bytes);
    tcase_add_test(tc, an_input_key_is_its_content_not_its_name);
    tcase_add_test(tc, is_added_before_the_closing_brace);
    tcase_add_test(tc, replaces_a_null_insert_id_and_keeps_an_existing_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(insertid_suite());
}
