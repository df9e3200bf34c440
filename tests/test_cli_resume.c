/* test_cli_resume.c - durability: kill -9, SIGINT, changed inputs, resumes.
 *
 * The loader is started as a child process against one ampload-mock that
 * outlives it (with latency and injected faults), killed at seeded random
 * moments, and started again with the same command until it finishes. The
 * mock's record (deduplicated by insert_id, as Amplitude does) must then
 * hold every valid input event exactly once, and the reject file every
 * invalid line exactly once. AMPLOAD_RESUME_EVENTS sets the input size
 * (default 1,000,000; the sanitizer builds use fewer). */
#include "fixtures.h"
#include "judge.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static const char *bin;

static void setup(void)
{
    dir = fx_tempdir();
    bin = getenv("AMPLOAD_BIN");
    ck_assert_msg(bin != NULL, "run through ctest (AMPLOAD_BIN)");
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

/* Starts ampload on input with its state in dir/state. */
static pid_t start_loader(int port, const char *input, const char *extra)
{
    char url[64], *state = fx_path(dir, "state"), *report = fx_path(dir, "report.json");
    char *err = fx_path(dir, "stderr.txt");
    const char *argv[32];
    char *extra_copy = extra ? strdup(extra) : NULL;
    int n = 0;
    pid_t pid;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/batch", port);
    argv[n++] = bin;
    argv[n++] = "--endpoint";
    argv[n++] = url;
    argv[n++] = "--state";
    argv[n++] = state;
    argv[n++] = "--report";
    argv[n++] = report;
    for (char *tok = extra_copy ? strtok(extra_copy, " ") : NULL; tok != NULL && n < 28;
         tok = strtok(NULL, " "))
        argv[n++] = tok;
    argv[n++] = input;
    argv[n] = NULL;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *e = freopen(err, "a", stderr);
        (void)e;
        setenv("AMPLITUDE_API_KEY", "testkey", 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    free(extra_copy);
    free(state);
    free(report);
    free(err);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *report(void)
{
    char *p = fx_path(dir, "report.json");
    json_error_t err;
    json_t *r = json_load_file(p, 0, &err);
    ck_assert_msg(r != NULL, "report: %s", err.text);
    free(p);
    return r;
}

static char *stderr_text(void)
{
    char *p = fx_path(dir, "stderr.txt");
    size_t n;
    char *t = fx_read(p, &n);
    free(p);
    return t != NULL ? t : strdup("");
}

static long num(json_t *j, const char *key)
{
    return (long)json_integer_value(json_object_get(j, key));
}

/* @return 1 while pid runs; else reaps it into *rc. */
static int running(pid_t pid, int *rc)
{
    int st;
    if (waitpid(pid, &st, WNOHANG) == 0)
        return 1;
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* @return the mark of the single input in dir/state/checkpoint (0 if none). */
static long checkpoint_offset(void)
{
    char *p = fx_path(dir, "state/checkpoint");
    json_error_t err;
    json_t *c = json_load_file(p, 0, &err);
    long off = (long)json_integer_value(
        json_object_get(json_array_get(json_object_get(c, "inputs"), 0), "offset"));
    json_decref(c);
    free(p);
    return off;
}

/* The run ended with everything resolved: the counts add up over all runs. */
static void assert_complete(const verdicts_t *v, const char *record, const char *state_rejects)
{
    hashes_t got;
    judge_record(record, &got);
    judge_assert_same((hashes_t *)&v->valid, &got, "recorded");
    judge_assert_rejects(state_rejects, v);
    hashes_free(&got);
}

START_TEST(kill_9_at_random_points_loses_and_duplicates_nothing)
{
    const char *env = getenv("AMPLOAD_RESUME_EVENTS");
    unsigned long events = env != NULL ? strtoul(env, NULL, 10) : 1000000;
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    char *rejects = fx_path(dir, "state/rejected.ndjson");
    const char *args[] = {"--record",    rec,    "--latency-ms", "5", "--fail-rate", "0.05",
                          "--drop-rate", "0.01", "--seed",       "7", NULL};
    verdicts_t v;
    json_t *r;
    int port, mock, rc = -1, kills = 0;
    char *err, opts[160];

    fx_generate(in, events, 31, "--bad-rate 0.001 --blank-rate 0.001");
    judge_input(in, &v);
    mock = fx_mock_start(args, &port);
    srand(4242);
    /* paced so that a whole load takes about 6 s: every kill lands mid-run */
    snprintf(opts, sizeof(opts), "-q --batch-events 1000 --chunk-bytes 1048576 --rate %lu",
             events / 6 > 2000 ? events / 6 : 2000);
    for (int round = 0; round < 12; round++) {
        pid_t pid = start_loader(port, in, opts);
        if (round < 4) {
            /* seeded random moments, from start-up to mid-run */
            sleep_ms(300 + rand() % 2500);
            if (running(pid, &rc)) {
                kill(pid, SIGKILL);
                rc = wait_exit(pid);
                kills++;
            }
            continue;
        }
        if (round == 4) {
            /* and once right after the checkpoint has moved on */
            long before = checkpoint_offset();
            for (int i = 0; i < 1200 && checkpoint_offset() <= before && running(pid, &rc); i++)
                sleep_ms(100);
            if (running(pid, &rc)) {
                kill(pid, SIGKILL);
                rc = wait_exit(pid);
                kills++;
            }
            continue;
        }
        rc = wait_exit(pid);
        if (rc == 0)
            break;
    }
    fx_mock_stop(mock);
    err = stderr_text();
    ck_assert_msg(rc == 0, "last run exit %d: %s", rc, err);
    ck_assert_msg(kills == 5, "only %d runs were killed mid-way", kills);
    assert_complete(&v, rec, rejects);
    r = report();
    ck_assert_int_eq(num(r, "lines_read"), v.lines);
    ck_assert_int_eq(num(r, "lines_read"), num(r, "events_sent") + num(r, "rejected_local") +
                                               num(r, "rejected_server") + num(r, "failed") +
                                               num(r, "skipped"));
    ck_assert(json_is_true(json_object_get(r, "resumed")));
    /* the checkpoint moved: the last run skipped lines resolved by earlier ones */
    ck_assert_int_gt(num(r, "skipped"), v.blank);
    json_decref(r);
    free(err);
    judge_free(&v);
    free(in);
    free(rec);
    free(rejects);
}
END_TEST

START_TEST(sigint_drains_saves_the_checkpoint_and_the_same_command_resumes)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    char *rejects = fx_path(dir, "state/rejected.ndjson");
    char *ckpt = fx_path(dir, "state/checkpoint"), *tmp = fx_path(dir, "state/checkpoint.tmp");
    const char *args[] = {"--record", rec, "--latency-ms", "100", NULL};
    verdicts_t v;
    json_t *r;
    int port, mock, rc;
    pid_t pid;
    struct timespec t0, t1;
    char *err;

    fx_generate(in, 60000, 32, "--bad-rate 0.01");
    judge_input(in, &v);
    mock = fx_mock_start(args, &port);
    pid = start_loader(port, in, "--batch-events 500 --concurrency 4");
    sleep_ms(1500);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, SIGINT);
    rc = wait_exit(pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    err = stderr_text();
    ck_assert_msg(rc == 6, "exit %d (want 6): %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "finishing the requests in flight"));
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 10, "drain took too long");
    r = report();
    ck_assert(json_is_true(json_object_get(r, "interrupted")));
    ck_assert_int_lt(num(r, "events_sent"), (long)v.valid.n);
    json_decref(r);
    ck_assert_int_eq(access(ckpt, F_OK), 0);
    /* a checkpoint save cut short by a crash leaves a torn temp file: ignored */
    fx_write(tmp, "{\"version\":1,\"in", 16);
    free(err);

    pid = start_loader(port, in, "--batch-events 500 --concurrency 4");
    rc = wait_exit(pid);
    fx_mock_stop(mock);
    err = stderr_text();
    ck_assert_msg(rc == 0, "resume exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "resuming from"));
    assert_complete(&v, rec, rejects);
    free(err);
    judge_free(&v);
    free(in);
    free(rec);
    free(rejects);
    free(ckpt);
    free(tmp);
}
END_TEST

START_TEST(a_second_signal_exits_at_once_leaving_a_valid_checkpoint)
{
    char *in = fx_path(dir, "in.ndjson");
    const char *args[] = {"--latency-ms", "8000", NULL};
    struct timespec t0, t1;
    int port, mock, rc;
    long ms;
    pid_t pid;
    char *err;

    fx_generate(in, 20000, 36, NULL);
    mock = fx_mock_start(args, &port);
    pid = start_loader(port, in, "--batch-events 500 --concurrency 2");
    sleep_ms(1500); /* requests are in flight, each answered after 8 s */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, SIGTERM);
    sleep_ms(200);
    kill(pid, SIGTERM);
    rc = wait_exit(pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    err = stderr_text();
    ck_assert_msg(rc == 6, "exit %d (want 6): %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "stopped at once"));
    /* a drain would wait for the answers, 8 s after the requests went out;
     * the bound leaves room for slow sanitizer builds on a busy machine */
    ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_msg(ms < 4000, "the second signal did not stop it at once (%ld ms)", ms);
    free(err);
    fx_mock_stop(mock);
    /* the checkpoint on disk is whole, and the same command finishes the job */
    mock = fx_mock_start(NULL, &port);
    rc = wait_exit(start_loader(port, in, "-q --batch-events 2000 --concurrency 8"));
    fx_mock_stop(mock);
    ck_assert_int_eq(rc, 0);
    free(in);
}
END_TEST

START_TEST(a_changed_input_is_refused_until_restart)
{
    char *in = fx_path(dir, "in.ndjson");
    int port, mock, rc;
    char *err;
    FILE *fp;

    fx_generate(in, 2000, 33, NULL);
    mock = fx_mock_start(NULL, &port);
    rc = wait_exit(start_loader(port, in, "-q"));
    ck_assert_int_eq(rc, 0);
    /* the same command again: already done, nothing to send */
    rc = wait_exit(start_loader(port, in, NULL));
    ck_assert_int_eq(rc, 0);
    fp = fopen(in, "a");
    fputs("{\"event_type\":\"late\",\"user_id\":\"user_late_1\"}\n", fp);
    fclose(fp);
    rc = wait_exit(start_loader(port, in, "-q"));
    err = stderr_text();
    ck_assert_msg(rc == 2, "exit %d (want 2): %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "changed since the checkpoint"));
    ck_assert_ptr_nonnull(strstr(err, "--restart"));
    free(err);
    rc = wait_exit(start_loader(port, in, "-q --restart"));
    fx_mock_stop(mock);
    ck_assert_int_eq(rc, 0);
    free(in);
}
END_TEST

/* How a compressed input holds the judged text: one input, or the zip
 * members named names[k] starting after base[k] lines. */
typedef struct {
    int parts; /* 0: one input */
    char *names[4];
    uint64_t base[4];
} layout_t;

/* Writes text as a compressed input. */
typedef void (*compress_fn)(const char *path, const char *text, size_t n, layout_t *l);

static void write_zstd(const char *path, const char *text, size_t n, layout_t *l)
{
    (void)l;
    fx_write_zstd(path, text, n, 4 << 20);
}

static void write_gzip(const char *path, const char *text, size_t n, layout_t *l)
{
    (void)l;
    fx_write_gzip(path, text, n, 4 << 20, 0);
}

static void write_export_zip(const char *path, const char *text, size_t n, layout_t *l)
{
    l->parts = 3;
    fx_write_export_zip(path, text, n, l->parts, l->names, l->base);
}

/* A compressed input killed mid-load resumes (decompressed from the start,
 * skipped to its mark) and ends with every line accounted for once. */
static void compressed_input_resumes(const char *name, compress_fn write_input)
{
    char *plain = fx_path(dir, "plain.ndjson"), *in = fx_path(dir, name);
    char *rec = fx_path(dir, "rec.ndjson"), *rejects = fx_path(dir, "state/rejected.ndjson");
    const char *args[] = {"--record", rec, "--latency-ms", "20", NULL};
    layout_t l = {0};
    verdicts_t v;
    size_t n;
    char *text, *err;
    int port, mock, rc;
    pid_t pid;

    fx_generate(plain, 80000, 34, "--bad-rate 0.002");
    judge_input(plain, &v);
    text = fx_read(plain, &n);
    write_input(in, text, n, &l);
    free(text);
    mock = fx_mock_start(args, &port);
    pid = start_loader(port, in, "-q --batch-events 500 --concurrency 2 --chunk-bytes 1048576");
    sleep_ms(1500);
    kill(pid, SIGKILL);
    wait_exit(pid);
    rc = wait_exit(start_loader(port, in, "--batch-events 500"));
    fx_mock_stop(mock);
    err = stderr_text();
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "resuming from"));
    if (l.parts == 0) {
        assert_complete(&v, rec, rejects);
    } else {
        hashes_t got;
        judge_record(rec, &got);
        judge_assert_same(&v.valid, &got, "recorded");
        judge_assert_rejects_in(rejects, &v, (const char *const *)l.names, l.base, (size_t)l.parts);
        hashes_free(&got);
    }
    for (int k = 0; k < l.parts; k++)
        free(l.names[k]);
    free(err);
    judge_free(&v);
    free(plain);
    free(in);
    free(rec);
    free(rejects);
}

START_TEST(a_zstd_input_resumes_after_kill_9)
{
    compressed_input_resumes("in.zst", write_zstd);
}
END_TEST

START_TEST(a_gzip_input_resumes_after_kill_9)
{
    compressed_input_resumes("in.gz", write_gzip);
}
END_TEST

/* Amplitude's export layout: gzip inside zip members; killed inside one. */
START_TEST(a_zip_export_resumes_after_kill_9)
{
    compressed_input_resumes("export.zip", write_export_zip);
}
END_TEST

/* insert_id of each recorded event, keyed by its canonical text. */
static json_t *ids_by_event(const char *record)
{
    json_t *map = json_object();
    size_t n;
    char *text = fx_read(record, &n), *p;
    for (p = text; p != NULL && p < text + n; p = strchr(p, '\n') + 1) {
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, &err);
        char *key;
        json_t *id = json_incref(json_object_get(j, "insert_id"));
        json_object_del(j, "insert_id");
        key = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(map, key, id);
        free(key);
        json_decref(j);
    }
    free(text);
    return map;
}

START_TEST(insert_ids_do_not_depend_on_threads_chunks_or_batches)
{
    char *in = fx_path(dir, "in.ndjson"), *rec1 = fx_path(dir, "r1.ndjson");
    char *rec2 = fx_path(dir, "r2.ndjson");
    const char *a1[] = {"--record", rec1, NULL}, *a2[] = {"--record", rec2, NULL};
    json_t *m1, *m2;
    const char *k;
    json_t *v;
    int port, mock;

    fx_generate(in, 20000, 35, "--insert-id-rate 0");
    mock = fx_mock_start(a1, &port);
    ck_assert_int_eq(wait_exit(start_loader(port, in, "-q --threads 1 --batch-events 137")), 0);
    fx_mock_stop(mock);
    mock = fx_mock_start(a2, &port);
    ck_assert_int_eq(
        wait_exit(start_loader(port, in, "-q --restart --threads 3 --chunk-bytes 65536")), 0);
    fx_mock_stop(mock);
    m1 = ids_by_event(rec1);
    m2 = ids_by_event(rec2);
    ck_assert_uint_eq(json_object_size(m1), 20000);
    ck_assert_uint_eq(json_object_size(m2), 20000);
    json_object_foreach(m1, k, v)
        ck_assert_msg(json_equal(v, json_object_get(m2, k)), "insert_id differs for %s", k);
    json_decref(m1);
    json_decref(m2);
    free(in);
    free(rec1);
    free(rec2);
}
END_TEST

static Suite *resume_suite(void)
{
    Suite *s = suite_create("cli_resume");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kill_9_at_random_points_loses_and_duplicates_nothing);
    tcase_add_test(tc, sigint_drains_saves_the_checkpoint_and_the_same_command_resumes);
    tcase_add_test(tc, a_second_signal_exits_at_once_leaving_a_valid_checkpoint);
    tcase_add_test(tc, a_changed_input_is_refused_until_restart);
    tcase_add_test(tc, a_zstd_input_resumes_after_kill_9);
    tcase_add_test(tc, a_gzip_input_resumes_after_kill_9);
    tcase_add_test(tc, a_zip_export_resumes_after_kill_9);
    tcase_add_test(tc, insert_ids_do_not_depend_on_threads_chunks_or_batches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(resume_suite());
}
