/* test_send.c - the sender alone, without the CLI: batches built here go
 * through al_sender_* to ampload-mock on 127.0.0.1, and every verdict is
 * checked by its outcome - the counters, the reject and failed files, and
 * what the mock (an independent implementation) accepted: 200, 400 with
 * indices, 413 split, 429 with ids and with the daily quota, 5xx, timeouts,
 * resets, a refused key, an endpoint never reached, and the window growing
 * and shrinking. Every case also counts what the sender reported through
 * its resolution sink: each event resolved once, when its outcome is
 * known, the acknowledged ones acknowledged first, and nothing a stop left
 * unresolved. */
#include "fixtures.h"

#include "batch.h"
#include "deadletter.h"
#include "send.h"
#include "stats.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#define KEY "send-test-key-0123"

static char *dir;
static al_batch_opts_t bopts;

/* ---- the resolution sink ------------------------------------------------- */

/* Events are given tracks in groups of TRACK_EVENTS consecutive ones, as a
 * reader's chunks would be, so a batch of 100 spans four tracks and a track
 * lies in one batch until a split or a retry divides it. */
#define TRACKS       128
#define TRACK_EVENTS 25

/* What the sender was given and told for one track. The tally's own address
 * is the track: the sender must treat tracks as tokens it never reads. */
typedef struct {
    int64_t given, resolved, acked;
} tally_t;

/* Callbacks come from the sender thread and, after a stop, from the one
 * submitting; a broken rule is noted, not asserted there (Check's asserts
 * belong to the test's own thread). */
static struct {
    pthread_mutex_t lock;
    tally_t t[TRACKS];
    uint32_t untracked_every; /* every Nth group has no track (0: none) */
    int64_t untracked;        /* events given without a track */
    char broken[160];         /* the first rule a report broke, or "" */
} sink = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct al_track *track_of(uint32_t event)
{
    uint32_t group = event / TRACK_EVENTS;
    if (sink.untracked_every > 0 && group % sink.untracked_every == sink.untracked_every - 1)
        return NULL;
    return (struct al_track *)(void *)&sink.t[group % TRACKS];
}

/* @return the tally behind track, or NULL (noted as broken) when it is not
 * one of ours, n is not a count or ctx not the one given. Called with
 * sink.lock held. */
static tally_t *tally_of(const void *ctx, struct al_track *track, int64_t n, const char *what)
{
    tally_t *t = (tally_t *)(void *)track;
    if (ctx == &sink && t >= sink.t && t < sink.t + TRACKS && n >= 1)
        return t;
    if (sink.broken[0] == '\0')
        snprintf(sink.broken, sizeof(sink.broken), "%s: ctx %p, track %p, n %lld", what, ctx,
                 (void *)track, (long long)n);
    return NULL;
}

static void note_broken(const char *what, const tally_t *t, int64_t n)
{
    if (sink.broken[0] == '\0')
        snprintf(sink.broken, sizeof(sink.broken),
                 "%s %lld on track %td: given %lld, resolved %lld, acked %lld", what, (long long)n,
                 t - sink.t, (long long)t->given, (long long)t->resolved, (long long)t->acked);
}

static void on_resolved(void *ctx, struct al_track *track, int64_t n)
{
    tally_t *t;
    pthread_mutex_lock(&sink.lock);
    t = tally_of(ctx, track, n, "resolved");
    if (t != NULL && t->resolved + n > t->given)
        note_broken("resolved", t, n); /* an event resolved twice */
    if (t != NULL)
        t->resolved += n;
    pthread_mutex_unlock(&sink.lock);
}

static void on_acked(void *ctx, struct al_track *track, int64_t n)
{
    tally_t *t;
    pthread_mutex_lock(&sink.lock);
    t = tally_of(ctx, track, n, "acked");
    /* acknowledged events are told before they are resolved: n of the
     * track's events must still be open */
    if (t != NULL && (t->acked + n > t->given || t->resolved + n > t->given))
        note_broken("acked", t, n);
    if (t != NULL)
        t->acked += n;
    pthread_mutex_unlock(&sink.lock);
}

