/* test_cli_send.c - the real ampload against the real ampload-mock, over loopback.
 *
 * Each case starts a mock with its fault knobs, runs the loader on a known
 * input, and then checks three independent records of what happened: the
 * mock's --record file and /stats, the loader's --report, and the reject and
 * failed files. Expected verdicts come from event_check (jansson), and events
 * are compared as canonical JSON (sorted keys), never as loader output. */
#include "event_check.h"
#include "fixtures.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
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

/* ---- canonical event multisets ----------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} bag_t;

static void bag_add(bag_t *b, char *s)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->v = realloc(b->v, b->cap * sizeof(char *));
    }
    b->v[b->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Events compare as sorted-key JSON without insert_id: ampload adds one to
 * events that have none (checked on its own by assert_unique_insert_ids). */
static char *canonical(const char *line, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    char *s;
    ck_assert_msg(j != NULL, "not JSON: %.*s", (int)len, line);
    json_object_del(j, "insert_id");
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(j);
    return s;
}

/* canonical() with the insert_id kept. */
static char *canonical_with_id(const char *line, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    char *s;
    ck_assert_msg(j != NULL, "not JSON: %.*s", (int)len, line);
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(j);
    return s;
}

static void bag_free(bag_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i]);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

static void collect_insert_id(void *ctx, const char *line, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    const char *id = json_string_value(json_object_get(j, "insert_id"));
    ck_assert_msg(id != NULL, "recorded event without insert_id: %.*s", (int)len, line);
    bag_add(ctx, strdup(id));
    json_decref(j);
}

/* Every recorded event carries an insert_id, and no two the same. */
static void assert_unique_insert_ids(const char *record)
{
    bag_t ids = {0};
    fx_each_line(record, collect_insert_id, &ids);
    qsort(ids.v, ids.n, sizeof(char *), cmp_str);
    for (size_t i = 1; i < ids.n; i++)
        ck_assert_msg(strcmp(ids.v[i - 1], ids.v[i]) != 0, "insert_id %s twice", ids.v[i]);
    bag_free(&ids);
}

typedef struct {
    bag_t valid;
    long lines, invalid, blank;
    const char *only_type; /* when set, valid events of other types go to `other` */
    bag_t other;
} input_t;

static void judge_line(void *ctx, const char *line, size_t len)
{
    input_t *in = ctx;
    const char *why = mock_check_line(line, len, 5, 1024 * 1024);
    in->lines++;
    if (why == NULL) {
        char *c = canonical(line, len);
        if (in->only_type != NULL && strstr(c, in->only_type) != NULL)
            bag_add(&in->other, c);
        else
            bag_add(&in->valid, c);
    } else if (strcmp(why, "blank") == 0) {
        in->blank++;
    } else {
        in->invalid++;
    }
}

static void add_canonical(void *ctx, const char *line, size_t len)
{
    if (len > 0)
        bag_add(ctx, canonical(line, len));
}

