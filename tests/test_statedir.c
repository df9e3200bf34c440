/* test_statedir.c - the state directory as one object: its layout, the
 * order in which a run takes it, and the resume decision. */
#include "fixtures.h"
#include "statedir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *input;
static const char *paths[1];
static al_state_t *st;
static al_resume_opts_t ro;

static void setup(void)
{
    al_diag_t d;
    dir = fx_tempdir();
    input = fx_path(dir, "in.ndjson");
    fx_write(input, "line one\nline two\nline three\n", 29);
    paths[0] = input;
    ro = (al_resume_opts_t){.names = paths, .n = 1};
    ck_assert_int_eq(al_state_new(dir, &st, &d), AL_ERR_OK);
}

static void teardown(void)
{
    al_state_free(st);
    fx_rmtree(dir);
    free(dir);
    free(input);
}

/* Writes a checkpoint of paths[0] at mark m, as a run would. */
static void checkpoint_at(al_mark_t m)
{
    al_ckpt_t *ck;
    al_diag_t d;
    ck_assert_int_eq(
        al_ckpt_new(&ck, al_state_path(st, AL_STATE_CHECKPOINT), paths, NULL, 1, NULL, &m, &d),
        AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
}

/* Reject records of lines 1, 2 and 3 of the input. */
static void three_rejects(void)
{
    char *text = NULL;
    if (asprintf(&text,
                 "{\"file\":\"%s\",\"line\":1,\"offset\":0,\"reason\":\"r\",\"raw\":\"a\"}\n"
                 "{\"file\":\"%s\",\"line\":2,\"offset\":9,\"reason\":\"r\",\"raw\":\"b\"}\n"
                 "{\"file\":\"%s\",\"line\":3,\"offset\":18,\"reason\":\"r\",\"raw\":\"c\"}\n",
                 input, input, input) < 0)
        ck_abort();
    fx_write(al_state_path(st, AL_STATE_REJECT), text, strlen(text));
    free(text);
}

static int lines_of(al_state_file_t f)
{
    size_t n;
    char *text = fx_read(al_state_path(st, f), &n);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    free(text);
    return lines;
}

/* Every file has its own name, under the directory, and a role; the kept
 * files are the ones the path checks use. */
START_TEST(every_file_is_named_once_under_the_directory)
{
    const char *kept[AL_STATE_KEPT], *roles[AL_STATE_KEPT];
    char want[4096];
    for (int f = 0; f < AL_STATE_NFILES; f++) {
        snprintf(want, sizeof(want), "%s/%s", dir, al_state_name(f));
        ck_assert_str_eq(al_state_path(st, f), want);
        ck_assert_int_gt(strlen(al_state_role(f)), 3);
        for (int g = 0; g < f; g++)
            ck_assert_str_ne(al_state_name(f), al_state_name(g));
    }
    ck_assert_str_eq(al_state_dir(st), dir);
    ck_assert_uint_eq(al_state_kept(st, kept, roles), AL_STATE_KEPT);
    ck_assert_str_eq(kept[AL_STATE_CHECKPOINT], al_state_path(st, AL_STATE_CHECKPOINT));
    ck_assert_str_eq(roles[AL_STATE_FAILED], "failed file");
}
END_TEST

/* One owner at a time; nothing is resumed before the lock is held. */
START_TEST(the_lock_comes_first_and_is_exclusive)
{
    al_state_t *other;
    al_diag_t d;
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_INVALID_ARG);
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_new(dir, &other, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_take(other, &d), AL_ERR_LOCKED);
    ck_assert_ptr_nonnull(strstr(d.detail, "held by pid"));
    ck_assert_int_eq(al_state_resume(other, &ro, NULL, &d), AL_ERR_INVALID_ARG);
    al_state_free(st);
    st = NULL;
    ck_assert_int_eq(al_state_take(other, &d), AL_ERR_OK); /* released with the object */
    st = other;
}
END_TEST

/* Taking the directory finishes a rollback a crash cut short after its
 * commit marker, before anything reads the files. */
