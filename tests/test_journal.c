/* test_journal.c - the Identify journal: what a resume learns from it. */
#include "fixtures.h"
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *path;
static al_batch_opts_t bo;

static void setup(void)
{
    dir = fx_tempdir();
    path = fx_path(dir, "identify.journal");
    al_batch_opts_init(&bo);
    bo.form = 1;
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
    free(path);
}

/* A batch of identifications of input file_id at the given offsets. */
static al_batch_t *batch_at(uint32_t file_id, const uint64_t *offsets, size_t n)
{
    al_batch_t *b = al_batch_new(&bo);
    for (size_t i = 0; i < n; i++) {
        al_origin_t o = {.file_id = file_id, .offset = offsets[i], .line = i + 1};
        ck_assert_int_eq(al_batch_add(b, "{\"user_id\":\"u1234\"}", 19, &o), AL_ERR_OK);
    }
    return b;
}

static void note(al_journal_t *j, char type, uint32_t file_id, const uint64_t *off, size_t n)
{
    al_batch_t *b = batch_at(file_id, off, n);
    al_journal_note(j, type, b);
    al_batch_free(b);
}

START_TEST(each_identification_ends_as_its_last_record_says)
{
    static const uint64_t a[] = {0, 40, 80}, b[] = {120, 160}, c[] = {200};
    al_mark_t marks[2] = {{0, 1, 0, 0}, {0, 1, 0, 0}};
    al_journal_t *j;
    al_jset_t *set;
    al_diag_t d;
    struct stat st;

    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_SENT, 0, a, 3);
    note(j, AL_JOURNAL_SENT, 0, b, 2);
    note(j, AL_JOURNAL_ACKED, 0, a, 3);
    note(j, AL_JOURNAL_CLEAR, 0, b, 2); /* a 429: not applied */
    note(j, AL_JOURNAL_SENT, 0, b + 1, 1);
    note(j, AL_JOURNAL_SENT, 1, c, 1);
    note(j, AL_JOURNAL_SENT, 0, a, 1); /* an acknowledgement is final */
    ck_assert_int_eq(al_journal_flush(j, 1, &d), AL_ERR_OK);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_state(set, 0, 0), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 40), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 80), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 120), 0);
    ck_assert_int_eq(al_jset_state(set, 0, 160), AL_JOURNAL_SENT);
    ck_assert_int_eq(al_jset_state(set, 1, 200), AL_JOURNAL_SENT);
    ck_assert_int_eq(al_jset_state(set, 1, 0), 0);
    ck_assert_int_eq(al_jset_state(set, 0, 200), 0);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_ACKED), 3);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_SENT), 2);
    al_jset_free(set);
}
END_TEST

START_TEST(the_load_keeps_only_what_is_past_the_marks_and_compacts_the_file)
{
    uint64_t off[100];
    al_mark_t marks[1] = {{2000, 51, 0, 0}};
    al_journal_t *j;
    al_jset_t *set;
    al_diag_t d;
    size_t n;
    char *bytes;

    for (int i = 0; i < 100; i++)
        off[i] = (uint64_t)i * 40;
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_SENT, 0, off, 100);
    note(j, AL_JOURNAL_ACKED, 0, off, 100);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    free(fx_read(path, &n));
    ck_assert_uint_eq(n, 16 + 200 * 16); /* a header, then the records */

    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_state(set, 0, 1960), 0); /* below the mark: not kept */
    ck_assert_int_eq(al_jset_state(set, 0, 2000), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_ACKED), 50);
    al_jset_free(set);
    bytes = fx_read(path, &n);
    ck_assert_uint_eq(n, 16 + 50 * 16); /* one record per identification still needed */
    free(bytes);
    /* and the compacted file says the same */
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_ACKED), 50);
    al_jset_free(set);
    /* a finished input needs nothing */
    marks[0].done = 1;
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_ACKED), 0);
    al_jset_free(set);
    free(fx_read(path, &n));
    ck_assert_uint_eq(n, 16);
}
END_TEST

/* The durable length the header states (bytes 8-15, host order). */
static uint64_t durable_of(const char *bytes)
{
    uint64_t v;
    memcpy(&v, bytes + 8, sizeof(v));
    return v;
}