/* The two bags hold the same events, each as often. */
static void assert_same_events(bag_t *want, bag_t *got, const char *what)
{
    qsort(want->v, want->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    ck_assert_msg(want->n == got->n, "%s: %zu events, expected %zu", what, got->n, want->n);
    for (size_t i = 0; i < want->n; i++)
        ck_assert_msg(strcmp(want->v[i], got->v[i]) == 0, "%s: event differs: %s", what, got->v[i]);
}

/* ---- running ------------------------------------------------------------ */

typedef struct {
    int rc;
    json_t *report;
    char *state;
    char *err_text;
} run_t;

/* Runs ampload with key "testkey" against the mock port and the extra args. */
static void run_loader(run_t *r, int port, const char *path, const char *extra,
                       const char *path_suffix)
{
    char *cmd = NULL, *report, *errf;
    json_error_t err;
    size_t n;
    int st;
    r->state = fx_path(dir, "state");
    report = fx_path(dir, "report.json");
    errf = fx_path(dir, "stderr.txt");
    if (asprintf(&cmd,
                 "AMPLITUDE_API_KEY=testkey '%s' --endpoint http://127.0.0.1:%d%s --state '%s' "
                 "--report '%s' -q %s '%s' 2>'%s'",
                 bin, port, path_suffix ? path_suffix : "/batch", r->state, report,
                 extra ? extra : "", path, errf) < 0)
        ck_abort();
    st = system(cmd);
    r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->report = json_load_file(report, 0, &err);
    r->err_text = fx_read(errf, &n);
    free(cmd);
    free(report);
    free(errf);
}

/* Starts ampload-mock with args, runs ampload against it, and stops the mock.
 * @return the mock's /stats, taken after the run (the caller decrefs it). */
static json_t *run_against_mock(const char *const *args, run_t *r, const char *path,
                                const char *extra)
{
    int port, pid = fx_mock_start(args, &port);
    json_t *stats;
    run_loader(r, port, path, extra, NULL);
    stats = fx_mock_stats(port);
    fx_mock_stop(pid);
    return stats;
}

static void run_free(run_t *r)
{
    json_decref(r->report);
    free(r->state);
    free(r->err_text);
}

static long num(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ck_assert_msg(json_is_integer(v), "no integer %s", key);
    return (long)json_integer_value(v);
}

static void assert_accounting(json_t *r)
{
    ck_assert_int_eq(num(r, "lines_read"), num(r, "events_sent") + num(r, "rejected_local") +
                                               num(r, "rejected_server") + num(r, "failed") +
                                               num(r, "skipped"));
}

static long count_lines(const char *path)
{
    size_t n;
    long lines = 0;
    char *t = fx_read(path, &n);
    for (size_t i = 0; t != NULL && i < n; i++)
        lines += t[i] == '\n';
    free(t);
    return lines;
}

/* ---- cases -------------------------------------------------------------- */

START_TEST(delivers_every_valid_event_exactly_once)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record", rec, NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    json_t *stats;

    fx_generate(in, 20000, 21, "--bad-rate 0.02 --blank-rate 0.005");
    fx_each_line(in, judge_line, &want);
    stats = run_against_mock(args, &r, in, "--threads 2");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    assert_unique_insert_ids(rec);
    ck_assert_int_eq(num(r.report, "events_sent"), (long)want.valid.n);
    ck_assert_int_eq(num(r.report, "rejected_local"), want.invalid);
    ck_assert_int_eq(num(r.report, "skipped"), want.blank);
    ck_assert_int_eq(num(r.report, "failed"), 0);
    ck_assert_int_eq(num(r.report, "batches_sent"), num(stats, "requests"));
    ck_assert_int_eq(num(stats, "duplicates"), 0);
    assert_accounting(r.report);
    json_decref(stats);
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

START_TEST(survives_server_errors_and_dropped_connections)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record", rec,      "--fail-rate", "0.2", "--drop-rate",
                          "0.05",     "--seed", "5",           NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    json_t *stats;

    /* every event carries an insert_id, so a partly ingested batch that is
     * sent again is deduplicated, as Amplitude does */
    fx_generate(in, 15000, 22, "--bad-rate 0.01 --insert-id-rate 1");
    fx_each_line(in, judge_line, &want);
    stats = run_against_mock(args, &r, in, "--batch-events 250");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    ck_assert_int_eq(num(r.report, "events_sent"), (long)want.valid.n);
    ck_assert_int_eq(num(r.report, "failed"), 0);
    ck_assert_int_gt(num(r.report, "retries"), 5);
    ck_assert_int_gt(num(r.report, "http_5xx"), 5);
    ck_assert_int_gt(num(stats, "dropped"), 0);
    assert_accounting(r.report);
    json_decref(stats);
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

START_TEST(refused_events_go_to_the_reject_file_over_several_400_rounds)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    char *rej;
    const char *args[] = {"--record", rec, "--reject-event-type", "Login", "--first-invalid-only",
                          NULL};
    input_t want = {.only_type = "\"event_type\":\"Login\""};
    bag_t got = {0}, refused = {0};
    run_t r = {0};
    size_t n;
    char *text, *p;

    fx_generate(in, 3000, 23, NULL);
    fx_each_line(in, judge_line, &want);
    ck_assert_uint_gt(want.other.n, 100);
    json_decref(run_against_mock(args, &r, in, "--batch-events 300"));
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    ck_assert_int_eq(num(r.report, "rejected_server"), (long)want.other.n);
    /* the reject file holds exactly the refused events, with the server's reason */
    rej = fx_path(r.state, "rejected.ndjson");
    text = fx_read(rej, &n);
    ck_assert_ptr_nonnull(text);
    for (p = text; p < text + n; p = strchr(p, '\n') + 1) {
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, &err);
        const char *raw = json_string_value(json_object_get(j, "raw"));
        ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
                         "server: invalid event_type");
        ck_assert_int_gt(json_integer_value(json_object_get(j, "line")), 0);
        bag_add(&refused, canonical(raw, strlen(raw)));
        json_decref(j);
    }
    assert_same_events(&want.other, &refused, "refused");
    assert_accounting(r.report);
    free(text);
    free(rej);
    bag_free(&want.valid);
    bag_free(&want.other);
    bag_free(&got);
    bag_free(&refused);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