static void sink_reset(void)
{
    pthread_mutex_lock(&sink.lock);
    memset(sink.t, 0, sizeof(sink.t));
    sink.untracked = 0;
    sink.broken[0] = '\0';
    pthread_mutex_unlock(&sink.lock);
}

/* Totals over every track, into *resolved and *acked. */
static void sink_totals(int64_t *resolved, int64_t *acked)
{
    *resolved = *acked = 0;
    pthread_mutex_lock(&sink.lock);
    for (int i = 0; i < TRACKS; i++) {
        *resolved += sink.t[i].resolved;
        *acked += sink.t[i].acked;
    }
    pthread_mutex_unlock(&sink.lock);
}

static void setup(void)
{
    dir = fx_tempdir();
    al_batch_opts_init(&bopts);
    snprintf(bopts.api_key, sizeof(bopts.api_key), "%s", KEY);
    sink.untracked_every = 0;
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

/* Events first..first+n-1: user-NNNNN (users of `users` ids), type T, or
 * "Bad" for every `bad_every`-th event (0: none); with bopts.form,
 * identifications instead, every other one a non-idempotent $add. */
static al_batch_t *make_batch(uint32_t first, uint32_t n, uint32_t users, uint32_t bad_every)
{
    al_batch_t *b = al_batch_new(&bopts);
    char ev[256];
    ck_assert_ptr_nonnull(b);
    for (uint32_t i = first; i < first + n; i++) {
        al_origin_t o = {.line = i + 1, .offset = (uint64_t)i * 100, .track = track_of(i)};
        int len =
            bopts.form
                ? snprintf(ev, sizeof(ev),
                           "{\"user_id\":\"user-%05u\",\"user_properties\":{\"%s\":{\"n\":1}}}",
                           i % users, i % 2 ? "$set" : "$add")
                : snprintf(ev, sizeof(ev),
                           "{\"event_type\":\"%s\",\"user_id\":\"user-%05u\","
                           "\"insert_id\":\"send-%u\",\"time\":1700000000000}",
                           bad_every && i % bad_every == 0 ? "Bad" : "T", i % users, i);
        if (bopts.form && i % 2 == 0)
            o.flags = AL_ORIGIN_NON_IDEMPOTENT;
        char uid[16];
        snprintf(uid, sizeof(uid), "user-%05u", i % users);
        o.uid = al_id_hash(uid, strlen(uid));
        ck_assert(al_batch_fits(b, (size_t)len));
        ck_assert_int_eq(al_batch_add(b, ev, (size_t)len, &o), AL_ERR_OK);
        pthread_mutex_lock(&sink.lock);
        if (o.track != NULL)
            ((tally_t *)(void *)o.track)->given++;
        else
            sink.untracked++;
        pthread_mutex_unlock(&sink.lock);
    }
    ck_assert_int_eq(al_batch_finish(b), AL_ERR_OK);
    return b;
}

typedef struct {
    al_stats_t st;
    al_err_t err;
    al_diag_t diag;
    long rejected_lines, failed_lines;
    long accepted, requests; /* the mock's */
    uint32_t window;         /* the sender's window at the end */
    int64_t resolved, acked; /* reported through the sink, over every track */
} outcome_t;

static long lines_of(const char *name)
{
    char *path = fx_path(dir, name);
    size_t n;
    long lines = 0;
    char *t = fx_read(path, &n);
    for (size_t i = 0; t != NULL && i < n; i++)
        lines += t[i] == '\n';
    free(t);
    free(path);
    return lines;
}

/* Sends `batches` batches of `per` events (users, bad_every as make_batch)
 * with opts o to a mock started with args, or (closed) to a loopback port
 * nobody listens on. */
static void run(const char *const *args, int closed, al_send_opts_t *o, uint32_t batches,
                uint32_t per, uint32_t users, uint32_t bad_every, outcome_t *out)
{
    static const char *const paths[] = {"in.ndjson"};
    char *rej_path = fx_path(dir, "rejected.ndjson"), *fail_path = fx_path(dir, "failed.ndjson");
    al_deadletter_t *rej, *failed;
    al_sender_t *s;
    al_live_t live;
    al_diag_t d;
    int port = 0, pid = -1;

    memset(out, 0, sizeof(*out));
    memset(&live, 0, sizeof(live));
    sink_reset();
    if (closed) {
        struct sockaddr_in a = {0};
        socklen_t alen = sizeof(a);
        int sock = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(sock, (struct sockaddr *)&a, sizeof(a)), 0);
        getsockname(sock, (struct sockaddr *)&a, &alen);
        port = ntohs(a.sin_port);
        close(sock);
    } else {
        pid = fx_mock_start(args, &port);
    }
    snprintf(o->url, sizeof(o->url), "http://127.0.0.1:%d/%s", port, o->kind->name);
    o->seed = 7;
    ck_assert_int_eq(al_deadletter_open(&rej, rej_path, AL_DL_RECORDS, 0, NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_deadletter_open(&failed, fail_path, AL_DL_RAW, 0, NULL, &d), AL_ERR_OK);
    ck_assert_int_eq(al_sender_start(&s, o, rej, failed, paths, &live, &d), AL_ERR_OK);
    /* every batch is handed over, even after a stop: the sender must
     * resolve (or leave) what it is given then too */
    for (uint32_t i = 0; i < batches; i++)
        (void)al_sender_submit(s, make_batch(i * per, per, users, bad_every));
    al_sender_finish(s);
    out->err = al_sender_join(s, &out->st, &out->diag);
    out->window = atomic_load(&live.window);
    sink_totals(&out->resolved, &out->acked);
    ck_assert_msg(sink.broken[0] == '\0', "the sink was told: %s", sink.broken);
    /* whatever the verdicts, a resolution is reported exactly when counted */
    if (o->resolution.resolved != NULL && sink.untracked == 0)
        ck_assert_int_eq(out->resolved, (int64_t)(out->st.events_sent + out->st.rejected_server +
                                                  out->st.failed + out->st.non_idempotent_held));
    if (o->resolution.acked != NULL && sink.untracked == 0)
        ck_assert_int_eq(out->acked, (int64_t)out->st.events_sent);
    ck_assert_int_eq(al_deadletter_close(rej, &d), AL_ERR_OK);
    ck_assert_int_eq(al_deadletter_close(failed, &d), AL_ERR_OK);
    out->rejected_lines = lines_of("rejected.ndjson");
    out->failed_lines = lines_of("failed.ndjson");
    if (pid > 0) {
        json_t *stats = fx_mock_stats(port);
        out->accepted = (long)json_integer_value(json_object_get(stats, "accepted"));
        out->requests = (long)json_integer_value(json_object_get(stats, "requests"));
        json_decref(stats);
        fx_mock_stop(pid);
    }
    free(rej_path);
    free(fail_path);
}

static void opts(al_send_opts_t *o)
{
    al_send_opts_init(o);
    o->resumable = 1;
    o->retry_time_ms = 20000;
    o->throttle_wait_ms = 500;
    o->resolution.resolved = on_resolved;
    o->resolution.acked = on_acked;
    o->resolution.ctx = &sink;
}

/* Every event resolved once: acknowledged, rejected or failed - and
 * reported so, each track's events all resolved and its acknowledged ones
 * told as such. */
static void assert_resolved(const outcome_t *r, uint64_t events)
{
    ck_assert_uint_eq(r->st.events_sent + r->st.rejected_server + r->st.failed, events);
    ck_assert_int_eq(r->rejected_lines, (long)r->st.rejected_server);
    ck_assert_int_eq(r->failed_lines, (long)r->st.failed);
    ck_assert_int_eq(r->resolved, (int64_t)events);
    ck_assert_int_eq(r->acked, (int64_t)r->st.events_sent);
    for (int i = 0; i < TRACKS; i++)
        ck_assert_int_eq(sink.t[i].resolved, sink.t[i].given);
}

START_TEST(a_200_acknowledges_every_event)
{
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(NULL, 0, &o, 5, 100, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.events_sent, 500);
    ck_assert_uint_eq(r.st.batches_sent, 5);
    ck_assert_int_eq(r.accepted, 500);
    assert_resolved(&r, 500);
}
END_TEST

START_TEST(a_400_with_indices_rejects_those_and_resends_the_rest)
{
    const char *args[] = {"--reject-event-type", "Bad", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 3, 100, 50, 10, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.rejected_server, 30);
    ck_assert_uint_eq(r.st.events_sent, 270);
    ck_assert_int_eq(r.accepted, 270);
    assert_resolved(&r, 300);
}
END_TEST

START_TEST(a_413_splits_the_batch_until_it_fits)
{
    const char *args[] = {"--max-body", "6000", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 2, 200, 50, 0, &r); /* ~20 KB bodies: split twice or more */
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.events_sent, 400);
    ck_assert_int_eq(r.accepted, 400);
    ck_assert_uint_gt(r.st.requests, 8);
    assert_resolved(&r, 400);
}
END_TEST