/* What a kill -9 leaves: records past the last fdatasync, the last one cut. */
START_TEST(a_torn_tail_past_the_durable_length_ends_the_journal)
{
    static const uint64_t a[] = {0, 40}, b[] = {80}, c[] = {120};
    al_mark_t marks[1] = {{0, 1, 0, 0}};
    al_journal_t *j;
    al_jset_t *set;
    al_diag_t d;
    size_t n;
    char *bytes;

    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_SENT, 0, a, 2);
    ck_assert_int_eq(al_journal_flush(j, 1, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_ACKED, 0, a, 1);
    note(j, AL_JOURNAL_SENT, 0, b, 1);
    ck_assert_int_eq(al_journal_flush(j, 0, &d), AL_ERR_OK);
    bytes = fx_read(path, &n); /* the file as the kill leaves it */
    ck_assert_uint_eq(n, 16 + 4 * 16);
    ck_assert_uint_eq(durable_of(bytes), 16 + 2 * 16);
    note(j, AL_JOURNAL_SENT, 0, c, 1);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);

    fx_write(path, bytes, n - 8); /* the SENT of 80 cut in half */
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_state(set, 0, 0), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 40), AL_JOURNAL_SENT);
    ck_assert_int_eq(al_jset_state(set, 0, 80), 0);
    al_jset_free(set);
    /* a power loss: the unsynced pages zeroed; the ACKED of 0 lost puts it
     * back in doubt, never resent blindly */
    memset(bytes + 16 + 2 * 16, 0, 16);
    fx_write(path, bytes, n);
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_state(set, 0, 0), AL_JOURNAL_SENT);
    ck_assert_int_eq(al_jset_state(set, 0, 80), 0);
    al_jset_free(set);
    /* killed while writing the header of a new journal: nothing was sent */
    free(bytes);
    unlink(path);
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    ck_assert_int_eq(al_journal_flush(j, 0, &d), AL_ERR_OK);
    bytes = fx_read(path, &n);
    ck_assert_uint_eq(n, 16);
    ck_assert_uint_eq(durable_of(bytes), 0);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    fx_write(path, bytes, 5);
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_SENT), 0);
    al_jset_free(set);
    free(bytes);
}
END_TEST

/* Loads a damaged copy of good (n bytes): refused with the path and the
 * offset, and the file left byte for byte as it was. */
static void refused_at(const char *bad, size_t n, uint64_t offset)
{
    al_mark_t marks[1] = {{0, 1, 0, 0}};
    al_jset_t *set = NULL;
    al_diag_t d;
    size_t m;
    char *after, *tmp = fx_path(dir, "identify.journal.tmp");

    fx_write(path, bad, n);
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_JOURNAL_CORRUPT);
    ck_assert_ptr_null(set);
    ck_assert_str_eq(d.path, path);
    ck_assert_int_eq(d.has_offset, 1);
    ck_assert_uint_eq(d.offset, offset);
    ck_assert_str_ne(d.detail, "");
    after = fx_read(path, &m);
    ck_assert_uint_eq(m, n);
    ck_assert_int_eq(memcmp(after, bad, n), 0);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    free(after);
    free(tmp);
}

START_TEST(damage_before_the_durable_end_is_refused_and_kept)
{
    uint64_t off[40];
    al_journal_t *j;
    al_diag_t d;
    size_t n;
    char *good, *bad;

    for (int i = 0; i < 40; i++)
        off[i] = (uint64_t)i * 40;
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_SENT, 0, off, 40);
    ck_assert_int_eq(al_journal_flush(j, 1, &d), AL_ERR_OK);
    note(j, AL_JOURNAL_ACKED, 0, off, 20);
    ck_assert_int_eq(al_journal_flush(j, 1, &d), AL_ERR_OK);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    good = fx_read(path, &n);
    ck_assert_uint_eq(n, 16 + 60 * 16);
    ck_assert_uint_eq(durable_of(good), n);
    bad = malloc(n);

    memcpy(bad, good, n); /* one flipped bit in the 3rd record's offset */
    bad[16 + 2 * 16 + 9] ^= 0x40;
    refused_at(bad, n, 16 + 2 * 16);
    memcpy(bad, good, n); /* a flipped type */
    bad[16 + 30 * 16] ^= 0x01;
    refused_at(bad, n, 16 + 30 * 16);
    memcpy(bad, good, n); /* one record zeroed */
    memset(bad + 16 + 7 * 16, 0, 16);
    refused_at(bad, n, 16 + 7 * 16);
    memcpy(bad, good, n); /* the last record zeroed: it was durable too */
    memset(bad + n - 16, 0, 16);
    refused_at(bad, n, n - 16);
    refused_at(good, n / 2 / 16 * 16, n / 2 / 16 * 16); /* cut to half, at a record */
    refused_at(good, n / 2, n / 2);                     /* cut in a record */
    memcpy(bad, good, n);                               /* the header damaged */
    bad[3] ^= 0x04;
    refused_at(bad, n, 0);
    for (size_t i = 0; i < n; i++) /* not a journal at all */
        bad[i] = (char)(rand() & 0xFF);
    refused_at(bad, n, 0);
    refused_at("{\"x\":", 5, 0);    /* shorter than a record, and not a header */
    memcpy(bad, good + 16, n - 16); /* records without their header */
    refused_at(bad, n - 16, 0);
    free(bad);
    free(good);
}
END_TEST

