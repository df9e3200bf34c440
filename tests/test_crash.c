/* test_crash.c - kills at exact steps: every rename, fsync and unlink of a
 * resuming run (the rollback of the reject and failed files, the checkpoint
 * saves, the end of the run), and a campaign of random kills.
 *
 * The loader runs with tests/crash/killshim.so preloaded, which raises
 * SIGKILL just before the Nth rename/fsync/unlink under the state
 * directory. After each kill the same command runs again until it ends, and
 * every output file is checked line by line against an independent judge
 * (jansson):
 *   - each valid input event is acknowledged (in the mock's record, by
 *     insert_id) or in the failed file; the failed file holds none twice;
 *   - the reject file holds each invalid line exactly once;
 *   - the failed file and its index pair up, and the last run's exit code
 *     and report count every event of the failed file (failed_total).
 * The mock answers 20 % of requests 503 and the loader has no retry budget,
 * so every run leaves events in the failed file for the rollback to sort.
 *
 * AMPLOAD_TORTURE_KILLS sets the random campaign's kill count (default 6;
 * tests/crash/torture.sh runs it alone with more, 20 by default), and
 * AMPLOAD_TORTURE_SEED its seed.
 */
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
static const char *bin, *shim;

static void setup(void)
{
    dir = fx_tempdir();
    bin = getenv("AMPLOAD_BIN");
    shim = getenv("AMPLOAD_KILLSHIM");
    ck_assert_msg(bin != NULL && shim != NULL, "run through ctest (AMPLOAD_BIN, AMPLOAD_KILLSHIM)");
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* How a run is to be stopped: at the nth state-file step (kill_step > 0),
 * after kill_ms milliseconds (> 0), or not at all. */
typedef struct {
    long kill_step;
    long kill_ms;
    const char *log; /* AMPLOAD_KILL_LOG, or NULL */
    const char *at;  /* AMPLOAD_KILL_AT instead of every step in the state */
} stop_t;

/* Runs the loader on input into the mock at port with its state in state.
 * @return the exit code, or 128 + signal. */
static int run_loader(int port, const char *input, const char *state, const stop_t *stop)
{
    char url[64], step[32], *report = fx_path(dir, "report.json");
    char *err = fx_path(dir, "stderr.txt"), at[600];
    const char *argv[] = {bin,
                          "-q",
                          "--endpoint",
                          url,
                          "--state",
                          state,
                          "--report",
                          report,
                          "--retry-time",
                          "0",
                          "--batch-events",
                          "250",
                          "--chunk-bytes",
                          "65536",
                          "--concurrency",
                          "4",
                          input,
                          NULL};
    pid_t pid;
    int st;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/batch", port);
    snprintf(step, sizeof(step), "%ld", stop->kill_step);
    if (stop->at != NULL)
        snprintf(at, sizeof(at), "%s", stop->at);
    else
        snprintf(at, sizeof(at), "any:%s", state);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *e = freopen(err, "a", stderr);
        (void)e;
        setenv("AMPLITUDE_API_KEY", "testkey", 1);
        setenv("LD_PRELOAD", shim, 1);
        /* the sanitizer runtimes would refuse a library loaded before them */
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
        if (stop->kill_step > 0) {
            setenv("AMPLOAD_KILL_AT", at, 1);
            setenv("AMPLOAD_KILL_NTH", step, 1);
        }
        if (stop->log != NULL)
            setenv("AMPLOAD_KILL_LOG", stop->log, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (stop->kill_ms > 0) {
        for (long t = 0; t < stop->kill_ms; t += 5) {
            if (waitpid(pid, &st, WNOHANG) == pid)
                goto done;
            sleep_ms(5);
        }
        kill(pid, SIGKILL);
    }
    waitpid(pid, &st, 0);
done:
    free(report);
    free(err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the judge of every output file ------------------------------------- */

typedef struct {
    hashes_t h;
} bag_t;

static void push(hashes_t *h, uint64_t x)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        ck_assert_ptr_nonnull(h->v);
    }
    h->v[h->n++] = x;
}

static void bag_line(void *ctx, const char *line, size_t len)
{
    json_error_t e;
    json_t *ev = json_loadb(line, len, JSON_ALLOW_NUL, &e);
    ck_assert_msg(ev != NULL, "not JSON: %.*s", (int)len, line);
    push(&((bag_t *)ctx)->h, judge_canonical(ev));
    json_decref(ev);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int has(const hashes_t *h, uint64_t x)
{
    return bsearch(&x, h->v, h->n, sizeof(*h->v), cmp_u64) != NULL;
}

/* Checks every output file after the last run (see the top comment). */
static void assert_accounted(const verdicts_t *v, const char *records, int rc, const char *state)
{
    char path[1024];
    bag_t acked = {0}, failed = {0};
    hashes_t want = v->valid;
    long missing = 0, lines_failed = 0, lines_index = 0;
    json_t *rep;
    json_error_t e;
    char *rp;

    fx_each_line(records, bag_line, &acked);
    snprintf(path, sizeof(path), "%s/failed.ndjson", state);
    if (access(path, F_OK) == 0)
        fx_each_line(path, bag_line, &failed);
    lines_failed = (long)failed.h.n;
    snprintf(path, sizeof(path), "%s/failed.index", state);
    if (access(path, F_OK) == 0) {
        size_t n;
        char *t = fx_read(path, &n);
        for (size_t i = 0; i < n; i++)
            lines_index += t[i] == '\n';
        free(t);
    }
    ck_assert_msg(lines_index == lines_failed, "failed file %ld lines, its index %ld", lines_failed,
                  lines_index);
    qsort(acked.h.v, acked.h.n, sizeof(uint64_t), cmp_u64);
    qsort(failed.h.v, failed.h.n, sizeof(uint64_t), cmp_u64);
    for (size_t i = 1; i < failed.h.n; i++)
        ck_assert_msg(failed.h.v[i] != failed.h.v[i - 1], "an event is in the failed file twice");
    for (size_t i = 0; i < want.n; i++)
        missing += !has(&acked.h, want.v[i]) && !has(&failed.h, want.v[i]);
    ck_assert_msg(missing == 0, "%ld valid events neither acknowledged nor failed", missing);
    snprintf(path, sizeof(path), "%s/rejected.ndjson", state);
    judge_assert_rejects(path, v);
    /* the end of the story is told right: exit 5 and the total */
    ck_assert_msg(rc == (lines_failed > 0 ? 5 : 0), "last run exit %d with %ld failed events", rc,
                  lines_failed);
    rp = fx_path(dir, "report.json");
    rep = json_load_file(rp, 0, &e);
    ck_assert_msg(rep != NULL, "report: %s", e.text);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "failed_total")), lines_failed);
    json_decref(rep);
    free(rp);
    hashes_free(&acked.h);
    hashes_free(&failed.h);
}