START_TEST(a_429_pauses_the_throttled_ids_and_then_delivers_them)
{
    const char *args[] = {"--eps-per-id", "8", "--eps-window", "1", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 4, 200, 40, 0, &r); /* 40 users, 20 events each: above 8/s */
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_gt(r.st.http_429, 0);
    ck_assert_uint_eq(r.st.events_sent, 800);
    ck_assert_int_eq(r.accepted, 800);
    assert_resolved(&r, 800);
}
END_TEST

START_TEST(a_429_over_the_daily_quota_fails_those_events_only)
{
    const char *args[] = {"--daily-quota", "30", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 2, 100, 4, 0, &r); /* 4 users of 50 events: over 30 each */
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_gt(r.st.failed, 0);
    ck_assert_uint_eq(r.st.failed_by_cause[AL_FAIL_QUOTA], r.st.failed);
    ck_assert_uint_le(r.st.events_sent, 120);
    ck_assert_int_eq(r.accepted, (long)r.st.events_sent);
    assert_resolved(&r, 200);
}
END_TEST

START_TEST(server_errors_are_retried_until_acknowledged)
{
    const char *args[] = {"--fail-rate", "0.5", "--fail-status", "503", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 10, 50, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_gt(r.st.retries, 0);
    ck_assert_uint_gt(r.st.http_5xx, 0);
    ck_assert_uint_eq(r.st.events_sent, 500);
    ck_assert_int_eq(r.accepted, 500);
    assert_resolved(&r, 500);
}
END_TEST

START_TEST(dropped_connections_are_retried_until_acknowledged)
{
    const char *args[] = {"--drop-rate", "0.3", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 10, 50, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_gt(r.st.retries, 0);
    ck_assert_uint_eq(r.st.events_sent, 500);
    assert_resolved(&r, 500);
}
END_TEST

/* A server that answers, but only with 503: the budget is spent and the
 * events go to the failed file, by cause. */
START_TEST(a_server_failing_every_request_fails_the_events_after_the_budget)
{
    const char *args[] = {"--fail-rate", "1", "--fail-status", "503", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.retry_time_ms = 600;
    run(args, 0, &o, 3, 50, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.failed, 150);
    ck_assert_uint_eq(r.st.failed_by_cause[AL_FAIL_RETRY_BUDGET], 150);
    ck_assert_uint_gt(r.st.retries, 0);
    assert_resolved(&r, 150);
}
END_TEST

/* A server that never answers one request: not the events' fault. */
START_TEST(an_endpoint_that_never_answers_stops_without_resolving)
{
    const char *args[] = {"--latency-ms", "3000", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.request_timeout_ms = 300;
    o.retry_time_ms = 1500;
    run(args, 0, &o, 3, 50, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(r.diag.detail, "no answer to any request"));
    ck_assert_uint_eq(r.st.events_sent + r.st.failed + r.st.rejected_server, 0);
    ck_assert_int_eq(r.failed_lines, 0);
    ck_assert_int_eq(r.resolved, 0);
    ck_assert_int_eq(r.acked, 0);
}
END_TEST

START_TEST(a_refused_key_stops_and_leaves_the_events_unresolved)
{
    const char *args[] = {"--api-key", "the-right-key", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    run(args, 0, &o, 20, 100, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_CONFIG);
    ck_assert_uint_eq(r.st.events_sent + r.st.failed, 0);
    ck_assert_int_eq(r.failed_lines, 0);
    ck_assert_int_le(r.requests, 9); /* one window, not 20 batches */
    /* left for the resume: not one of the 2000 reported */
    ck_assert_int_eq(r.resolved, 0);
    ck_assert_int_eq(r.acked, 0);
}
END_TEST

/* Standard input cannot be read again: what a stop left goes to the failed
 * file instead. */
START_TEST(a_refused_key_fails_the_events_when_the_run_cannot_resume)
{
    const char *args[] = {"--api-key", "the-right-key", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.resumable = 0;
    run(args, 0, &o, 5, 100, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_CONFIG);
    ck_assert_uint_eq(r.st.failed, 500);
    ck_assert_uint_eq(r.st.failed_by_cause[AL_FAIL_STOPPED], 500);
    assert_resolved(&r, 500);
}
END_TEST

START_TEST(an_endpoint_never_reached_is_a_configuration_error_in_time)
{
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.unreachable_ms = 800;
    run(NULL, 1, &o, 3, 50, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(r.diag.detail, "cannot connect to 127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(r.diag.detail, "connection refused"));
    ck_assert_uint_eq(r.st.failed, 0);
    ck_assert_uint_gt(r.st.retries, 0);
    ck_assert_int_eq(r.resolved, 0);
}
END_TEST

/* AIMD: the window starts at 8 and grows while answers come at full window
 * with normal latency; 503s shrink it. */
START_TEST(the_window_grows_on_success_and_shrinks_on_503)
{
    const char *slow[] = {"--latency-ms", "20", NULL};
    const char *busy[] = {"--latency-ms", "20", "--fail-rate", "0.6", "--fail-status", "503", NULL};
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.concurrency = 32;
    run(slow, 0, &o, 120, 20, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_gt(r.window, 8);
    opts(&o);
    o.concurrency = 32;
    run(busy, 0, &o, 60, 20, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_lt(r.window, 8);
    assert_resolved(&r, 1200);
}
END_TEST

/* Identify: a 500 leaves each request's fate unknown; its non-idempotent
 * identifications go to the held file at once, the others are retried and,
 * the server failing on, end in the failed file - none blindly twice. */
START_TEST(identify_holds_non_idempotent_identifications_in_doubt)
{
    const char *args[] = {"--fail-rate", "1", "--fail-status", "500", NULL};
    char *held_path = fx_path(dir, "held.ndjson");
    al_deadletter_t *held;
    al_send_opts_t o;
    outcome_t r;
    al_diag_t d;
    opts(&o);
    o.kind = &al_req_identify;
    o.retry_time_ms = 600;
    bopts.form = 1;
    ck_assert_int_eq(al_deadletter_open(&held, held_path, AL_DL_RAW, 0, NULL, &d), AL_ERR_OK);
    o.held = held;
    run(args, 0, &o, 2, 20, 20, 0, &r);
    ck_assert_int_eq(al_deadletter_close(held, &d), AL_ERR_OK);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.non_idempotent_held, 20); /* every other one */
    ck_assert_int_eq(lines_of("held.ndjson"), 20);
    ck_assert_uint_eq(r.st.failed, 20);
    ck_assert_uint_eq(r.st.events_sent, 0);
    ck_assert_int_eq(r.resolved, 40); /* held or failed: each resolved once */
    ck_assert_int_eq(r.acked, 0);
    free(held_path);
}
END_TEST

/* Splits, refusals and retries at once, with some events carrying no track:
 * each tracked event is reported resolved exactly once, the acknowledged
 * ones acknowledged too, and no call names a missing track. */
START_TEST(reports_every_event_resolved_once_through_the_sink)
{
    const char *args[] = {"--reject-event-type", "Bad", "--max-body", "6000", "--fail-rate", "0.3",
                          "--fail-status",       "503", NULL};
    int64_t acked[TRACKS] = {0}, tracked = 0;
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    sink.untracked_every = 3; /* groups 2, 5, 8, ...: some in every batch */
    run(args, 0, &o, 4, 100, 50, 10, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.rejected_server, 40);
    ck_assert_uint_eq(r.st.events_sent, 360);
    ck_assert_uint_gt(r.st.retries, 0);
    ck_assert_uint_gt(r.st.requests, 8); /* split, too */
    ck_assert_int_eq(sink.untracked, 125);
    for (uint32_t i = 0; i < 400; i++) {
        struct al_track *t = track_of(i);
        if (t == NULL)
            continue;
        tracked++;
        acked[(tally_t *)(void *)t - sink.t] += i % 10 != 0; /* "Bad" is refused */
    }
    ck_assert_int_eq(r.resolved, tracked);
    for (int i = 0; i < TRACKS; i++) {
        ck_assert_int_eq(sink.t[i].resolved, sink.t[i].given);
        ck_assert_int_eq(sink.t[i].acked, acked[i]);
    }
}
END_TEST

/* A NULL callback is not called: without acked, resolutions still come;
 * without either, the run is the same and nothing is told. */
START_TEST(a_sink_without_callbacks_is_told_nothing)
{
    al_send_opts_t o;
    outcome_t r;
    opts(&o);
    o.resolution.acked = NULL;
    run(NULL, 0, &o, 2, 100, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.events_sent, 200);
    ck_assert_int_eq(r.resolved, 200);
    ck_assert_int_eq(r.acked, 0);
    opts(&o);
    memset(&o.resolution, 0, sizeof(o.resolution));
    run(NULL, 0, &o, 2, 100, 50, 0, &r);
    ck_assert_int_eq(r.err, AL_ERR_OK);
    ck_assert_uint_eq(r.st.events_sent, 200);
    ck_assert_int_eq(r.resolved + r.acked, 0);
}
END_TEST

static Suite *send_suite(void)
{
    Suite *s = suite_create("send");
    TCase *tc = tcase_create("verdicts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_200_acknowledges_every_event);
    tcase_add_test(tc, a_400_with_indices_rejects_those_and_resends_the_rest);
    tcase_add_test(tc, a_413_splits_the_batch_until_it_fits);
    tcase_add_test(tc, a_429_pauses_the_throttled_ids_and_then_delivers_them);
    tcase_add_test(tc, a_429_over_the_daily_quota_fails_those_events_only);
    tcase_add_test(tc, server_errors_are_retried_until_acknowledged);
    tcase_add_test(tc, dropped_connections_are_retried_until_acknowledged);
    tcase_add_test(tc, a_server_failing_every_request_fails_the_events_after_the_budget);
    tcase_add_test(tc, an_endpoint_that_never_answers_stops_without_resolving);
    tcase_add_test(tc, a_refused_key_stops_and_leaves_the_events_unresolved);
    tcase_add_test(tc, a_refused_key_fails_the_events_when_the_run_cannot_resume);
    tcase_add_test(tc, an_endpoint_never_reached_is_a_configuration_error_in_time);
    tcase_add_test(tc, the_window_grows_on_success_and_shrinks_on_503);
    tcase_add_test(tc, identify_holds_non_idempotent_identifications_in_doubt);
    tcase_add_test(tc, reports_every_event_resolved_once_through_the_sink);
    tcase_add_test(tc, a_sink_without_callbacks_is_told_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(send_suite());
}