START_TEST(a_413_splits_batches_and_refuses_a_lone_oversized_event)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record", rec, "--max-body", "60000", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    json_t *stats;
    FILE *fp;

    fx_generate(in, 4000, 24, NULL);
    fp = fopen(in, "a");
    fputs("{\"event_type\":\"Huge\",\"user_id\":\"user_big_0001\",\"p\":\"", fp);
    for (int i = 0; i < 70000; i++)
        fputc('x', fp);
    fputs("\"}\n", fp);
    fclose(fp);
    fx_each_line(in, judge_line, &want);
    stats = run_against_mock(args, &r, in, NULL);
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    ck_assert_int_eq(num(r.report, "rejected_server"), 1);
    ck_assert_int_eq(num(r.report, "events_sent"), (long)want.valid.n - 1);
    ck_assert_int_eq((long)got.n, (long)want.valid.n - 1);
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(stats, "status"), "413")),
                     3);
    assert_accounting(r.report);
    json_decref(stats);
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

/* Writes n ordinary events plus `hot` events of one user, interleaved. */
static void write_hot_input(const char *path, int n, int hot, const char *hot_field)
{
    FILE *fp = fopen(path, "w");
    int step = (n + hot) / hot, placed = 0;
    for (int i = 0; i < n + hot; i++) {
        if (i % step == 0 && placed < hot) {
            fprintf(fp,
                    "{\"event_type\":\"Hot\",\"%s\":\"hot-id-000001\",\"insert_id\":\"hot-%d\","
                    "\"time\":%lld}\n",
                    hot_field, i, 1700000000000LL + i); /* milliseconds */
            placed++;
        } else {
            fprintf(fp,
                    "{\"event_type\":\"Cold\",\"user_id\":\"cold-user-%06d\",\"insert_id\":"
                    "\"cold-%d\"}\n",
                    i, i);
        }
    }
    fclose(fp);
}

START_TEST(throttled_ids_wait_while_the_others_flow)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record", rec, "--eps-per-id", "100", "--eps-window", "2", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    json_t *stats;

    write_hot_input(in, 3000, 600, "user_id");
    fx_each_line(in, judge_line, &want);
    stats = run_against_mock(args, &r, in, "--batch-events 500 --throttle-wait 1");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    ck_assert_int_gt(num(r.report, "http_429"), 0);
    ck_assert_int_gt(num(stats, "throttled"), 0);
    /* paused ids are held back: far fewer refusals than hot events */
    ck_assert_int_lt(num(r.report, "http_429"), 60);
    ck_assert_int_eq(num(r.report, "failed"), 0);
    assert_accounting(r.report);
    json_decref(stats);
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

START_TEST(events_over_the_daily_quota_go_to_the_failed_file)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson"), *failed;
    const char *args[] = {"--record", rec, "--daily-quota", "50", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    long hot_recorded = 0, failed_lines;

    write_hot_input(in, 1000, 200, "device_id");
    fx_each_line(in, judge_line, &want);
    json_decref(run_against_mock(args, &r, in, "--batch-events 40 --threads 1 --concurrency 1"));
    ck_assert_msg(r.rc == 5, "exit %d (want 5): %s", r.rc, r.err_text);
    ck_assert_ptr_nonnull(strstr(r.err_text, "could not be delivered"));
    fx_each_line(rec, add_canonical, &got);
    for (size_t i = 0; i < got.n; i++)
        hot_recorded += strstr(got.v[i], "hot-id-000001") != NULL;
    ck_assert_int_le(hot_recorded, 50);
    failed = fx_path(r.state, "failed.ndjson");
    failed_lines = count_lines(failed);
    ck_assert_int_eq(failed_lines, num(r.report, "failed"));
    ck_assert_int_eq(failed_lines + hot_recorded, 200);
    ck_assert_int_eq((long)got.n + failed_lines, (long)want.valid.n);
    assert_accounting(r.report);
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    free(failed);
    free(in);
    free(rec);
}
END_TEST

