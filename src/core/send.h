/* send.h - the sender: delivers batches to Amplitude and resolves every event.
 *
 * One thread owns one curl multi handle and every request in flight. Parser
 * threads hand batches over a bounded queue (al_sender_submit) and wake the
 * sender with curl_multi_wakeup, the one cross-thread curl call. The sender
 * keeps up to a window of requests in flight (fixed, or adapted by AIMD up to
 * --concurrency), paces them with the --rate token bucket, and resolves each
 * response with response.h's rules. Every event it was given ends as exactly
 * one of: acknowledged (events_sent), refused by the server (reject file,
 * rejected_server), or undeliverable (failed file, failed) - unless the run
 * is interrupted, or stopped by a configuration error in a resumable run
 * (o.resumable), when what is not resolved is left for a resume. Each
 * resolution is reported, once its outcome is durable, through the caller's
 * resolution sink (o.resolution) under the event's origin track: the sender
 * knows events and outcomes, not what a track counts or where a run resumes
 * (the pipeline connects the sink to checkpoint.h).
 *
 * Thread-safety: al_sender_submit from any thread; the rest from the thread
 * that started the sender.
 */
#ifndef AL_SEND_H
#define AL_SEND_H

#include "batch.h"
#include "deadletter.h"
#include "error.h"
#include "http.h"
#include "journal.h"
#include "reqkind.h"
#include "stats.h"

#include <stdatomic.h>
#include <stdint.h>

#define AL_DEFAULT_ENDPOINT          "https://api2.amplitude.com/batch"
#define AL_DEFAULT_IDENTIFY_ENDPOINT "https://api2.amplitude.com/identify"
#define AL_EU_ENDPOINT               "https://api.eu.amplitude.com/batch"
#define AL_EU_IDENTIFY_ENDPOINT      "https://api.eu.amplitude.com/identify"
#define AL_DEFAULT_THROTTLE_WAIT_MS  30000
/* How long an endpoint to which no connection could ever be made is tried
 * before that counts as a configuration error (at most --retry-time). */
#define AL_DEFAULT_UNREACHABLE_MS 30000

/* What one finished attempt looked like, for debug logs and audit files. */
typedef struct {
    uint64_t unix_ms;  /* when it finished */
    uint64_t batch_id; /* the same across retries of the same events */
    uint32_t events;
    uint64_t bytes;    /* request body as sent (gzipped with --gzip) */
    long status;       /* HTTP status, 0 when no answer */
    const char *error; /* transport error text, or NULL */
    uint64_t latency_ms;
    uint32_t attempt;    /* 1 for the first try */
    const char *outcome; /* "ok", "retry", "throttled", "drop", "split", ... */
} al_request_info_t;

/* Called on the sender thread after every attempt; must be quick. */
typedef void (*al_request_fn)(void *ctx, const al_request_info_t *info);

/* Where the sender reports what became of each event, by its origin track
 * (al_origin_t.track: an opaque token the sender never reads; events whose
 * track is NULL are not reported).
 *
 * resolved(ctx, track, n): n events of `track` are resolved - acknowledged,
 * refused or undeliverable - and their outcome is durable: the server
 * acknowledged them (after the journal's ACKED record, with a journal), or
 * their records were appended to the reject, failed or held file, so they
 * survive the process being killed. A record that could not be written
 * leaves its event unreported. Every event is reported resolved at most
 * once, and exactly once unless the run is interrupted, stopped by a
 * configuration error in a resumable run, or stopped by a record file that
 * cannot be written: what is left unresolved then is never reported, for a
 * resume to send.
 *
 * acked(ctx, track, n): n of those events were acknowledged by the server;
 * called before resolved() reports the same events, so a counter of
 * acknowledgements is complete by the time their resolution is seen.
 *
 * Events that resolve together (one answer, one failure) are reported with
 * one call per run of consecutive events sharing a track (n >= 1); nothing
 * else about the grouping is promised.
 *
 * Thread-safety: called on the sender thread; resolved() also on a thread
 * calling al_sender_submit, for a batch handed over after delivery stopped
 * in a run that cannot resume, possibly while the sender thread calls
 * either: the callbacks must be safe to call from two threads at once. They
 * must be quick and must not call into the sender. A NULL callback reports
 * nothing. */
typedef void (*al_resolution_fn)(void *ctx, struct al_track *track, int64_t n);

typedef struct {
    al_resolution_fn resolved; /* may be NULL */
    al_resolution_fn acked;    /* may be NULL */
    void *ctx;                 /* passed to both; borrowed until al_sender_join() returns */
} al_resolution_sink_t;

