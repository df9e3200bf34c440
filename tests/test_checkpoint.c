/* test_checkpoint.c - low-water marks, the checkpoint file, and rollback. */
#include "checkpoint.h"
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir, *input, *ckpath;
static const char *paths[1];

static void setup(void)
{
    dir = fx_tempdir();
    input = fx_path(dir, "in.ndjson");
    ckpath = fx_path(dir, "checkpoint");
    fx_write(input, "line one\nline two\nline three\n", 29);
    paths[0] = input;
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
    free(input);
    free(ckpath);
}

START_TEST(the_mark_stops_at_the_first_unresolved_chunk)
{
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m;
    al_track_t *t1, *t2, *t3;

    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, NULL, NULL, &d), AL_ERR_OK);
    t1 = al_track_new(0, 9, 2);
    t2 = al_track_new(0, 18, 3);
    t3 = al_track_new(0, 29, 4);
    al_ckpt_track(ck, t1);
    al_ckpt_track(ck, t2);
    al_ckpt_track(ck, t3);
    al_track_add(t1, 5); /* five events of chunk 1 sent */
    al_track_resolve(t1, 1);
    al_track_resolve(t2, 1); /* chunk 2 is done before chunk 1 */
    al_track_resolve(t3, 1);
    al_ckpt_marks(ck, &m);
    ck_assert_uint_eq(m.offset, 0); /* out of order: not past chunk 1 */
    ck_assert_uint_eq(m.line, 1);
    al_track_resolve(t1, 4);
    al_ckpt_marks(ck, &m);
    ck_assert_uint_eq(m.offset, 0);
    al_track_resolve(t1, 1);
    al_ckpt_marks(ck, &m);
    ck_assert_uint_eq(m.offset, 29);
    ck_assert_uint_eq(m.line, 4);
    ck_assert_int_eq(m.done, 0);
    al_ckpt_input_done(ck, 0, 29, 4);
    al_ckpt_marks(ck, &m);
    ck_assert_int_eq(m.done, 1);
    al_ckpt_free(ck);
}
END_TEST

START_TEST(saves_and_loads_the_marks)
{
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m = {0}, start = {9, 2, 0, 0};
    al_track_t *t;

    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, NULL, &start, &d), AL_ERR_OK);
    t = al_track_new(0, 18, 3);
    al_ckpt_track(ck, t);
    al_track_resolve(t, 1);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, &m, &d), AL_ERR_OK);
    ck_assert_uint_eq(m.offset, 18);
    ck_assert_uint_eq(m.line, 3);
    ck_assert_int_ne(access(ckpath, F_OK), -1);
}
END_TEST

START_TEST(a_missing_checkpoint_is_not_an_error_and_a_torn_temp_file_is_ignored)
{
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m;
    char *tmp = fx_path(dir, "checkpoint.tmp");
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, &m, &d), AL_ERR_NOT_FOUND);
    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, NULL, NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    fx_write(tmp, "{\"version\":1,\"inpu", 18); /* a save cut short by a crash */
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, &m, &d), AL_ERR_OK);
    ck_assert_uint_eq(m.line, 1);
    fx_write(ckpath, "garbage", 7);
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, &m, &d), AL_ERR_CHECKPOINT_CORRUPT);
    free(tmp);
}
END_TEST

START_TEST(a_changed_input_or_another_input_list_is_refused)
{
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m[2];
    const char *two[2];
    char *other = fx_path(dir, "other.ndjson");
    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, NULL, NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    fx_write(other, "x\n", 2);
    two[0] = input;
    two[1] = other;
    ck_assert_int_eq(al_ckpt_load(ckpath, two, NULL, 2, NULL, m, &d), AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_ptr_nonnull(strstr(d.detail, "another list of inputs"));
    fx_write(input, "line one\nline two\nline 3!!\n", 28); /* edited */
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, m, &d), AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_str_eq(d.path, input);
    ck_assert_ptr_nonnull(strstr(d.detail, "changed since the checkpoint"));
    free(other);
}
END_TEST