START_TEST(an_invalid_api_key_stops_the_run_without_hammering)
{
    char *in = fx_path(dir, "in.ndjson");
    const char *args[] = {"--api-key", "the-right-key", NULL};
    run_t r = {0};
    json_t *stats;

    fx_generate(in, 20000, 25, NULL);
    stats = run_against_mock(args, &r, in, "--batch-events 100");
    ck_assert_msg(r.rc == 4, "exit %d (want 4): %s", r.rc, r.err_text);
    ck_assert_ptr_nonnull(strstr(r.err_text, "Invalid API key"));
    ck_assert_ptr_null(strstr(r.err_text, "testkey")); /* the key itself is never shown */
    ck_assert_int_le(num(stats, "requests"), 70);      /* one window, not 200 batches */
    ck_assert_int_eq(num(r.report, "events_sent"), 0);
    /* nothing is resolved: no event in the failed file, for the same
     * command with the right key to send them all (tests/cli/safety.sh) */
    ck_assert_int_eq(num(r.report, "failed"), 0);
    ck_assert_int_eq(num(r.report, "failed_total"), 0);
    json_decref(stats);
    run_free(&r);
    free(in);
}
END_TEST

START_TEST(a_wrong_url_is_a_configuration_error_naming_url_and_status)
{
    char *in = fx_path(dir, "in.ndjson");
    run_t r = {0};
    int port, pid;

    fx_generate(in, 100, 26, NULL);
    pid = fx_mock_start(NULL, &port);
    run_loader(&r, port, in, NULL, "/nope");
    fx_mock_stop(pid);
    ck_assert_msg(r.rc == 4, "exit %d (want 4): %s", r.rc, r.err_text);
    ck_assert_ptr_nonnull(strstr(r.err_text, "/nope"));
    ck_assert_ptr_nonnull(strstr(r.err_text, "HTTP 404"));
    run_free(&r);
    free(in);
}
END_TEST

/* A server that answers every request with 503: it is there, so this is a
 * fault to retry, not a configuration error - the events go to the failed
 * file when the budget is spent. (One that never answers at all is a
 * configuration error: tests/cli/safety.sh.) */
START_TEST(a_dead_server_fails_events_after_the_retry_budget_and_they_can_be_sent_again)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson"), *failed;
    const char *args[] = {"--record", rec, NULL};
    const char *dead_args[] = {"--fail-rate", "1", "--fail-status", "503", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0}, r2 = {0};
    int dead_port, dead_pid, port, pid;

    fx_generate(in, 3000, 27, "--bad-rate 0.01 --insert-id-rate 1");
    fx_each_line(in, judge_line, &want);
    dead_pid = fx_mock_start(dead_args, &dead_port);
    run_loader(&r, dead_port, in, "--retry-time 2 --batch-events 1000", NULL);
    fx_mock_stop(dead_pid);
    ck_assert_msg(r.rc == 5, "exit %d (want 5): %s", r.rc, r.err_text);
    ck_assert_int_eq(num(r.report, "failed"), (long)want.valid.n);
    ck_assert_int_gt(num(r.report, "retries"), 0);
    assert_accounting(r.report);
    failed = fx_path(r.state, "failed.ndjson");
    ck_assert_int_eq(count_lines(failed), (long)want.valid.n);

    /* re-drive: the failed file is itself an input */
    pid = fx_mock_start(args, &port);
    {
        char *copy = fx_path(dir, "failed-copy.ndjson");
        size_t n;
        char *t = fx_read(failed, &n);
        fx_write(copy, t, n);
        free(t);
        char *state2 = fx_path(dir, "state2"), *extra = NULL;
        if (asprintf(&extra, "--state '%s'", state2) < 0)
            ck_abort();
        run_loader(&r2, port, copy, extra, NULL);
        free(extra);
        free(state2);
        free(copy);
    }
    fx_mock_stop(pid);
    ck_assert_msg(r2.rc == 0, "exit %d: %s", r2.rc, r2.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "re-driven");
    bag_free(&want.valid);
    bag_free(&got);
    run_free(&r);
    run_free(&r2);
    free(failed);
    free(in);
    free(rec);
}
END_TEST