typedef struct {
    char url[512];
    uint32_t concurrency;      /* most requests in flight, 1..AL_MAX_CONCURRENCY */
    int adaptive;              /* AIMD below `concurrency`; else a fixed window */
    double rate_eps;           /* events/s ceiling; 0 = none */
    uint32_t rate_burst;       /* the most events the ceiling lets go at once: one batch
                                * (--batch-events; 0 = AL_MAX_BATCH_EVENTS), so no
                                * one-second window holds more than rate_eps + one batch,
                                * the first second included */
    uint64_t retry_time_ms;    /* per-batch retry budget from its first attempt */
    uint64_t throttle_wait_ms; /* how long 429-throttled events and ids wait */
    long connect_timeout_ms;
    long request_timeout_ms;
    int insecure;        /* skip TLS verification (test servers only) */
    const char *ca_file; /* trust these CA certificates (PEM); NULL = the system's */
    uint64_t seed;       /* backoff jitter; 0 = from the clock */
    const char *secret;  /* the API key, redacted from the server's text; may be NULL */
    /* Interruption: once *stop is set, no new request starts; requests in
     * flight get drain_ms to finish; everything else is left unresolved
     * (a resume sends it). */
    atomic_int *stop;
    uint64_t drain_ms;
    /* A configuration error (refused key, TLS failure, an endpoint never
     * reached) stops delivery. When `resumable` (the run keeps a checkpoint)
     * the events not yet resolved stay unresolved: nothing goes to the
     * failed file, and the same command after the fix sends them. Otherwise
     * (standard input: nothing can read them again) they go to the failed
     * file. */
    int resumable;
    /* No connection to the endpoint at all (name resolution, TCP connect,
     * a connect timeout) since the first request: a configuration error
     * once this long has passed (0 = AL_DEFAULT_UNREACHABLE_MS; never more
     * than retry_time_ms). After one connection, failures are retried -
     * unless every connection is closed without an answer (another service
     * on the port): no answer at all in this long stops delivery too. */
    uint64_t unreachable_ms;
    al_request_fn on_request; /* may be NULL */
    void *on_request_ctx;
    al_resolution_sink_t resolution; /* zeroed (nothing reported) by default */
    /* What a request is (reqkind.h): al_req_batch by default. With a kind
     * whose fate matters (al_req_identify), an item whose fate is in doubt -
     * its request met a 5xx or lost its connection after leaving, or it was
     * in flight when an earlier run stopped (AL_ORIGIN_WAS_SENT) - is sent
     * again only when it is idempotent or resend_non_idempotent is set;
     * otherwise its line goes to `held` (non_idempotent_held), never
     * blindly twice. `journal` (may be NULL) gets SENT before each request
     * leaves, ACKED on success, CLEAR when nothing was applied. Both are
     * borrowed until al_sender_join() returns. */
    const al_req_kind_t *kind;
    int resend_non_idempotent;
    al_deadletter_t *held;
    al_journal_t *journal;
} al_send_opts_t;

typedef struct al_sender al_sender_t;

/* What every request the sender makes shares on the wire (url, timeouts,
 * TLS), for al_http_easy_setup: the one mapping, so `ampload check` sends
 * what a run sends. @return a conf borrowing o's strings. */
al_http_conf_t al_send_http_conf(const al_send_opts_t *o);

/* Fills opts with the documented defaults. */
void al_send_opts_init(al_send_opts_t *opts);

/* Starts the sender thread. rejects/failed are where refused and
 * undeliverable events go; paths names the inputs for reject records; live
 * (may be NULL) gets progress counters. All are borrowed until
 * al_sender_join() returns. @return AL_ERR_OK, HTTP_CLIENT, NOMEM, THREAD. */
al_err_t al_sender_start(al_sender_t **out, const al_send_opts_t *opts, al_deadletter_t *rejects,
                         al_deadletter_t *failed, const char *const *paths, al_live_t *live,
                         al_diag_t *diag);

/* Hands a finished batch to the sender (blocks while its queue is full).
 * Takes ownership. Matches al_batch_sink_fn. @return AL_ERR_OK, or the error
 * that stopped the sender (the batch's events then stay unresolved when the
 * run is resumable, else went to the failed file), or INTERRUPTED. */
al_err_t al_sender_submit(void *sender, al_batch_t *batch);

/* No more batches will come: the sender drains and ends. */
void al_sender_finish(al_sender_t *s);

/* Waits for the sender to end, adds its counters to stats and frees it.
 * @return AL_ERR_OK, or the error that stopped delivery (CONFIG: diag says
 * which URL and status), or a failure to write the reject/failed files. */
al_err_t al_sender_join(al_sender_t *s, al_stats_t *stats, al_diag_t *diag);

#endif