/* Runs the same command until it ends (exit 0 or 5). @return that code. */
static int run_to_the_end(int port, const char *in, const char *state)
{
    stop_t none = {0, 0, NULL, NULL};
    int rc = -1;
    for (int i = 0; i < 6; i++) {
        rc = run_loader(port, in, state, &none);
        if (rc == 0 || rc == 5)
            break;
    }
    return rc;
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[2200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ck_assert_int_eq(system(cmd), 0);
}

static void concat(const char *a, const char *b, const char *out)
{
    char cmd[3300];
    snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s'", a, b, out);
    ck_assert_int_eq(system(cmd), 0);
}

static long count_steps(const char *log)
{
    size_t n;
    char *t = fx_read(log, &n);
    long steps = 0;
    for (size_t i = 0; t != NULL && i < n; i++)
        steps += t[i] == '\n';
    free(t);
    return steps;
}

/* A run killed mid-way leaves a checkpoint and records on both sides of its
 * mark; the next run rolls back, then saves. Kill that run before each of
 * its first state-file steps in turn and finish with the same command. */
START_TEST(a_kill_before_any_rollback_or_checkpoint_step_loses_nothing)
{
    char *in = fx_path(dir, "in.ndjson"), *pre = fx_path(dir, "pre");
    char *state = fx_path(dir, "state"), *rec0 = fx_path(dir, "rec0.ndjson");
    char *rec = fx_path(dir, "rec.ndjson"), *all = fx_path(dir, "all.ndjson");
    char *log = fx_path(dir, "steps.log");
    const char *args[] = {"--record", rec0,           "--fail-rate", "0.2", "--fail-status",
                          "503",      "--latency-ms", "100",         NULL};
    const char *args2[] = {"--record", rec, "--fail-rate", "0.2", "--fail-status", "503", NULL};
    stop_t first = {0, 1500, NULL, NULL}, listing = {0, 0, log, NULL};
    verdicts_t v;
    long steps;
    int port, mock, rc;

    fx_generate(in, 30000, 77, "--bad-rate 0.01 --blank-rate 0.001");
    judge_input(in, &v);
    /* the state a crash leaves: checkpoint, rejects and failed events */
    mock = fx_mock_start(args, &port);
    rc = run_loader(port, in, pre, &first);
    fx_mock_stop(mock);
    ck_assert_msg(rc == 128 + SIGKILL, "the first run ended (%d) before it was killed", rc);
    {
        char p[1100];
        snprintf(p, sizeof(p), "%s/checkpoint", pre);
        ck_assert_msg(access(p, F_OK) == 0, "no checkpoint after 1.5 s");
    }
    /* the steps a resume takes, in order */
    copy_tree(pre, state);
    mock = fx_mock_start(args2, &port);
    rc = run_loader(port, in, state, &listing);
    fx_mock_stop(mock);
    steps = count_steps(log);
    ck_assert_msg(steps >= 10, "a resume took only %ld state-file steps", steps);
    if (steps > 24)
        steps = 24; /* the rollback, the first saves: the rest repeat them */
    for (long k = 1; k <= steps; k++) {
        stop_t at = {k, 0, NULL, NULL};
        copy_tree(pre, state);
        mock = fx_mock_start(args2, &port);
        rc = run_loader(port, in, state, &at);
        ck_assert_msg(rc == 128 + SIGKILL, "step %ld: not killed (exit %d)", k, rc);
        rc = run_to_the_end(port, in, state);
        fx_mock_stop(mock);
        concat(rec0, rec, all);
        assert_accounted(&v, all, rc, state);
    }
    judge_free(&v);
    free(in);
    free(pre);
    free(state);
    free(rec0);
    free(rec);
    free(all);
    free(log);
}
END_TEST

/* Random kills, by time and at random state-file steps (start-up,
 * rollback, checkpoint saves, the end of the run), each cycle finished by
 * the same command and then judged. */
START_TEST(a_campaign_of_random_kills_loses_nothing)
{
    const char *env = getenv("AMPLOAD_TORTURE_KILLS");
    long want = env != NULL ? atol(env) : 6, kills = 0, cycles = 0, by_mode[3] = {0, 0, 0};
    char *in = fx_path(dir, "in.ndjson"), *state = fx_path(dir, "state");
    char *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record",     rec,  "--fail-rate", "0.2", "--fail-status", "503",
                          "--latency-ms", "40", NULL};
    verdicts_t v;

    fx_generate(in, 20000, 5, "--bad-rate 0.01 --blank-rate 0.001");
    judge_input(in, &v);
    srand(getenv("AMPLOAD_TORTURE_SEED") != NULL ? (unsigned)atol(getenv("AMPLOAD_TORTURE_SEED"))
                                                 : 20261123u);
    while (kills < want) {
        int port, mock = fx_mock_start(args, &port), rc = -1;
        char cmd[1100];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
        ck_assert_int_eq(system(cmd), 0);
        for (int k = 0; k < 4 && kills < want; k++) {
            stop_t s = {0, 0, NULL, NULL};
            int mode = rand() % 4;
            switch (mode) {
            case 0: /* start-up, rollback, a checkpoint save */
            case 1:
                s.kill_step = 1 + rand() % 30;
                break;
            case 2: /* anywhere in time */
                s.kill_ms = 20 + rand() % 500;
                break;
            default: /* while the final report is written */
                s.kill_step = 1;
                s.at = "fsync:report.json";
                break;
            }
            rc = run_loader(port, in, state, &s);
            kills += rc == 128 + SIGKILL;
            by_mode[mode < 2 ? 0 : mode - 1] += rc == 128 + SIGKILL;
        }
        rc = run_to_the_end(port, in, state);
        fx_mock_stop(mock);
        assert_accounted(&v, rec, rc, state);
        cycles++;
    }
    fprintf(stderr,
            "crash campaign: %ld kills (%ld at a state-file step, %ld at a random time, %ld "
            "writing the report) in %ld cycles, every line accounted\n",
            kills, by_mode[0], by_mode[1], by_mode[2], cycles);
    judge_free(&v);
    free(in);
    free(state);
    free(rec);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *steps = tcase_create("steps"), *campaign = tcase_create("campaign");
    tcase_add_checked_fixture(steps, setup, teardown);
    tcase_add_checked_fixture(campaign, setup, teardown);
    tcase_add_test(steps, a_kill_before_any_rollback_or_checkpoint_step_loses_nothing);
    tcase_add_test(campaign, a_campaign_of_random_kills_loses_nothing);
    suite_add_tcase(s, steps);
    suite_add_tcase(s, campaign);
    return s;
}

int main(void)
{
    return fx_run_suite(crash_suite());
}