START_TEST(taking_finishes_an_interrupted_rollback)
{
    char staged[4200], marker[4200];
    al_diag_t d;
    size_t n;
    char *text;
    fx_write(al_state_path(st, AL_STATE_FAILED), "old\n", 4);
    snprintf(staged, sizeof(staged), "%s.rollback", al_state_path(st, AL_STATE_FAILED));
    snprintf(marker, sizeof(marker), "%s.rollback", al_state_path(st, AL_STATE_CHECKPOINT));
    fx_write(staged, "new\n", 4);
    fx_write(marker, "rollback staged\n", 16);
    ck_assert_int_eq(al_state_lock(st, &d), AL_ERR_OK); /* the lock alone recovers nothing */
    text = fx_read(al_state_path(st, AL_STATE_FAILED), &n);
    ck_assert_str_eq(text, "old\n");
    free(text);
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    text = fx_read(al_state_path(st, AL_STATE_FAILED), &n);
    ck_assert_str_eq(text, "new\n");
    free(text);
    ck_assert_int_ne(access(marker, F_OK), 0);
}
END_TEST

START_TEST(without_a_checkpoint_the_run_starts_fresh)
{
    al_diag_t d;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(al_state_checkpointing(st));
    ck_assert(!al_state_resumed(st));
    ck_assert_ptr_null(al_state_marks(st));
    ck_assert_ptr_null(al_state_journal(st));
    ck_assert_uint_eq(al_state_lines_done(st), 0);
}
END_TEST

START_TEST(a_stream_keeps_no_checkpoint)
{
    al_diag_t d;
    checkpoint_at((al_mark_t){9, 2, 0, 0});
    ro.stream = 1;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(!al_state_checkpointing(st));
    ck_assert(!al_state_resumed(st));
    ck_assert_int_eq(access(al_state_path(st, AL_STATE_CHECKPOINT), F_OK), 0); /* left alone */
}
END_TEST

/* A checkpoint that fits: the marks, the lines done, and the reject file
 * cut back to the records below the mark. */
START_TEST(a_checkpoint_resumes_and_rolls_the_records_back)
{
    al_diag_t d;
    int in_ckpt = -1;
    checkpoint_at((al_mark_t){18, 3, 0, 0});
    three_rejects();
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, &in_ckpt, &d), AL_ERR_OK);
    ck_assert_int_eq(in_ckpt, 0);
    ck_assert(al_state_resumed(st));
    ck_assert(al_state_checkpointing(st));
    ck_assert_ptr_nonnull(al_state_marks(st));
    ck_assert_uint_eq(al_state_marks(st)[0].offset, 18);
    ck_assert_uint_eq(al_state_lines_done(st), 2);
    ck_assert_int_eq(lines_of(AL_STATE_REJECT), 2); /* line 3's record is past the mark */
}
END_TEST

/* A changed input: refused as the checkpoint's own error, and nothing is
 * rolled back. */
START_TEST(a_checkpoint_of_a_changed_input_is_refused_and_nothing_rolled_back)
{
    al_diag_t d;
    int in_ckpt = -1;
    checkpoint_at((al_mark_t){18, 3, 0, 0});
    three_rejects();
    fx_write(input, "line one\nline 2\n", 16);
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, &in_ckpt, &d), AL_ERR_CHECKPOINT_MISMATCH);
    ck_assert_int_eq(in_ckpt, 1);
    ck_assert(!al_state_resumed(st));
    ck_assert_int_eq(lines_of(AL_STATE_REJECT), 3);
}
END_TEST

/* --restart forgets the checkpoint and the journal. */
START_TEST(restart_removes_the_checkpoint_and_the_journal)
{
    al_diag_t d;
    checkpoint_at((al_mark_t){18, 3, 0, 0});
    fx_write(al_state_path(st, AL_STATE_JOURNAL), "x", 1);
    ro.restart = 1;
    ro.identify = 1;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(al_state_checkpointing(st));
    ck_assert(!al_state_resumed(st));
    ck_assert_int_ne(access(al_state_path(st, AL_STATE_CHECKPOINT), F_OK), 0);
    ck_assert_int_ne(access(al_state_path(st, AL_STATE_JOURNAL), F_OK), 0);
}
END_TEST

/* Writes a journal in which the identification at offset 9 of input 0 was
 * acknowledged. */