START_TEST(a_checkpoint_belongs_to_its_shard)
{
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m;
    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, "1/4", NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, "1/4", &m, &d), AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, "2/4", &m, &d),
                     AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_ptr_nonnull(strstr(d.detail, "written by shard 1/4, and this run is shard 2/4"));
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, NULL, &m, &d),
                     AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_ptr_nonnull(strstr(d.detail, "this run is a run without --shard"));
    /* and an unsharded checkpoint is not taken by a shard */
    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, paths, NULL, 1, NULL, NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    ck_assert_int_eq(al_ckpt_load(ckpath, paths, NULL, 1, "0/2", &m, &d),
                     AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_ptr_nonnull(strstr(d.detail, "written by a run without --shard"));
}
END_TEST

START_TEST(rollback_keeps_only_records_below_the_marks)
{
    char *rej = fx_path(dir, "rejected.ndjson"), *failed = fx_path(dir, "failed.ndjson");
    char *index = fx_path(dir, "failed.index"), *ckpt = fx_path(dir, "checkpoint");
    char *text, *rejtext = NULL;
    al_mark_t m = {18, 3, 0, 0};
    al_diag_t d;
    size_t n;

    if (asprintf(&rejtext,
                 "{\"file\":\"%s\",\"line\":1,\"offset\":0,\"reason\":\"r\",\"raw\":\"a\"}\n"
                 "{\"file\":\"%s\",\"line\":3,\"offset\":18,\"reason\":\"r\",\"raw\":\"c\"}\n"
                 "{\"file\":\"%s\",\"line\":2,\"offset\":9,\"reason\":\"r\",\"raw\":\"b\"}\n"
                 "{\"file\":\"%s\",\"line\":3,\"off",
                 input, input, input, input) < 0)
        ck_abort();
    fx_write(rej, rejtext, strlen(rejtext));
    fx_write(failed, "{\"e\":1}\n{\"e\":2}\n{\"e\":3}\n", 24);
    fx_write(index, "0 0 1\n0 20 3\n0 9 2\n", 19);
    ck_assert_int_eq(al_ckpt_rollback(ckpt, &(al_state_files_t){rej, failed, index, NULL, NULL},
                                      paths, 1, &m, &d),
                     AL_ERR_OK);
    text = fx_read(rej, &n);
    ck_assert_ptr_nonnull(strstr(text, "\"line\":1"));
    ck_assert_ptr_nonnull(strstr(text, "\"line\":2"));
    ck_assert_ptr_null(strstr(text, "\"line\":3"));
    free(text);
    text = fx_read(failed, &n);
    ck_assert_str_eq(text, "{\"e\":1}\n{\"e\":3}\n");
    free(text);
    text = fx_read(index, &n);
    ck_assert_str_eq(text, "0 0 1\n0 9 2\n");
    free(text);
    free(rejtext);
    free(rej);
    free(failed);
    free(index);
    free(ckpt);
}
END_TEST

/* The three files of a rollback change as one: staged copies count only
 * once the commit marker exists. */
