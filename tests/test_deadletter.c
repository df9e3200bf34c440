/* test_deadletter.c - the reject file: one valid JSON record per refused line. */
#include "deadletter.h"
#include "fixtures.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir, *path;

static void setup(void)
{
    dir = fx_tempdir();
    path = fx_path(dir, "rejected.ndjson");
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
    free(path);
}

/* Writes one record to a fresh reject file and reads it back. */
static json_t *write_and_read_back(const al_reject_t *r)
{
    al_deadletter_t *dl;
    al_dl_writer_t w;
    al_diag_t d;
    json_error_t err;
    json_t *j;
    size_t n;
    char *text;

    ck_assert_int_eq(al_deadletter_open(&dl, path, AL_DL_RECORDS, 0, NULL, &d), AL_ERR_OK);
    al_dl_writer_init(&w, dl);
    ck_assert_int_eq(al_dl_write(&w, r, &d), AL_ERR_OK);
    ck_assert_int_eq(al_dl_writer_flush(&w, &d), AL_ERR_OK);
    ck_assert_int_eq(al_deadletter_close(dl, &d), AL_ERR_OK);
    text = fx_read(path, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(text[n - 1], '\n');
    j = json_loadb(text, n - 1, 0, &err);
    ck_assert_msg(j != NULL, "record is not JSON: %s", err.text);
    free(text);
    return j;
}

START_TEST(writes_file_line_offset_reason_and_raw_text)
{
    const char raw[] = "{\"a\":\"tab\there\",\"q\":\"\\\"\"}";
    al_reject_t r = {.file = "in \"1\".ndjson",
                     .line = 12,
                     .offset = 3456,
                     .reason = "invalid JSON at column 9: control character in string",
                     .raw = raw,
                     .raw_len = sizeof(raw) - 1,
                     .full_len = sizeof(raw) - 1};
    json_t *j = write_and_read_back(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "file")), "in \"1\".ndjson");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "line")), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "offset")), 3456);
    ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), r.reason);
    ck_assert_str_eq(json_string_value(json_object_get(j, "raw")), raw);
    ck_assert_ptr_null(json_object_get(j, "truncated"));
    json_decref(j);
}
END_TEST

START_TEST(keeps_invalid_utf8_lossless_as_base64)
{
    al_reject_t r = {.file = "f",
                     .line = 1,
                     .reason = "invalid UTF-8",
                     .raw = "ab\xff",
                     .raw_len = 3,
                     .full_len = 3};
    json_t *j = write_and_read_back(&r);
    ck_assert_ptr_null(json_object_get(j, "raw"));
    ck_assert_str_eq(json_string_value(json_object_get(j, "raw_base64")), "YWL/");
    json_decref(j);
}
END_TEST

START_TEST(marks_truncated_long_lines_with_their_length)
{
    al_reject_t r = {.file = "f",
                     .line = 1,
                     .reason = "too long",
                     .raw = "{\"aaaa",
                     .raw_len = 6,
                     .full_len = 99999999};
    json_t *j = write_and_read_back(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "length")), 99999999);
    ck_assert(json_is_true(json_object_get(j, "truncated")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "raw")), "{\"aaaa");
    json_decref(j);
}
END_TEST

START_TEST(raw_format_writes_the_event_line_itself)
{
    al_deadletter_t *dl;
    al_dl_writer_t w;
    al_diag_t d;
    al_reject_t r = {.raw = "{\"event_type\":\"x\"}", .raw_len = 18, .full_len = 18};
    size_t n;
    char *text;
    ck_assert_int_eq(al_deadletter_open(&dl, path, AL_DL_RAW, 0, NULL, &d), AL_ERR_OK);
    al_dl_writer_init(&w, dl);
    ck_assert_int_eq(al_dl_write(&w, &r, &d), AL_ERR_OK);
    ck_assert_int_eq(al_dl_write(&w, &r, &d), AL_ERR_OK);
    al_dl_writer_flush(&w, &d);
    al_deadletter_close(dl, &d);
    text = fx_read(path, &n);
    ck_assert_str_eq(text, "{\"event_type\":\"x\"}\n{\"event_type\":\"x\"}\n");
    free(text);
}
END_TEST