START_TEST(a_missing_journal_is_an_empty_one_and_many_entries_grow_the_set)
{
    al_mark_t marks[1] = {{0, 1, 0, 0}};
    al_journal_t *j;
    al_jset_t *set;
    al_diag_t d;
    uint64_t off[1000];

    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_state(set, 0, 0), 0);
    al_jset_free(set);
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK);
    for (int k = 0; k < 20; k++) { /* 20000 records: past the write buffer and the first table */
        for (int i = 0; i < 1000; i++)
            off[i] = (uint64_t)(k * 1000 + i) * 7;
        note(j, k % 2 ? AL_JOURNAL_ACKED : AL_JOURNAL_SENT, 0, off, 1000);
    }
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_load(path, marks, 1, &set, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_ACKED), 10000);
    ck_assert_int_eq(al_jset_count(set, AL_JOURNAL_SENT), 10000);
    ck_assert_int_eq(al_jset_state(set, 0, 1000 * 7), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 19999 * 7), AL_JOURNAL_ACKED);
    ck_assert_int_eq(al_jset_state(set, 0, 18000 * 7), AL_JOURNAL_SENT);
    al_jset_free(set);
}
END_TEST

/* The checkpoint says identifications past its mark were acknowledged: their
 * SENT records were made durable before they left, so a journal that is
 * missing, empty or holds no record at all has lost them - resending would
 * apply $add or $append a second time. */
START_TEST(a_journal_without_records_the_checkpoint_relies_on_is_refused)
{
    al_mark_t marks[2] = {{0, 1, 0, 0}, {700, 9, 0, 3}};
    al_journal_t *j;
    al_jset_t *set = NULL;
    al_diag_t d;
    struct stat st;

    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_JOURNAL_CORRUPT);
    ck_assert_ptr_null(set);
    ck_assert_int_ne(stat(path, &st), 0); /* nothing created in its place */
    fx_write(path, "", 0);
    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_JOURNAL_CORRUPT);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0); /* left as it is */
    unlink(path);
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_OK); /* a header alone */
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_JOURNAL_CORRUPT);
    ck_assert(strstr(d.detail, "acknowledged") != NULL);
    /* with nothing acknowledged past the marks, the same files are fine */
    marks[1].acked_past = 0;
    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_OK);
    al_jset_free(set);
    unlink(path);
    ck_assert_int_eq(al_jset_load(path, marks, 2, &set, &d), AL_ERR_OK);
    al_jset_free(set);
}
END_TEST

/* A state file is never written through a link planted in its place. */
START_TEST(a_planted_symlink_is_refused)
{
    char *target = fx_path(dir, "elsewhere");
    al_journal_t *j;
    al_diag_t d;
    size_t n;
    char *text;
    fx_write(target, "untouched", 9);
    ck_assert_int_eq(symlink(target, path), 0);
    ck_assert_int_eq(al_journal_open(&j, path, &d), AL_ERR_WRITE);
    text = fx_read(target, &n);
    ck_assert_uint_eq(n, 9);
    free(text);
    free(target);
}
END_TEST

static Suite *journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, each_identification_ends_as_its_last_record_says);
    tcase_add_test(tc, the_load_keeps_only_what_is_past_the_marks_and_compacts_the_file);
    tcase_add_test(tc, a_torn_tail_past_the_durable_length_ends_the_journal);
    tcase_add_test(tc, damage_before_the_durable_end_is_refused_and_kept);
    tcase_add_test(tc, a_missing_journal_is_an_empty_one_and_many_entries_grow_the_set);
    tcase_add_test(tc, a_journal_without_records_the_checkpoint_relies_on_is_refused);
    tcase_add_test(tc, a_planted_symlink_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(journal_suite());
}