START_TEST(rate_limit_holds_the_events_per_second_ceiling)
{
    char *in = fx_path(dir, "in.ndjson");
    run_t r = {0};
    double el;

    fx_generate(in, 6000, 28, NULL);
    json_decref(run_against_mock(NULL, &r, in, "--rate 2000 --batch-events 500"));
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    el = json_real_value(json_object_get(r.report, "elapsed_s"));
    /* 6000 events at 2000/s with a 2000-event burst: at least 2 s */
    ck_assert_msg(el >= 1.9, "took %.2f s", el);
    ck_assert_int_eq(num(r.report, "events_sent"), 6000);
    run_free(&r);
    free(in);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
    char *in = fx_path(dir, "in.ndjson");
    const char *args[] = {"--fail-rate", "1", "--fail-status", "503", "--retry-after", "2", NULL};
    run_t r = {0};
    json_t *stats;

    /* every answer is 503 with Retry-After: 2; the budget is 3 s. Backoff
     * alone would try 6 to 8 times; honouring the header leaves room for 2. */
    fx_generate(in, 100, 29, NULL);
    stats = run_against_mock(args, &r, in, "--retry-time 3");
    ck_assert_msg(r.rc == 5, "exit %d (want 5): %s", r.rc, r.err_text);
    ck_assert_int_eq(num(stats, "requests"), 2);
    ck_assert_int_eq(num(r.report, "retries"), 1);
    ck_assert_int_eq(num(r.report, "failed"), 100);
    json_decref(stats);
    run_free(&r);
    free(in);
}
END_TEST

/* --shard-by device: every copy reads all, sends the events of its devices. */
START_TEST(shards_run_side_by_side_deliver_every_event_once)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record", rec, NULL};
    input_t want = {0};
    bag_t got = {0};
    long sent = 0, rejected = 0, reject_lines = 0;
    char *cmd = NULL, *state1 = NULL;
    int port, pid, st;
    json_t *stats;

    fx_generate(in, 20000, 29, "--bad-rate 0.02 --blank-rate 0.005");
    fx_each_line(in, judge_line, &want);
    pid = fx_mock_start(args, &port);
    /* three copies at once, each with its default state directory */
    if (asprintf(&cmd,
                 "cd '%s' && for i in 0 1 2; do (AMPLITUDE_API_KEY=testkey '%s' --endpoint "
                 "http://127.0.0.1:%d/batch --threads 2 --shard $i/3 --shard-by device --report "
                 "r$i.json -q "
                 "in.ndjson 2>err$i.txt; echo $? >rc$i) & done; wait",
                 dir, bin, port) < 0)
        ck_abort();
    st = system(cmd);
    ck_assert_int_eq(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
    stats = fx_mock_stats(port);
    fx_mock_stop(pid);
    for (int i = 0; i < 3; i++) {
        char name[32], shard[8], *p, *rc_text, *err_text, *rej = NULL;
        const char *state;
        json_t *r;
        json_error_t err;
        size_t n;
        snprintf(name, sizeof(name), "rc%d", i);
        p = fx_path(dir, name);
        rc_text = fx_read(p, &n);
        free(p);
        snprintf(name, sizeof(name), "err%d.txt", i);
        p = fx_path(dir, name);
        err_text = fx_read(p, &n);
        free(p);
        ck_assert_msg(rc_text != NULL && atoi(rc_text) == 0, "shard %d: exit %s: %s", i, rc_text,
                      err_text);
        free(rc_text);
        free(err_text);
        snprintf(name, sizeof(name), "r%d.json", i);
        p = fx_path(dir, name);
        r = json_load_file(p, 0, &err);
        free(p);
        ck_assert_ptr_nonnull(r);
        snprintf(shard, sizeof(shard), "%d/3", i);
        ck_assert_str_eq(json_string_value(json_object_get(r, "shard")), shard);
        assert_accounting(r);
        ck_assert_int_eq(num(r, "lines_read"), want.lines);
        ck_assert_int_eq(num(r, "skipped"), want.blank + num(r, "skipped_shard"));
        ck_assert_int_gt(num(r, "events_sent"), (long)want.valid.n / 4);
        sent += num(r, "events_sent");
        rejected += num(r, "rejected_local");
        /* each shard has a state directory of its own (relative: the default) */
        state = json_string_value(json_object_get(r, "state_dir"));
        snprintf(name, sizeof(name), "-shard-%d-of-3", i);
        ck_assert_ptr_nonnull(strstr(state, name));
        if (asprintf(&rej, "%s/%s/rejected.ndjson", dir, state) < 0)
            ck_abort();
        reject_lines += count_lines(rej);
        free(rej);
        if (i == 1)
            state1 = strdup(state);
        json_decref(r);
    }
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    assert_unique_insert_ids(rec);
    ck_assert_int_eq(num(stats, "duplicates"), 0);
    ck_assert_int_eq(sent, (long)want.valid.n);
    ck_assert_int_eq(rejected, want.invalid);
    ck_assert_int_eq(reject_lines, want.invalid); /* each bad line in one shard's file */
    /* a shard never resumes from another shard's checkpoint */
    free(cmd);
    if (asprintf(&cmd,
                 "cd '%s' && AMPLITUDE_API_KEY=testkey '%s' --endpoint http://127.0.0.1:1/batch "
                 "--shard 0/3 --shard-by device --state '%s' -q in.ndjson 2>mismatch.txt",
                 dir, bin, state1) < 0)
        ck_abort();
    st = system(cmd);
    ck_assert_int_eq(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2);
    {
        size_t n;
        char *p = fx_path(dir, "mismatch.txt"), *text = fx_read(p, &n);
        ck_assert_msg(
            strstr(text, "written by shard 1/3 by device, and this run is shard 0/3 by device") !=
                NULL,
            "%s", text);
        free(text);
        free(p);
    }
    free(state1);
    json_decref(stats);
    bag_free(&want.valid);
    bag_free(&got);
    free(cmd);
    free(in);
    free(rec);
}
END_TEST