START_TEST(creates_no_file_when_nothing_is_rejected)
{
    al_deadletter_t *dl;
    al_dl_writer_t w;
    al_diag_t d;
    fx_write(path, "old run\n", 8);
    ck_assert_int_eq(al_deadletter_open(&dl, path, AL_DL_RECORDS, 0, NULL, &d), AL_ERR_OK);
    al_dl_writer_init(&w, dl);
    al_dl_writer_flush(&w, &d);
    al_deadletter_close(dl, &d);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

static al_deadletter_t *shared_dl;

static void *writer_thread(void *arg)
{
    al_dl_writer_t w;
    al_diag_t d;
    char raw[600];
    long id = (long)arg;
    memset(raw, 'a' + (char)id, sizeof(raw));
    al_dl_writer_init(&w, shared_dl);
    for (int i = 0; i < 3000; i++) {
        al_reject_t r = {.file = "f",
                         .line = (uint64_t)i,
                         .offset = (uint64_t)id,
                         .reason = "x",
                         .raw = raw,
                         .raw_len = sizeof(raw),
                         .full_len = sizeof(raw)};
        if (al_dl_write(&w, &r, &d) != AL_ERR_OK)
            return (void *)1;
    }
    return al_dl_writer_flush(&w, &d) == AL_ERR_OK ? NULL : (void *)1;
}

START_TEST(never_interleaves_records_from_threads)
{
    pthread_t t[4];
    al_diag_t d;
    size_t n, lines = 0;
    char *text, *p;
    ck_assert_int_eq(al_deadletter_open(&shared_dl, path, AL_DL_RECORDS, 0, NULL, &d), AL_ERR_OK);
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, writer_thread, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
    }
    ck_assert_int_eq(al_deadletter_close(shared_dl, &d), AL_ERR_OK);
    text = fx_read(path, &n);
    for (p = text; p < text + n; p = strchr(p, '\n') + 1) {
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, &err);
        const char *raw;
        long id;
        ck_assert_msg(j != NULL, "torn record: %s", err.text);
        id = (long)json_integer_value(json_object_get(j, "offset"));
        raw = json_string_value(json_object_get(j, "raw"));
        ck_assert_uint_eq(strlen(raw), 600);
        ck_assert_int_eq(raw[599], 'a' + id);
        json_decref(j);
        lines++;
    }
    ck_assert_uint_eq(lines, 4 * 3000);
    free(text);
}
END_TEST

/* A record that could not be appended (the file hit its size limit) is
 * lost; a commit after it must not say the later records are written, or
 * their events would be resolved while an earlier one is in no file. The
 * limit is lifted before the second commit, which would succeed on its own. */
START_TEST(a_failed_append_fails_every_later_commit)
{
    const char raw[] = "{\"event_type\":\"x\",\"user_id\":\"someone\"}";
    al_reject_t r = {.file = "in.ndjson",
                     .line = 1,
                     .reason = "test",
                     .raw = raw,
                     .raw_len = sizeof(raw) - 1,
                     .full_len = sizeof(raw) - 1};
    struct rlimit old, tiny = {16, 16};
    al_deadletter_t *dl;
    al_dl_writer_t w;
    al_diag_t d;

    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    tiny.rlim_max = old.rlim_max;
    ck_assert_int_eq(al_deadletter_open(&dl, path, AL_DL_RECORDS, 0, NULL, &d), AL_ERR_OK);
    al_dl_writer_init(&w, dl);
    ck_assert_int_eq(al_dl_write(&w, &r, &d), AL_ERR_OK);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    ck_assert_int_eq(al_dl_writer_commit(&w, &d), AL_ERR_WRITE);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    r.line = 2;
    ck_assert_int_ne(al_dl_write(&w, &r, &d), AL_ERR_OK);
    ck_assert_int_eq(al_dl_writer_commit(&w, &d), AL_ERR_WRITE);
    ck_assert_str_eq(d.path, path);
    ck_assert_int_eq(al_dl_writer_flush(&w, &d), AL_ERR_WRITE);
    al_deadletter_close(dl, &d);
}
END_TEST

static Suite *deadletter_suite(void)
{
    Suite *s = suite_create("deadletter");
    TCase *tc = tcase_create("reject");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, writes_file_line_offset_reason_and_raw_text);
    tcase_add_test(tc, keeps_invalid_utf8_lossless_as_base64);
    tcase_add_test(tc, marks_truncated_long_lines_with_their_length);
    tcase_add_test(tc, raw_format_writes_the_event_line_itself);
    tcase_add_test(tc, creates_no_file_when_nothing_is_rejected);
    tcase_add_test(tc, never_interleaves_records_from_threads);
    tcase_add_test(tc, a_failed_append_fails_every_later_commit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(deadletter_suite());
}