START_TEST(recover_finishes_a_committed_rollback_and_drops_an_uncommitted_one)
{
    char *rej = fx_path(dir, "rejected.ndjson"), *failed = fx_path(dir, "failed.ndjson");
    char *index = fx_path(dir, "failed.index"), *ckpt = fx_path(dir, "checkpoint");
    char *srej = fx_path(dir, "rejected.ndjson.rollback");
    char *sfailed = fx_path(dir, "failed.ndjson.rollback");
    char *sindex = fx_path(dir, "failed.index.rollback");
    char *marker = fx_path(dir, "checkpoint.rollback");
    char *text;
    al_diag_t d;
    size_t n;

    /* killed before the marker: the old files stay, the staged ones go */
    fx_write(failed, "old\n", 4);
    fx_write(index, "0 0 1\n", 6);
    fx_write(sfailed, "new\n", 4);
    fx_write(sindex, "0 9 2\n", 6);
    ck_assert_int_eq(al_ckpt_recover(ckpt, &(al_state_files_t){rej, failed, index, NULL, NULL}, &d),
                     AL_ERR_OK);
    text = fx_read(failed, &n);
    ck_assert_str_eq(text, "old\n");
    free(text);
    ck_assert_int_ne(access(sfailed, F_OK), 0);
    ck_assert_int_ne(access(sindex, F_OK), 0);

    /* killed after the marker and one rename: the other rename is done */
    fx_write(sindex, "0 9 2\n", 6);
    fx_write(failed, "new\n", 4); /* renamed already */
    fx_write(srej, "{}\n", 3);
    fx_write(marker, "rollback staged\n", 16);
    ck_assert_int_eq(al_ckpt_recover(ckpt, &(al_state_files_t){rej, failed, index, NULL, NULL}, &d),
                     AL_ERR_OK);
    text = fx_read(index, &n);
    ck_assert_str_eq(text, "0 9 2\n");
    free(text);
    text = fx_read(rej, &n);
    ck_assert_str_eq(text, "{}\n");
    free(text);
    ck_assert_int_ne(access(marker, F_OK), 0);
    ck_assert_int_ne(access(sindex, F_OK), 0);
    free(rej);
    free(failed);
    free(index);
    free(ckpt);
    free(srej);
    free(sfailed);
    free(sindex);
    free(marker);
}
END_TEST

/* Zip members: each has its own mark; their identity is the archive's,
 * so a changed archive is refused, naming the member. */
START_TEST(members_of_an_archive_share_its_identity)
{
    char *zip = fx_path(dir, "x.zip"), *n0 = NULL, *n1 = NULL;
    const char *names[2], *files[2];
    al_ckpt_t *ck;
    al_diag_t d;
    al_mark_t m[2], start[2] = {{0, 1, 0, 0}, {0, 1, 0, 0}};
    al_track_t *t;
    fx_member_t mem[2] = {{"a.ndjson", "x\ny\n", 4, 0, 0}, {"b.ndjson", "z\n", 2, 1, 0}};

    fx_write_zip(zip, mem, 2);
    if (asprintf(&n0, "%s:a.ndjson", zip) < 0 || asprintf(&n1, "%s:b.ndjson", zip) < 0)
        ck_abort();
    names[0] = n0;
    names[1] = n1;
    files[0] = files[1] = zip;
    ck_assert_int_eq(al_ckpt_new(&ck, ckpath, names, files, 2, NULL, start, &d), AL_ERR_OK);
    t = al_track_new(1, 2, 2);
    al_ckpt_track(ck, t);
    al_ckpt_input_done(ck, 0, 4, 3);
    al_track_resolve(t, 1);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    ck_assert_int_eq(al_ckpt_load(ckpath, names, files, 2, NULL, m, &d), AL_ERR_OK);
    ck_assert_int_eq(m[0].done, 1);
    ck_assert_uint_eq(m[1].offset, 2);
    ck_assert_uint_eq(m[1].line, 2);
    /* the archive rewritten with other content */
    mem[1].data = "w\n";
    fx_write_zip(zip, mem, 2);
    ck_assert_int_eq(al_ckpt_load(ckpath, names, files, 2, NULL, m, &d),
                     AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_str_eq(d.path, n0);
    ck_assert_ptr_nonnull(strstr(d.detail, "changed since the checkpoint"));
    free(n0);
    free(n1);
    free(zip);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, the_mark_stops_at_the_first_unresolved_chunk);
    tcase_add_test(tc, saves_and_loads_the_marks);
    tcase_add_test(tc, a_missing_checkpoint_is_not_an_error_and_a_torn_temp_file_is_ignored);
    tcase_add_test(tc, a_changed_input_or_another_input_list_is_refused);
    tcase_add_test(tc, members_of_an_archive_share_its_identity);
    tcase_add_test(tc, a_checkpoint_belongs_to_its_shard);
    tcase_add_test(tc, rollback_keeps_only_records_below_the_marks);
    tcase_add_test(tc, recover_finishes_a_committed_rollback_and_drops_an_uncommitted_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(checkpoint_suite());
}