/* ---- re-import of export rows ---------------------------------------------

   An implementation of the export mapping of its own, on jansson trees, as
   the API notes describe it: the judge of --from amplitude-export. */

static const char *const export_dropped[] = {"group_properties",
                                             "paying",
                                             "start_version",
                                             "amplitude_id",
                                             "app",
                                             "uuid",
                                             "$schema",
                                             "$insert_key",
                                             "server_received_time",
                                             "server_upload_time",
                                             "client_upload_time",
                                             "client_event_time",
                                             "processed_time",
                                             "user_creation_time",
                                             "amplitude_event_type",
                                             "amplitude_attribution_ids",
                                             "is_attribution_event",
                                             "library",
                                             "data",
                                             "data_type",
                                             "sample_rate",
                                             "device_type",
                                             "device_family",
                                             "global_user_properties",
                                             "source_id",
                                             "partner_id",
                                             "event_time",
                                             "$insert_id",
                                             "time"};

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" as UTC ms, with timegm. @return 1 or 0. */
static int judge_time(const char *t, long long *ms)
{
    struct tm tm;
    int y, mo, d, h, mi, se, n = 0, frac = 0, digits = 0;
    time_t secs;
    if (sscanf(t, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
        return 0;
    if (t[19] == '.')
        for (const char *p = t + 20; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
    while (digits++ < 3)
        frac *= 10;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    secs = timegm(&tm);
    *ms = (long long)secs * 1000 + frac;
    return 1;
}

/* @return the /batch event for an export row (caller frees), or NULL when
 * the mapping or Amplitude's rules refuse it. */
static char *judge_export_row(const char *line, size_t len)
{
    json_error_t err;
    json_t *row = json_loadb(line, len, 0, &err), *out, *v, *ins;
    const char *k, *srcs[] = {"event_time", "client_event_time", "server_received_time"};
    long long ms = 0;
    int have_time = 0;
    char *text, *c = NULL;
    if (!json_is_object(row)) {
        json_decref(row);
        return NULL;
    }
    out = json_object();
    json_object_foreach(row, k, v)
    {
        int drop = json_is_null(v);
        for (size_t i = 0; i < sizeof(export_dropped) / sizeof(export_dropped[0]); i++)
            drop |= strcmp(k, export_dropped[i]) == 0;
        if ((strcmp(k, "user_id") == 0 || strcmp(k, "device_id") == 0) && json_is_string(v) &&
            json_string_length(v) == 0)
            drop = 1;
        if (drop)
            continue;
        json_object_set(out,
                        strcmp(k, "ip_address") == 0       ? "ip"
                        : strcmp(k, "device_carrier") == 0 ? "carrier"
                        : strcmp(k, "version_name") == 0   ? "app_version"
                                                           : k,
                        v);
    }
    for (int i = 0; i < 3 && !have_time; i++) {
        json_t *t = json_object_get(row, srcs[i]);
        if (t == NULL || json_is_null(t))
            continue;
        if (!json_is_string(t) || !judge_time(json_string_value(t), &ms))
            goto out; /* a time that is not one: refused */
        have_time = 1;
    }
    if (!have_time)
        goto out;
    json_object_set_new(out, "time", json_integer(ms));
    ins = json_object_get(row, "$insert_id");
    if (ins == NULL || json_is_null(ins))
        ins = json_object_get(row, "uuid");
    if (ins != NULL && !json_is_null(ins))
        json_object_set(out, "insert_id", ins);
    text = json_dumps(out, JSON_COMPACT);
    if (mock_check_line(text, strlen(text), 5, 1024 * 1024) == NULL)
        c = canonical_with_id(text, strlen(text));
    free(text);
out:
    json_decref(out);
    json_decref(row);
    return c;
}

static void judge_export_line(void *ctx, const char *line, size_t len)
{
    input_t *in = ctx;
    char *c;
    in->lines++;
    if (mock_check_line(line, len, 5, 1024 * 1024) != NULL &&
        strcmp(mock_check_line(line, len, 5, 1024 * 1024), "blank") == 0) {
        in->blank++;
        return;
    }
    c = judge_export_row(line, len);
    if (c != NULL)
        bag_add(&in->valid, c);
    else
        in->invalid++;
}

static void add_canonical_with_id(void *ctx, const char *line, size_t len)
{
    if (len > 0)
        bag_add(ctx, canonical_with_id(line, len));
}

/* Export rows in Amplitude's layout (a zip of gzipped members), loaded with
 * --from amplitude-export through server errors: the mock records exactly
 * the judge's mapping of every row, insert_ids and times included, once. */
START_TEST(export_rows_arrive_mapped_once)
{
    char *in = fx_path(dir, "rows.ndjson"), *zip = fx_path(dir, "export.zip");
    char *rec = fx_path(dir, "rec.ndjson"), *names[3];
    const char *args[] = {"--record", rec, "--fail-rate", "0.05", "--seed", "6", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    uint64_t base[3];
    json_t *stats;
    size_t n;
    char *text;

    fx_generate(in, 6000, 33, "--export --bad-rate 0.02 --blank-rate 0.01");
    fx_each_line(in, judge_export_line, &want);
    text = fx_read(in, &n);
    fx_write_export_zip(zip, text, n, 3, names, base);
    stats = run_against_mock(args, &r, zip, "--from amplitude-export --batch-events 300");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical_with_id, &got);
    assert_same_events(&want.valid, &got, "recorded (mapped, with insert_ids)");
    ck_assert_int_eq(num(r.report, "rejected_local"), want.invalid);
    ck_assert_int_eq(num(r.report, "skipped"), want.blank);
    assert_accounting(r.report);
    json_decref(stats);
    run_free(&r);
    bag_free(&got);
    bag_free(&want.valid);
    for (int k = 0; k < 3; k++)
        free(names[k]);
    free(text);
    free(in);
    free(zip);
    free(rec);
}
END_TEST

/* Delivers a compressed copy of a generated input through a mock with 10 %
 * server errors: every valid event recorded once, the rest accounted for,
 * one report entry per input (`inputs` of them). */
static void compressed_input_delivered_once(const char *name, int zip, size_t inputs)
{
    char *in = fx_path(dir, "in.ndjson"), *packed = fx_path(dir, name);
    char *rec = fx_path(dir, "rec.ndjson"), *names[3] = {NULL, NULL, NULL};
    const char *args[] = {"--record", rec, "--fail-rate", "0.1", "--seed", "5", NULL};
    input_t want = {0};
    bag_t got = {0};
    run_t r = {0};
    uint64_t base[3];
    json_t *stats;
    size_t n;
    char *text;

    fx_generate(in, 6000, 32, "--bad-rate 0.01 --blank-rate 0.01");
    fx_each_line(in, judge_line, &want);
    text = fx_read(in, &n);
    if (zip)
        fx_write_export_zip(packed, text, n, 3, names, base);
    else
        fx_write_gzip(packed, text, n, 300000, 1);
    stats = run_against_mock(args, &r, packed, "--gzip --batch-events 400");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    assert_unique_insert_ids(rec);
    assert_accounting(r.report);
    ck_assert_int_eq(num(r.report, "lines_read"), want.lines);
    ck_assert_int_eq(num(r.report, "rejected_local"), want.invalid);
    ck_assert_int_gt(num(r.report, "retries"), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.report, "inputs")), inputs);
    json_decref(stats);
    run_free(&r);
    bag_free(&got);
    bag_free(&want.valid);
    for (int k = 0; k < 3; k++)
        free(names[k]);
    free(text);
    free(in);
    free(packed);
    free(rec);
}

START_TEST(a_gzip_input_is_delivered_once)
{
    compressed_input_delivered_once("in.ndjson.gz", 0, 1);
}
END_TEST

/* Amplitude's export layout: a zip of gzipped members. */
START_TEST(a_zip_export_is_delivered_once)
{
    compressed_input_delivered_once("export.zip", 1, 3);
}
END_TEST

START_TEST(gzip_bodies_arrive_whole_through_splits_resends_and_faults)
{
    char *in = fx_path(dir, "in.ndjson"), *rec = fx_path(dir, "rec.ndjson");
    const char *args[] = {"--record",    rec,          "--reject-event-type",
                          "Login",       "--max-body", "150000",
                          "--fail-rate", "0.1",        "--seed",
                          "4",           NULL};
    input_t want = {.only_type = "\"event_type\":\"Login\""};
    bag_t got = {0};
    run_t r = {0};
    json_t *stats, *st;
    char *cmd = NULL, *code;
    size_t n;
    int port, pid;

    fx_generate(in, 3000, 31, "--bad-rate 0.01");
    fx_each_line(in, judge_line, &want);
    /* 500-event bodies (~225 kB) are over --max-body once inflated: 413, split;
     * Login events are refused by a 400: rebuilt bodies, compressed again */
    stats = run_against_mock(args, &r, in, "--gzip --batch-events 500");
    ck_assert_msg(r.rc == 0, "exit %d: %s", r.rc, r.err_text);
    fx_each_line(rec, add_canonical, &got);
    assert_same_events(&want.valid, &got, "recorded");
    assert_unique_insert_ids(rec);
    ck_assert_int_eq(num(r.report, "rejected_server"), (long)want.other.n);
    assert_accounting(r.report);
    ck_assert_int_eq(num(stats, "gzip_requests"), num(stats, "requests"));
    st = json_object_get(stats, "status");
    ck_assert_int_gt(json_integer_value(json_object_get(st, "413")), 0);
    ck_assert_int_gt(json_integer_value(json_object_get(st, "400")), 1);
    ck_assert_int_gt(num(r.report, "http_5xx"), 0);
    /* bytes_sent counts what went over the wire: the compressed bodies */
    ck_assert_int_eq(num(stats, "bytes"), num(r.report, "bytes_sent"));
    ck_assert_int_lt(num(r.report, "bytes_sent"), num(r.report, "batch_bytes"));
    json_decref(stats);

    /* the mock refuses a body that is not gzip (400) and other encodings (415) */
    pid = fx_mock_start(NULL, &port);
    if (asprintf(&cmd,
                 "cd '%s' && printf 'not gzip' >bad.gz && "
                 "curl -s -o /dev/null -w '%%{http_code} ' -H 'Content-Encoding: gzip' "
                 "--data-binary @bad.gz http://127.0.0.1:%d/batch >codes && "
                 "curl -s -o /dev/null -w '%%{http_code}' -H 'Content-Encoding: br' "
                 "--data-binary @bad.gz http://127.0.0.1:%d/batch >>codes",
                 dir, port, port) < 0)
        ck_abort();
    ck_assert_int_eq(system(cmd), 0);
    fx_mock_stop(pid);
    free(cmd);
    cmd = fx_path(dir, "codes");
    code = fx_read(cmd, &n);
    ck_assert_str_eq(code, "400 415");
    free(code);
    free(cmd);
    bag_free(&want.valid);
    bag_free(&want.other);
    bag_free(&got);
    run_free(&r);
    free(in);
    free(rec);
}
END_TEST

static Suite *send_suite(void)
{
    Suite *s = suite_create("cli_send");
    TCase *tc = tcase_create("send");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, delivers_every_valid_event_exactly_once);
    tcase_add_test(tc, shards_run_side_by_side_deliver_every_event_once);
    tcase_add_test(tc, gzip_bodies_arrive_whole_through_splits_resends_and_faults);
    tcase_add_test(tc, a_gzip_input_is_delivered_once);
    tcase_add_test(tc, a_zip_export_is_delivered_once);
    tcase_add_test(tc, export_rows_arrive_mapped_once);
    tcase_add_test(tc, survives_server_errors_and_dropped_connections);
    tcase_add_test(tc, refused_events_go_to_the_reject_file_over_several_400_rounds);
    tcase_add_test(tc, a_413_splits_batches_and_refuses_a_lone_oversized_event);
    tcase_add_test(tc, throttled_ids_wait_while_the_others_flow);
    tcase_add_test(tc, events_over_the_daily_quota_go_to_the_failed_file);
    tcase_add_test(tc, an_invalid_api_key_stops_the_run_without_hammering);
    tcase_add_test(tc, a_wrong_url_is_a_configuration_error_naming_url_and_status);
    tcase_add_test(tc,
                   a_dead_server_fails_events_after_the_retry_budget_and_they_can_be_sent_again);
    tcase_add_test(tc, rate_limit_holds_the_events_per_second_ceiling);
    tcase_add_test(tc, retry_after_is_honoured);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(send_suite());
}