static void journal_acked_at_9(void)
{
    al_batch_opts_t bo;
    al_journal_t *j;
    al_batch_t *b;
    al_diag_t d;
    al_origin_t o = {.file_id = 0, .offset = 9, .line = 2};
    al_batch_opts_init(&bo);
    bo.form = 1;
    b = al_batch_new(&bo);
    ck_assert_int_eq(al_batch_add(b, "{\"user_id\":\"u1234\"}", 19, &o), AL_ERR_OK);
    ck_assert_int_eq(al_journal_open(&j, al_state_path(st, AL_STATE_JOURNAL), &d), AL_ERR_OK);
    al_journal_note(j, AL_JOURNAL_SENT, b);
    al_journal_note(j, AL_JOURNAL_ACKED, b);
    ck_assert_int_eq(al_journal_close(j, &d), AL_ERR_OK);
    al_batch_free(b);
}

/* identify reads the journal on a fresh start too: a run killed before
 * its first checkpoint may have had identifications acknowledged. */
START_TEST(identify_reads_the_journal_with_or_without_a_checkpoint)
{
    al_diag_t d;
    journal_acked_at_9();
    ro.identify = 1;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(!al_state_resumed(st));
    ck_assert_ptr_nonnull(al_state_journal(st));
    ck_assert_int_eq(al_jset_state(al_state_journal(st), 0, 9), AL_JOURNAL_ACKED);
}
END_TEST

START_TEST(identify_resumes_past_the_marks_with_the_journal)
{
    al_diag_t d;
    checkpoint_at((al_mark_t){9, 2, 0, 0});
    journal_acked_at_9();
    ro.identify = 1;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(al_state_resumed(st));
    ck_assert_int_eq(al_jset_state(al_state_journal(st), 0, 9), AL_JOURNAL_ACKED);
}
END_TEST

/* A damaged journal is a later step's error, not the checkpoint's. */
START_TEST(a_damaged_journal_is_refused_after_the_checkpoint)
{
    al_diag_t d;
    int in_ckpt = -1;
    checkpoint_at((al_mark_t){9, 2, 0, 0});
    fx_write(al_state_path(st, AL_STATE_JOURNAL), "not a journal at all, not even a header", 39);
    ro.identify = 1;
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, &in_ckpt, &d), AL_ERR_JOURNAL_CORRUPT);
    ck_assert_int_eq(in_ckpt, 0);
}
END_TEST

/* check's view: the marks, read without changing anything. */
START_TEST(reading_the_marks_changes_nothing)
{
    al_mark_t m;
    al_diag_t d;
    checkpoint_at((al_mark_t){18, 3, 0, 0});
    three_rejects();
    ck_assert_int_eq(al_state_read_marks(st, &ro, &m, &d), AL_ERR_OK);
    ck_assert_uint_eq(m.line, 3);
    ck_assert_int_eq(lines_of(AL_STATE_REJECT), 3);
    ck_assert_int_eq(al_state_lock(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_probe(st, &d), AL_ERR_OK);
    ck_assert_int_ne(access(al_state_path(st, AL_STATE_PROBE), F_OK), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("statedir");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_file_is_named_once_under_the_directory);
    tcase_add_test(tc, the_lock_comes_first_and_is_exclusive);
    tcase_add_test(tc, taking_finishes_an_interrupted_rollback);
    tcase_add_test(tc, without_a_checkpoint_the_run_starts_fresh);
    tcase_add_test(tc, a_stream_keeps_no_checkpoint);
    tcase_add_test(tc, a_checkpoint_resumes_and_rolls_the_records_back);
    tcase_add_test(tc, a_checkpoint_of_a_changed_input_is_refused_and_nothing_rolled_back);
    tcase_add_test(tc, restart_removes_the_checkpoint_and_the_journal);
    tcase_add_test(tc, identify_reads_the_journal_with_or_without_a_checkpoint);
    tcase_add_test(tc, identify_resumes_past_the_marks_with_the_journal);
    tcase_add_test(tc, a_damaged_journal_is_refused_after_the_checkpoint);
    tcase_add_test(tc, reading_the_marks_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(suite());
}
