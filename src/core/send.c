/* send.c - the sender thread: one curl multi handle, every request, every verdict.
 *
 * Design. Work items are requests (req_t): a batch plus its retry history.
 * A request is in exactly one place at a time:
 *   - the input queue (a bounded al_queue_t filled by parser threads),
 *   - `ready`      to be started as soon as the window and the rate allow,
 *   - in flight    inside the curl multi handle,
 *   - `deferred`   waiting for a time: a backoff, a Retry-After, or the pause
 *                  of a throttled id,
 * or it is resolved and freed. The loop moves due deferred requests to ready,
 * starts ready ones while fewer than the AIMD window are in flight (taking new
 * batches from the input queue only when nothing is ready, and only while the
 * deferred requests hold less than DEFERRED_BYTES_CAP, so a throttling server
 * slows the reader instead of growing memory), lets curl work, resolves what
 * completed, and sleeps in curl_multi_poll until a socket, a due time or a
 * wakeup from a parser needs it.
 *
 * Response rules are in response.c; this file applies them: it splits,
 * drops, defers and retries, and writes refused events to the reject file and
 * undeliverable ones to the failed file. Ids that Amplitude throttled are
 * paused: events of theirs are held out of every request until the pause
 * ends, while everything else keeps flowing.
 *
 * A configuration error (bad key, 401/403/404, TLS failure, an endpoint to
 * which no connection could be made since the first request for
 * o.unreachable_ms) stops delivery: the input queue is closed so the
 * parsers stop, and every event still held here stays unresolved - never
 * reported, so the same command sends it after the fix - unless the run
 * cannot be resumed (standard input), when it goes to the failed file. The
 * failed file is for events that were tried and could not be delivered on
 * their own account, not for a wrong key or URL.
 *
 * Resolutions go out through the caller's sink (o.resolution), by origin
 * track, only after the outcome is durable: the acknowledgement (and the
 * journal's ACKED), or the reject, failed or held records written. The
 * sender never learns what a track is; the pipeline makes it a checkpoint
 * track, so this layer does not depend on how a run resumes.
 *
 * What a request is comes from its kind (reqkind.h: /batch or /identify):
 * the body's headers, how an answer is read, and whether its fate matters.
 * This file names no kind. When the fate matters (Identify deduplicates
 * nothing), an answer that leaves a request's fate unknown (a 5xx, a
 * connection lost after the request left) does not simply retry it: its
 * non-idempotent items go to the held file (hold_in_doubt) and only the
 * rest is retried, and the journal (journal.h) records each request before
 * it leaves (synced once per round of starts) and each answer, so a resume
 * knows.
 *
 * Bodies are handed to curl without a copy (CURLOPT_POSTFIELDS points into
 * the batch, at its gzipped body when it has one, sent with
 * `Content-Encoding: gzip`), and `Expect: 100-continue` is switched off: the
 * bodies are large and the extra round trip buys nothing.
 */
#include "send.h"

#include "aimd.h"
#include "clock.h"
#include "http.h"
#include "queue.h"
#include "ratelimit.h"
#include "response.h"
#include "retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RESP_CAP        (256u * 1024u)
#define INPUT_QUEUE_CAP 8
/* Bounds in bytes beside the bounds in requests, so memory stays near
 * 100 MB whatever the event size: 2000 small events make a ~1 MB body, but
 * 19 events of 1 MB make a 19.5 MB one (--batch-bytes). At least one
 * request is always let through, however large. */
#define INPUT_QUEUE_BYTES   (20u * 1024u * 1024u)
#define IN_FLIGHT_BYTES_CAP (72u * 1024u * 1024u) /* 64 ~1 MB bodies and their gzip */
#define DEFERRED_BYTES_CAP  (32u * 1024u * 1024u)
#define POLL_MAX_MS         500

typedef struct req {
    struct req *next;
    al_batch_t *batch;
    CURL *easy;
    char *resp; /* grows on demand up to RESP_CAP: answers are usually tiny */
    size_t resp_len, resp_cap;
    uint32_t attempt;        /* attempts started */
    uint64_t first_ms;       /* first attempt of these events, for the retry budget */
    uint64_t start_ms;       /* this attempt */
    uint64_t due_ms;         /* when deferred */
    uint64_t retry_after_ms; /* from the last response */
    long connect_ms;         /* of the last attempt: 0 when no connection was made */
    long os_errno;           /* of the last attempt's failed connect */
    uint64_t id;             /* batch id for logs; kept across retries */
} req_t;

typedef struct {
    req_t *head, *tail;
    size_t n;
    size_t bytes;
} list_t;

typedef struct {
    uint64_t id, until_ms;
} pause_t;

struct al_sender {
    al_send_opts_t o;
    al_queue_t in;
    CURLM *multi;
    struct curl_slist *headers;
    struct curl_slist *gz_headers; /* the same, with Content-Encoding: gzip */
    pthread_t tid;
    int started;
    al_deadletter_t *failed;
    al_dl_writer_t rejw, failw, heldw;
    uint8_t doubt[AL_MAX_BATCH_EVENTS]; /* scratch of hold_in_doubt */
    int journal_dirty;                  /* SENT records not yet synced */
    const char *const *paths;
    al_live_t *live;
    /* owned by the sender thread */
    al_stats_t st;
    al_aimd_t aimd;
    al_bucket_t bucket;
    al_rng_t rng;
    list_t ready, deferred;
    uint32_t in_flight;
    size_t flying_bytes;               /* the memory their batches hold */
    req_t *flying[AL_MAX_CONCURRENCY]; /* the requests in flight, in no order */
    int input_done;
    CURL *idle[AL_MAX_CONCURRENCY * 2];
    int nidle;
    pause_t *paused;
    size_t npaused, cap_paused;
    al_response_t resp;
    uint64_t next_batch_id;
    int interrupted;   /* stopped by *o.stop: unresolved events are left for a resume */
    int connected;     /* a connection to the endpoint was made at least once */
    int answered;      /* the endpoint answered (any HTTP status) at least once */
    uint64_t began_ms; /* the first request's start: 0 before it */
    /* shared */
    atomic_int stopped;          /* a fatal error: no more submissions */
    atomic_ullong submit_failed; /* events failed by al_sender_submit after a stop */
    al_first_err_t first;        /* what stopped delivery */
};

/* Counts n on the sender's own counter (merged into the report) and on the
 * live one the progress line reads. */
#define COUNT(s, stat, live_field, n)                                                              \
    do {                                                                                           \
        (s)->st.stat += (n);                                                                       \
        if ((s)->live != NULL)                                                                     \
            atomic_fetch_add_explicit(&(s)->live->live_field, (n), memory_order_relaxed);          \
    } while (0)

void al_send_opts_init(al_send_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->url, sizeof(o->url), "%s", AL_DEFAULT_ENDPOINT);
    o->kind = &al_req_batch;
    o->concurrency = AL_MAX_CONCURRENCY;
    o->adaptive = 1;
    o->retry_time_ms = (uint64_t)AL_DEFAULT_RETRY_TIME_S * 1000;
    o->throttle_wait_ms = AL_DEFAULT_THROTTLE_WAIT_MS;
    o->connect_timeout_ms = 10000;
    o->request_timeout_ms = 120000;
    o->drain_ms = 30000;
    o->unreachable_ms = AL_DEFAULT_UNREACHABLE_MS;
}

/* ---- small lists -------------------------------------------------------- */

static void list_push(list_t *l, req_t *r, int at_head)
{
    r->next = NULL;
    if (l->head == NULL) {
        l->head = l->tail = r;
    } else if (at_head) {
        r->next = l->head;
        l->head = r;
    } else {
        l->tail->next = r;
        l->tail = r;
    }
    l->n++;
    l->bytes += r->batch->len;
}

static req_t *list_pop(list_t *l)
{
    req_t *r = l->head;
    if (r == NULL)
        return NULL;
    l->head = r->next;
    if (l->head == NULL)
        l->tail = NULL;
    l->n--;
    l->bytes -= r->batch->len;
    r->next = NULL;
    return r;
}

/* Takes the request *link points at out of l. @return it. */
static req_t *list_unlink(list_t *l, req_t **link)
{
    req_t *r = *link, *prev = NULL;
    *link = r->next;
    if (l->tail == r) {
        /* the previous node, found from the head: removals at the tail are
         * rare (the list is in no order of due times) */
        for (req_t *t = l->head; t != NULL; t = t->next)
            prev = t;
        l->tail = prev;
    }
    l->n--;
    l->bytes -= r->batch->len;
    r->next = NULL;
    return r;
}

/* ---- resolving events --------------------------------------------------- */

/* Stops the run on a failure the server caused (detail says what; the
 * endpoint is named). The first failure wins. */
static void set_fatal(al_sender_t *s, al_err_t err, const char *detail)
{
    al_diag_t d;
    al_diag_set(&d, s->o.url, 0);
    snprintf(d.detail, sizeof(d.detail), "%.*s", (int)sizeof(d.detail) - 1, detail);
    al_first_err_set(&s->first, err, &d);
    atomic_store(&s->stopped, 1);
}

/* Stops the run on a reject or failed file that cannot be written: d names
 * the file and errno (a full disk is not the endpoint's fault). */
static void write_fatal(al_sender_t *s, const al_diag_t *d)
{
    al_first_err_set(&s->first, AL_ERR_WRITE, d);
    atomic_store(&s->stopped, 1);
}

static void write_failed(al_sender_t *s, al_dl_writer_t *w, const al_batch_t *b, uint32_t i)
{
    const al_origin_t *o = &b->origin[i];
    al_reject_t rec = {.file_id = o->file_id,
                       .line = o->line,
                       .offset = o->offset,
                       .raw = b->body + b->off[i],
                       .raw_len = b->elen[i],
                       .full_len = b->elen[i]};
    al_diag_t d;
    if (al_dl_write(w, &rec, &d) != AL_ERR_OK)
        write_fatal(s, &d);
}

typedef int (*pick_fn)(const uint8_t *marks, uint32_t i, uint8_t mark);

/* Reports the events of b selected by `pick` (all when NULL) to `tell`
 * under their origin tracks, once per run of events sharing a track: one
 * call per chunk of input in the usual batch, not one per event. */
static void for_tracks(const al_sender_t *s, const al_batch_t *b, pick_fn pick,
                       const uint8_t *marks, uint8_t mark, al_resolution_fn tell)
{
    struct al_track *cur = NULL;
    int64_t n = 0;
    if (tell == NULL)
        return;
    for (uint32_t i = 0; i < b->events; i++) {
        struct al_track *t = b->origin[i].track;
        if (t == NULL || (pick != NULL && !pick(marks, i, mark)))
            continue;
        if (t != cur) {
            if (cur != NULL)
                tell(s->o.resolution.ctx, cur, n);
            cur = t;
            n = 0;
        }
        n++;
    }
    if (cur != NULL)
        tell(s->o.resolution.ctx, cur, n);
}

/* Reports the events of b selected by `pick` resolved: only once their
 * outcome is durable (send.h, al_resolution_sink_t). */
static void resolve_tracks(const al_sender_t *s, const al_batch_t *b, pick_fn pick,
                           const uint8_t *marks, uint8_t mark)
{
    for_tracks(s, b, pick, marks, mark, s->o.resolution.resolved);
}

static int marked_as(const uint8_t *marks, uint32_t i, uint8_t mark)
{
    return marks[i] == mark;
}

static int marked_any(const uint8_t *marks, uint32_t i, uint8_t mark)
{
    (void)mark;
    return marks[i] != AL_MARK_NONE;
}

/* Every event of b, or those marked `mark` when marks != NULL, is
 * undeliverable for `cause`: recorded in the failed file, durably, then
 * resolved. */
static void fail_events(al_sender_t *s, const al_batch_t *b, const uint8_t *marks, uint8_t mark,
                        al_fail_cause_t cause)
{
    uint64_t n = 0;
    al_diag_t d;
    for (uint32_t i = 0; i < b->events; i++) {
        if (marks != NULL && marks[i] != mark)
            continue;
        write_failed(s, &s->failw, b, i);
        n++;
    }
    if (n == 0)
        return;
    if (al_dl_writer_commit(&s->failw, &d) != AL_ERR_OK) {
        write_fatal(s, &d);
        return; /* not durable: not resolved */
    }
    resolve_tracks(s, b, marks != NULL ? marked_as : NULL, marks, mark);
    COUNT(s, failed, failed, n);
    s->st.failed_by_cause[cause] += n;
}

static void reject_event(al_sender_t *s, const al_batch_t *b, uint32_t i, const char *reason)
{
    const al_origin_t *o = &b->origin[i];
    al_reject_t rec = {.file_id = o->file_id,
                       .file = s->paths[o->file_id],
                       .line = o->line,
                       .offset = o->offset,
                       .reason = reason,
                       .raw = b->body + b->off[i],
                       .raw_len = b->elen[i],
                       .full_len = b->elen[i]};
    al_diag_t d;
    if (al_dl_write(&s->rejw, &rec, &d) != AL_ERR_OK)
        write_fatal(s, &d);
    COUNT(s, rejected_server, rejected, 1);
}

/* ---- requests ----------------------------------------------------------- */

static req_t *req_new(al_sender_t *s, al_batch_t *b, const req_t *parent)
{
    req_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->batch = b;
    r->id = ++s->next_batch_id;
    if (parent != NULL) {
        r->first_ms = parent->first_ms;
        r->attempt = parent->attempt;
    }
    return r;
}

/* Gives r's easy handle back to the pool (its connection stays in the multi
 * handle's cache either way). */
static void release_easy(al_sender_t *s, req_t *r)
{
    if (r->easy == NULL)
        return;
    if (s->nidle < (int)(sizeof(s->idle) / sizeof(s->idle[0])))
        s->idle[s->nidle++] = r->easy;
    else
        curl_easy_cleanup(r->easy);
    r->easy = NULL;
}

static void req_free(al_sender_t *s, req_t *r)
{
    release_easy(s, r);
    al_batch_free(r->batch);
    free(r->resp);
    free(r);
}

/* Notes type for every item of b in the journal, for a kind whose fate
 * matters (and a run that keeps one). */
static void journal(al_sender_t *s, char type, const al_batch_t *b)
{
    al_diag_t d;
    if (!s->o.kind->fate_matters || s->o.journal == NULL)
        return;
    al_journal_note(s->o.journal, type, b);
    if (type == AL_JOURNAL_SENT) {
        s->journal_dirty = 1;
    } else if (al_journal_flush(s->o.journal, 0, &d) != AL_ERR_OK) {
        write_fatal(s, &d);
    }
}

/* @return a new batch holding the events of src whose mark is `keep`. */
static al_batch_t *subset(const al_batch_t *src, const uint8_t *marks, uint8_t keep)
{
    al_batch_t *b = al_batch_new(src->opts);
    if (b == NULL)
        return NULL;
    for (uint32_t i = 0; i < src->events; i++)
        if (marks[i] == keep)
            al_batch_add_from(b, src, i);
    if (al_batch_finish(b) != AL_ERR_OK) {
        al_batch_free(b);
        return NULL;
    }
    return b;
}

/* Identify: the identifications of r whose flags hold all of `need` are in
 * doubt and would change data if applied twice; unless resending was asked
 * for, their lines go to the held file, durably, and are resolved.
 * @return the request with the rest (r itself, or a new one), or NULL when
 * nothing is left to send. */
static req_t *hold_in_doubt(al_sender_t *s, req_t *r, uint32_t need)
{
    al_batch_t *b = r->batch, *rest;
    uint8_t *marks = s->doubt;
    uint32_t held = 0;
    req_t *n;
    al_diag_t d;

    if (!s->o.kind->fate_matters || s->o.resend_non_idempotent || s->o.held == NULL)
        return r;
    for (uint32_t i = 0; i < b->events; i++) {
        marks[i] = (b->origin[i].flags & need) == need;
        held += marks[i];
    }
    if (held == 0)
        return r;
    for (uint32_t i = 0; i < b->events; i++)
        if (marks[i])
            write_failed(s, &s->heldw, b, i);
    if (al_dl_writer_commit(&s->heldw, &d) != AL_ERR_OK) {
        write_fatal(s, &d); /* not durable: not resolved; a resume decides */
        req_free(s, r);
        return NULL;
    }
    resolve_tracks(s, b, marked_as, marks, 1);
    s->st.non_idempotent_held += held;
    if (held == b->events) {
        req_free(s, r);
        return NULL;
    }
    rest = subset(b, marks, 0);
    n = rest != NULL ? req_new(s, rest, r) : NULL;
    if (n == NULL) {
        al_batch_free(rest);
        fail_events(s, b, marks, 0, AL_FAIL_NOMEM);
    }
    req_free(s, r);
    return n;
}

/* Queues the events of r's batch marked `keep` as a new request, at once
 * (due 0, at the head of ready) or later. Events that cannot get memory go to
 * the failed file, never nowhere. */
static void requeue_marked(al_sender_t *s, req_t *r, const uint8_t *marks, uint8_t keep,
                           uint64_t due_ms)
{
    al_batch_t *b = subset(r->batch, marks, keep);
    req_t *n = b != NULL ? req_new(s, b, r) : NULL;
    if (n == NULL) {
        al_batch_free(b);
        fail_events(s, r->batch, marks, keep, AL_FAIL_NOMEM);
        return;
    }
    if (b->events == 0) {
        req_free(s, n);
        return;
    }
    if (due_ms == 0) {
        list_push(&s->ready, n, 1);
    } else {
        n->due_ms = due_ms;
        list_push(&s->deferred, n, 0);
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    req_t *r = userp;
    size_t n = size * nmemb;
    if (r->resp_len + n > RESP_CAP)
        n = RESP_CAP > r->resp_len ? RESP_CAP - r->resp_len : 0; /* keep the head */
    if (r->resp_len + n > r->resp_cap) {
        size_t cap = r->resp_cap ? r->resp_cap : 1024;
        char *nb;
        while (cap < r->resp_len + n)
            cap *= 2;
        nb = realloc(r->resp, cap < RESP_CAP ? cap : RESP_CAP);
        if (nb == NULL)
            return 0; /* curl reports a write error: the attempt is retried */
        r->resp = nb;
        r->resp_cap = cap < RESP_CAP ? cap : RESP_CAP;
    }
    memcpy(r->resp + r->resp_len, data, n);
    r->resp_len += n;
    return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    req_t *r = userp;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char v[64];
        size_t k = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
        memcpy(v, data + 12, k);
        v[k] = '\0';
        r->retry_after_ms = al_retry_after_ms(v, (int64_t)time(NULL));
    }
    return n;
}

/* @return the memory b holds: its body and, with --gzip, the compressed
 * copy too - not the wire size, or --gzip would let six times as many large
 * bodies into flight. Counted as written: the rest of a buffer is never
 * touched, so it is not resident. */
static size_t held_by(const al_batch_t *b)
{
    return b->len + b->gz_len;
}

static size_t held_of(const req_t *r)
{
    return held_by(r->batch);
}

static size_t wire_len_of(const req_t *r)
{
    size_t n;
    al_batch_wire(r->batch, &n);
    return n;
}

static int start_request(al_sender_t *s, req_t *r, uint64_t now)
{
    CURL *e = s->nidle > 0 ? s->idle[--s->nidle] : curl_easy_init();
    if (e == NULL)
        return -1;
    r->easy = e;
    r->resp_len = 0;
    r->retry_after_ms = 0;
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    size_t wire_len;
    const void *wire = al_batch_wire(r->batch, &wire_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, wire);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)wire_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                     r->batch->gz_len > 0 && s->o.kind->may_gzip ? s->gz_headers : s->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    al_http_conf_t hc = al_send_http_conf(&s->o);
    al_http_easy_setup(e, &hc);
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        r->easy = NULL;
        curl_easy_cleanup(e);
        return -1;
    }
    if (r->first_ms == 0)
        r->first_ms = now;
    if (s->began_ms == 0)
        s->began_ms = now;
    r->start_ms = now;
    r->attempt++;
    journal(s, AL_JOURNAL_SENT, r->batch); /* synced before curl sends it */
    s->flying[s->in_flight++] = r;
    s->flying_bytes += held_of(r);
    return 0;
}

/* Tells the caller's on_request about one finished attempt. why (may be
 * NULL) explains an outcome that is not the answer's plain meaning. */
static void report_attempt(al_sender_t *s, const req_t *r, long status, CURLcode res, uint64_t now,
                           const char *outcome, const char *why)
{
    struct timespec ts;
    al_request_info_t info;
    size_t wire;
    if (s->o.on_request == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    info.unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    info.batch_id = r->id;
    info.events = r->batch->events;
    al_batch_wire(r->batch, &wire);
    info.bytes = wire;
    info.status = status;
    info.error = why != NULL ? why : res == CURLE_OK ? NULL : curl_easy_strerror(res);
    info.latency_ms = now - r->start_ms;
    info.attempt = r->attempt;
    info.outcome = outcome;
    s->o.on_request(s->o.on_request_ctx, &info);
}

/* Plans the next attempt of r: *delay is its backoff (or the server's
 * Retry-After). @return AL_FAIL_COUNT when it fits the batch's --retry-time
 * budget; else why not (a cause, and words for the audit in why). */
static al_fail_cause_t plan_retry(al_sender_t *s, const req_t *r, uint64_t now, uint64_t *delay,
                                  char *why, size_t cap)
{
    uint64_t used = now - r->first_ms, budget = s->o.retry_time_ms;
    uint64_t left = budget > used ? budget - used : 0;
    *delay = al_backoff_delay_ms(r->attempt, AL_BACKOFF_BASE_MS, AL_BACKOFF_CAP_MS,
                                 r->retry_after_ms, &s->rng);
    if (*delay <= left)
        return AL_FAIL_COUNT;
    if (r->retry_after_ms > left) {
        snprintf(why, cap, "Retry-After %llu s is beyond the %llu s left of --retry-time",
                 (unsigned long long)(r->retry_after_ms + 999) / 1000,
                 (unsigned long long)left / 1000);
        return AL_FAIL_RETRY_AFTER;
    }
    snprintf(why, cap, "--retry-time (%llu s) used up after %u attempts",
             (unsigned long long)budget / 1000, r->attempt);
    return AL_FAIL_RETRY_BUDGET;
}

/* Stops delivery on an endpoint that cannot be reached: cause says how.
 * r is left for the drain (unresolved in a resumable run). */
static void stop_unreachable(al_sender_t *s, req_t *r, const char *cause)
{
    al_diag_t d;
    al_diag_set(&d, s->o.url, 0);
    snprintf(d.detail, sizeof(d.detail), "%.*s", (int)sizeof(d.detail) - 1, cause);
    al_first_err_set(&s->first, AL_ERR_UNREACHABLE, &d);
    atomic_store(&s->stopped, 1);
    list_push(&s->ready, r, 1);
}

/* The endpoint took connections but never answered one request before
 * r's --retry-time was spent (it drops them, or hangs): the events are not
 * undeliverable on their own account, the endpoint is wrong or down. */
static void never_answered(al_sender_t *s, req_t *r, CURLcode res, uint64_t now)
{
    char last[256], why[400];
    report_attempt(s, r, 0, res, now, "config", NULL);
    al_http_describe(last, sizeof(last), s->o.url, 0, (int)res, r->os_errno);
    snprintf(why, sizeof(why), "no answer to any request in %llu s; the last attempt: %s",
             (unsigned long long)(now - s->began_ms + 500) / 1000, last);
    stop_unreachable(s, r, why);
}

/* Retries r after a backoff, or fails its events when the budget is spent;
 * reports the attempt that led here with the decision (unless it was
 * reported already). @return 1 when it will be retried. */
static int schedule_retry(al_sender_t *s, req_t *r, long status, CURLcode res, uint64_t now,
                          int report)
{
    char why[160];
    uint64_t delay;
    al_fail_cause_t cause = plan_retry(s, r, now, &delay, why, sizeof(why));
    if (cause != AL_FAIL_COUNT && !s->answered) {
        /* not the events' fault: the endpoint never answered at all */
        never_answered(s, r, res, now);
        return 0;
    }
    if (cause != AL_FAIL_COUNT) {
        if (report)
            report_attempt(s, r, status, res, now, "failed", why);
        fail_events(s, r->batch, NULL, 0, cause);
        req_free(s, r);
        return 0;
    }
    if (report)
        report_attempt(s, r, status, res, now, "retry", NULL);
    COUNT(s, retries, retries, 1);
    r->due_ms = now + delay;
    list_push(&s->deferred, r, 0);
    return 1;
}

static void retry_or_fail(al_sender_t *s, req_t *r, long status, CURLcode res, uint64_t now)
{
    (void)schedule_retry(s, r, status, res, now, 1);
}

/* Identify: an answer that leaves r's fate unknown (a 5xx, a connection
 * lost after the request left): it may have been applied. Its
 * non-idempotent identifications are held; the rest retry. */
static void in_doubt(al_sender_t *s, req_t *r, long status, CURLcode res, uint64_t now)
{
    uint32_t n = r->batch->events;
    int report = 1;
    if (!s->o.resend_non_idempotent) {
        for (uint32_t i = 0; i < n && report; i++)
            if (r->batch->origin[i].flags & AL_ORIGIN_NON_IDEMPOTENT) {
                char why[96];
                snprintf(why, sizeof(why), "in doubt: non-idempotent identifications held");
                report_attempt(s, r, status, res, now, "held", why);
                report = 0;
            }
    }
    r = hold_in_doubt(s, r, AL_ORIGIN_NON_IDEMPOTENT);
    if (r == NULL)
        return;
    n = r->batch->events;
    if (schedule_retry(s, r, status, res, now, report))
        s->st.resent_in_doubt += n;
}

/* @return 1 when curl's failure means the request never left (nothing can
 * have been applied). */
/* @return 1 when the connection was closed with no answer at all (not a
 * timeout: a slow server is not a wrong one). */
static int closed_unanswered(CURLcode res)
{
    return res == CURLE_GOT_NOTHING || res == CURLE_RECV_ERROR || res == CURLE_SEND_ERROR;
}

static int never_left(CURLcode res, long connect_ms)
{
    return (res != CURLE_OPERATION_TIMEDOUT && al_http_connect_error(res, connect_ms)) ||
           al_http_tls_error(res);
}

static void pause_id(al_sender_t *s, uint64_t id, uint64_t until)
{
    for (size_t i = 0; i < s->npaused; i++) {
        if (s->paused[i].id == id) {
            if (s->paused[i].until_ms < until)
                s->paused[i].until_ms = until;
            return;
        }
    }
    if (s->npaused == s->cap_paused) {
        size_t cap = s->cap_paused ? s->cap_paused * 2 : 64;
        pause_t *p = realloc(s->paused, cap * sizeof(*p));
        if (p == NULL)
            return; /* not pausing only means the server may throttle it again */
        s->paused = p;
        s->cap_paused = cap;
    }
    s->paused[s->npaused++] = (pause_t){id, until};
}

/* @return when id's pause ends, or 0 if it is not paused. */
static uint64_t paused_until(const al_sender_t *s, uint64_t id)
{
    if (id == 0)
        return 0;
    for (size_t i = 0; i < s->npaused; i++)
        if (s->paused[i].id == id)
            return s->paused[i].until_ms;
    return 0;
}

/* Holds back the events of paused ids. @return the request to send now, or
 * NULL when all of it waits. */
static req_t *hold_paused(al_sender_t *s, req_t *r, uint64_t now)
{
    uint8_t *marks = s->resp.mark; /* scratch: the last response is resolved */
    uint64_t until = 0;
    uint32_t held = 0;
    size_t k = 0;

    for (size_t i = 0; i < s->npaused; i++) /* drop ended pauses */
        if (s->paused[i].until_ms > now)
            s->paused[k++] = s->paused[i];
    s->npaused = k;
    if (s->npaused == 0)
        return r;
    for (uint32_t i = 0; i < r->batch->events; i++) {
        uint64_t u = paused_until(s, r->batch->origin[i].uid);
        uint64_t d = paused_until(s, r->batch->origin[i].did);
        if (d > u)
            u = d;
        marks[i] = u > 0 ? AL_MARK_THROTTLED : AL_MARK_NONE;
        if (u > until)
            until = u;
        held += u > 0;
    }
    if (held == 0)
        return r;
    if (held == r->batch->events) {
        r->due_ms = until;
        list_push(&s->deferred, r, 0);
        return NULL;
    }
    requeue_marked(s, r, marks, AL_MARK_THROTTLED, until);
    requeue_marked(s, r, marks, AL_MARK_NONE, 0);
    req_free(s, r);
    return list_pop(&s->ready);
}

/* ---- answers: one handler per kind ---------------------------------------- */

static void on_ok(al_sender_t *s, req_t *r, uint64_t latency, uint64_t now)
{
    al_batch_t *b = r->batch;
    al_aimd_success(&s->aimd, latency, s->in_flight + 1, now);
    journal(s, AL_JOURNAL_ACKED, b); /* written before the line counts as resolved */
    for_tracks(s, b, NULL, NULL, 0, s->o.resolution.acked); /* before they count as resolved */
    resolve_tracks(s, b, NULL, NULL, 0);
    COUNT(s, events_sent, events_sent, b->events);
    s->st.batches_sent++;
    req_free(s, r);
}

/* 400 naming events: those go to the reject file, the rest again at once. */
static void on_drop(al_sender_t *s, req_t *r)
{
    al_response_t *rp = &s->resp;
    al_batch_t *b = r->batch;
    al_diag_t d;
    for (uint32_t i = 0; i < b->events; i++)
        if (rp->mark[i] != AL_MARK_NONE)
            reject_event(s, b, i, rp->reasons[rp->mark[i] - 1]);
    if (al_dl_writer_commit(&s->rejw, &d) == AL_ERR_OK)
        resolve_tracks(s, b, marked_any, rp->mark, 0);
    else
        write_fatal(s, &d);
    requeue_marked(s, r, rp->mark, AL_MARK_NONE, 0);
    req_free(s, r);
}

/* A configuration error: delivery stops, r fails with the rest. */
static void on_config(al_sender_t *s, req_t *r, long status)
{
    const al_response_t *rp = &s->resp;
    char why[512]; /* cut to al_diag_t.detail by set_fatal */
    if (status >= 200 && status < 300)
        snprintf(why, sizeof(why),
                 "%.160s; nothing says the events were ingested (a captive portal or a proxy? "
                 "check --endpoint)",
                 rp->error);
    else
        snprintf(why, sizeof(why), "HTTP %ld%s%.128s%s%.32s%s", status, rp->error[0] ? ": " : "",
                 rp->error, rp->missing_field[0] ? ", missing_field " : "", rp->missing_field,
                 al_response_not_inflated(rp, r->batch->gz_len > 0)
                     ? " (a gzip body: if the server does not take Content-Encoding: gzip, run "
                       "without --gzip)"
                     : "");
    set_fatal(s, AL_ERR_CONFIG, why);
    if (s->o.kind->fate_matters && status >= 200 && status < 300) {
        /* an answer nobody can read as "applied" or "not": in doubt */
        r = hold_in_doubt(s, r, AL_ORIGIN_NON_IDEMPOTENT);
        if (r == NULL)
            return;
    }
    list_push(&s->ready, r, 1); /* failed with the rest by the drain */
}

/* 413: halves, or a single event rejected. */
static void on_too_large(al_sender_t *s, req_t *r)
{
    al_response_t *rp = &s->resp;
    al_batch_t *b = r->batch;
    if (b->events == 1) {
        al_diag_t d;
        reject_event(s, b, 0, "server: payload too large (413) even alone");
        if (al_dl_writer_commit(&s->rejw, &d) == AL_ERR_OK)
            resolve_tracks(s, b, NULL, NULL, 0);
        else
            write_fatal(s, &d);
    } else {
        for (uint32_t i = 0; i < b->events; i++)
            rp->mark[i] = i < b->events / 2 ? 1 : 2;
        requeue_marked(s, r, rp->mark, 2, 0);
        requeue_marked(s, r, rp->mark, 1, 0);
    }
    req_free(s, r);
}

/* 429 with lists: quota events fail, throttled ones and their ids wait
 * (within the retry budget), the rest go again at once. */
static void on_throttled(al_sender_t *s, req_t *r, uint64_t now)
{
    al_response_t *rp = &s->resp;
    al_batch_t *b = r->batch;
    uint64_t until = now + s->o.throttle_wait_ms;
    for (size_t i = 0; i < rp->nthrottled; i++)
        pause_id(s, rp->throttled_ids[i], until);
    fail_events(s, b, rp->mark, AL_MARK_QUOTA, AL_FAIL_QUOTA);
    /* throttled events count against the budget too: a server that
     * throttles them for ever must not keep the run going for ever */
    if (until - r->first_ms > s->o.retry_time_ms)
        fail_events(s, b, rp->mark, AL_MARK_THROTTLED, AL_FAIL_THROTTLED);
    else
        requeue_marked(s, r, rp->mark, AL_MARK_THROTTLED, until);
    requeue_marked(s, r, rp->mark, AL_MARK_NONE, 0);
    req_free(s, r);
}

/* A connect that timed out reads, for the user, as a failed connect with
 * ETIMEDOUT (al_http_describe). */
static int connect_error_code(const req_t *r, CURLcode res)
{
    return res == CURLE_OPERATION_TIMEDOUT && r->connect_ms == 0 ? (int)CURLE_COULDNT_CONNECT
                                                                 : (int)res;
}

static long connect_error_errno(const req_t *r, CURLcode res)
{
    return res == CURLE_OPERATION_TIMEDOUT && r->connect_ms == 0 ? ETIMEDOUT : r->os_errno;
}

/* No connection to the endpoint has ever been made, and none could be for
 * o.unreachable_ms: a wrong URL, region, proxy or network. Delivery stops
 * with the cause; r never reached the server. */
static void on_unreachable(al_sender_t *s, req_t *r, CURLcode res, uint64_t now)
{
    char cause[384], why[512];
    journal(s, AL_JOURNAL_CLEAR, r->batch);
    report_attempt(s, r, 0, res, now, "config", NULL);
    al_http_describe(cause, sizeof(cause), s->o.url, 0, connect_error_code(r, res),
                     connect_error_errno(r, res));
    snprintf(why, sizeof(why), "%.380s; no connection in %llu s", cause,
             (unsigned long long)(now - s->began_ms + 500) / 1000);
    stop_unreachable(s, r, why);
}

/* The endpoint has not been reached yet: r is tried again after a backoff,
 * at the latest when o.unreachable_ms is up, when the next failure decides.
 * It never left, so it spends no retry budget and nothing is in doubt. */
static void retry_unreached(al_sender_t *s, req_t *r, CURLcode res, uint64_t now)
{
    uint64_t deadline = s->began_ms + s->o.unreachable_ms;
    uint64_t delay =
        al_backoff_delay_ms(r->attempt, AL_BACKOFF_BASE_MS, AL_BACKOFF_CAP_MS, 0, &s->rng);
    journal(s, AL_JOURNAL_CLEAR, r->batch);
    report_attempt(s, r, 0, res, now, "retry", NULL);
    COUNT(s, retries, retries, 1);
    r->due_ms = now + delay < deadline ? now + delay : deadline;
    list_push(&s->deferred, r, 0);
}

/* No answer: a TLS or URL failure stops delivery, and so does an endpoint
 * never reached for o.unreachable_ms; anything else retries. */
static void on_no_answer(al_sender_t *s, req_t *r, CURLcode res, uint64_t now)
{
    if (al_http_tls_error(res) || res == CURLE_UNSUPPORTED_PROTOCOL || res == CURLE_URL_MALFORMAT) {
        char why[200];
        journal(s, AL_JOURNAL_CLEAR, r->batch); /* it never reached the server */
        report_attempt(s, r, 0, res, now, "config", NULL);
        snprintf(why, sizeof(why), "request failed: %s", curl_easy_strerror(res));
        set_fatal(s, AL_ERR_CONFIG, why);
        list_push(&s->ready, r, 1); /* failed with the rest by the drain */
        return;
    }
    if (!s->connected && al_http_connect_error(res, r->connect_ms)) {
        if (now >= s->began_ms + s->o.unreachable_ms)
            on_unreachable(s, r, res, now);
        else
            retry_unreached(s, r, res, now);
        return;
    }
    if (!s->answered && closed_unanswered(res) && now >= s->began_ms + s->o.unreachable_ms) {
        /* it takes connections and closes every one unanswered: another
         * service on that port, or a proxy refusing; not a slow server */
        never_answered(s, r, res, now);
        return;
    }
    if (res == CURLE_OPERATION_TIMEDOUT)
        al_aimd_congestion(&s->aimd, now);
    if (s->o.kind->fate_matters && !never_left(res, r->connect_ms)) {
        in_doubt(s, r, 0, res, now);
        return;
    }
    journal(s, AL_JOURNAL_CLEAR, r->batch);
    retry_or_fail(s, r, 0, res, now);
}

/* Takes a finished transfer out of the window and counts it. @return its
 * HTTP status (0 without an answer). */
static long land(al_sender_t *s, req_t *r, CURLcode res)
{
    long status = 0;
    size_t wire = wire_len_of(r);
    curl_off_t connect_us = 0;
    curl_multi_remove_handle(s->multi, r->easy);
    if (res == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    r->os_errno = 0;
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &r->os_errno);
    r->connect_ms = connect_us > 0 ? (long)(connect_us / 1000) + 1 : 0;
    if (res == CURLE_OK || r->connect_ms > 0)
        s->connected = 1;
    if (res == CURLE_OK)
        s->answered = 1;
    release_easy(s, r);
    for (uint32_t i = 0; i < s->in_flight; i++) {
        if (s->flying[i] == r) {
            s->flying[i] = s->flying[s->in_flight - 1];
            break;
        }
    }
    s->in_flight--;
    s->flying_bytes -= held_of(r);
    COUNT(s, requests, requests, 1);
    if (s->live != NULL && (res != CURLE_OK || status < 200 || status >= 300))
        atomic_store_explicit(&s->live->last_error,
                              al_live_error_pack(status, (int)res, connect_error_errno(r, res)),
                              memory_order_relaxed);
    if (res != CURLE_OK)
        return 0;
    COUNT(s, bytes_sent, bytes_sent, wire);
    if (status == 429)
        COUNT(s, http_429, http_429, 1);
    if (status >= 500)
        COUNT(s, http_5xx, http_5xx, 1);
    return status;
}

/* Applies the verdict on a finished transfer (response.c's rules). */
static void on_done(al_sender_t *s, req_t *r, CURLcode res, uint64_t now)
{
    al_response_t *rp = &s->resp;
    al_batch_t *b = r->batch;
    uint64_t latency = now - r->start_ms;
    long status = land(s, r, res);
    int bare_429;

    if (res != CURLE_OK) {
        on_no_answer(s, r, res, now);
        return;
    }
    if (s->o.kind->parse(rp, status, r->resp, r->resp_len, b->events, s->o.secret) != AL_ERR_OK) {
        retry_or_fail(s, r, status, res, now); /* out of memory reading the lists */
        return;
    }
    if (status >= 400 && status < 500)
        journal(s, AL_JOURNAL_CLEAR, b); /* refused: nothing was applied */
    if (s->o.kind->fate_matters && rp->kind == AL_RESP_RETRY && status >= 500) {
        al_aimd_congestion(&s->aimd, now);
        in_doubt(s, r, status, res, now);
        al_response_free(rp);
        return;
    }
    if (al_response_not_inflated(rp, b->gz_len > 0))
        rp->kind = AL_RESP_CONFIG; /* retrying cannot mend it */
    bare_429 =
        rp->kind == AL_RESP_THROTTLED && al_response_mark_quota(rp, b) == 0 && rp->throttled == 0;
    if (rp->kind == AL_RESP_THROTTLED || (rp->kind == AL_RESP_RETRY && status == 503))
        al_aimd_congestion(&s->aimd, now);
    /* a retry reports its own attempt, with the decision the budget allows */
    if (rp->kind == AL_RESP_RETRY || bare_429) {
        retry_or_fail(s, r, status, res, now);
        al_response_free(rp);
        return;
    }
    report_attempt(s, r, status, res, now, al_resp_kind_name(rp->kind), NULL);
    switch (rp->kind) {
    case AL_RESP_OK:
        on_ok(s, r, latency, now);
        break;
    case AL_RESP_DROP:
        on_drop(s, r);
        break;
    case AL_RESP_UNDELIVERABLE:
        fail_events(s, b, NULL, 0, AL_FAIL_REFUSED);
        req_free(s, r);
        break;
    case AL_RESP_CONFIG:
        on_config(s, r, status);
        break;
    case AL_RESP_TOO_LARGE:
        on_too_large(s, r);
        break;
    case AL_RESP_THROTTLED:
        on_throttled(s, r, now);
        break;
    case AL_RESP_RETRY:
        break; /* handled above */
    }
    al_response_free(rp);
}

/* Ends every request still held: in flight, ready, deferred, and the
 * batches still queued. With fail set (a fatal error in a run that cannot be
 * resumed) their events go to the failed file; otherwise (an interruption,
 * or a fatal error in a resumable run) they are left unresolved, for the
 * next run to send. */
static void drain(al_sender_t *s, int fail)
{
    req_t *r;
    void *item;

    al_queue_close(&s->in);
    while (s->in_flight > 0) {
        r = s->flying[--s->in_flight];
        s->flying_bytes -= held_of(r);
        curl_multi_remove_handle(s->multi, r->easy);
        if (fail) /* it left: an identification in it may have been applied */
            r = hold_in_doubt(s, r, AL_ORIGIN_NON_IDEMPOTENT);
        if (r == NULL)
            continue;
        if (fail)
            fail_events(s, r->batch, NULL, 0, AL_FAIL_STOPPED);
        req_free(s, r);
    }
    for (;;) {
        r = list_pop(&s->ready);
        if (r == NULL)
            r = list_pop(&s->deferred);
        if (r == NULL)
            break;
        if (fail)
            fail_events(s, r->batch, NULL, 0, AL_FAIL_STOPPED);
        req_free(s, r);
    }
    while (al_queue_try_pop(&s->in, &item) == 1) {
        if (fail)
            fail_events(s, item, NULL, 0, AL_FAIL_STOPPED);
        al_batch_free(item);
    }
}

/* Moves the deferred requests that are due to ready; *wake gets the next
 * due time of the others. */
static void release_due(al_sender_t *s, uint64_t now, uint64_t *wake)
{
    for (req_t **link = &s->deferred.head; *link != NULL;) {
        req_t *r = *link;
        if (r->due_ms <= now) {
            list_push(&s->ready, list_unlink(&s->deferred, link), 0);
        } else {
            if (r->due_ms < *wake)
                *wake = r->due_ms;
            link = &r->next;
        }
    }
}

/* Identify: identifications an earlier run had in flight when it stopped
 * are in doubt; the non-idempotent ones are held, the others sent again.
 * @return what is left of r, or NULL. */
static req_t *resume_in_doubt(al_sender_t *s, req_t *r)
{
    uint64_t was_sent = 0;
    r = hold_in_doubt(s, r, AL_ORIGIN_NON_IDEMPOTENT | AL_ORIGIN_WAS_SENT);
    for (uint32_t i = 0; r != NULL && i < r->batch->events; i++)
        was_sent += (r->batch->origin[i].flags & AL_ORIGIN_WAS_SENT) != 0;
    s->st.resent_in_doubt += was_sent;
    return r;
}

/* @return the next request to start: a ready one, else a new batch from
 * the input queue (only while deferred requests hold less than their byte
 * bound), or NULL. */
static req_t *next_request(al_sender_t *s)
{
    req_t *r = list_pop(&s->ready);
    while (r == NULL) {
        void *item;
        int rc;
        if (s->deferred.bytes > DEFERRED_BYTES_CAP)
            return NULL;
        rc = al_queue_try_pop(&s->in, &item);
        if (rc == -1)
            s->input_done = 1;
        if (rc != 1)
            return NULL;
        r = req_new(s, item, NULL);
        if (r == NULL) {
            fail_events(s, item, NULL, 0, AL_FAIL_NOMEM);
            al_batch_free(item);
        } else if (s->o.kind->fate_matters) {
            r = resume_in_doubt(s, r);
        }
    }
    return r;
}

/* Starts what the window, the byte bound and the rate allow; *wake gets
 * when the rate allows more. */
static void start_ready(al_sender_t *s, uint64_t now, uint64_t *wake)
{
    while (s->in_flight < al_aimd_window(&s->aimd)) {
        uint64_t wait;
        req_t *r = next_request(s);
        if (r == NULL)
            break;
        r = hold_paused(s, r, now);
        if (r == NULL)
            continue;
        if (s->in_flight > 0 && s->flying_bytes + held_of(r) > IN_FLIGHT_BYTES_CAP) {
            list_push(&s->ready, r, 1); /* memory bound: wait for an answer */
            break;
        }
        wait = al_bucket_take(&s->bucket, r->batch->events, now);
        if (wait > 0) {
            list_push(&s->ready, r, 1);
            if (now + wait < *wake)
                *wake = now + wait;
            break;
        }
        if (start_request(s, r, now) != 0) {
            fail_events(s, r->batch, NULL, 0, AL_FAIL_NOMEM);
            req_free(s, r);
        }
    }
    if (s->journal_dirty) {
        /* before curl sends anything just started: a crash from here on
         * finds them in the journal, in doubt */
        al_diag_t d;
        s->journal_dirty = 0;
        if (al_journal_flush(s->o.journal, 1, &d) != AL_ERR_OK)
            write_fatal(s, &d);
    }
    if (s->live != NULL) {
        atomic_store_explicit(&s->live->in_flight, s->in_flight, memory_order_relaxed);
        atomic_store_explicit(&s->live->window, al_aimd_window(&s->aimd), memory_order_relaxed);
    }
}

/* Lets curl work and applies the verdicts. @return how many completed. */
static int work(al_sender_t *s)
{
    CURLMsg *msg;
    int running, left, completed = 0;
    curl_multi_perform(s->multi, &running);
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        req_t *r;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        on_done(s, r, msg->data.result, al_mono_ms());
        completed++;
    }
    return completed;
}

static void *sender_main(void *arg)
{
    al_sender_t *s = arg;
    uint64_t stop_at = 0;
    al_diag_t d;

    for (;;) {
        uint64_t now = al_mono_ms(), wake = now + POLL_MAX_MS;
        int fatal = atomic_load(&s->stopped);
        if (fatal && al_first_err_get(&s->first, NULL) == AL_ERR_WRITE)
            break; /* nothing more can be recorded */
        if (fatal || (s->o.stop != NULL && atomic_load(s->o.stop))) {
            /* interrupted, or stopped by a configuration error: start
             * nothing new; requests in flight get a while to answer, so
             * what they carried is resolved (not left in doubt) */
            if (stop_at == 0) {
                stop_at = now;
                al_queue_close(&s->in);
            }
            if (s->in_flight == 0 || now >= stop_at + s->o.drain_ms) {
                s->interrupted = !fatal;
                break;
            }
        } else {
            release_due(s, now, &wake);
            start_ready(s, now, &wake);
            if (atomic_load(&s->stopped))
                break; /* the journal could not be written: send nothing unrecorded */
            if (s->input_done && s->in_flight == 0 && s->ready.n == 0 && s->deferred.n == 0)
                break;
        }
        if (work(s) > 0 || atomic_load(&s->stopped) != fatal)
            continue; /* room in the window: start queued work before sleeping */
        now = al_mono_ms();
        if (s->ready.n > 0 && s->in_flight < al_aimd_window(&s->aimd) && wake > now + 1)
            wake = now + 1; /* ready work waits only for the rate limiter */
        curl_multi_poll(s->multi, NULL, 0, (int)(wake > now ? wake - now : 0), NULL);
    }
    if (atomic_load(&s->stopped) || s->interrupted)
        drain(s, !s->interrupted && !s->o.resumable);
    if (al_dl_writer_flush(&s->rejw, &d) != AL_ERR_OK)
        write_fatal(s, &d);
    if (al_dl_writer_flush(&s->failw, &d) != AL_ERR_OK)
        write_fatal(s, &d);
    if (s->o.held != NULL && al_dl_writer_flush(&s->heldw, &d) != AL_ERR_OK)
        write_fatal(s, &d);
    return NULL;
}

/* ---- public ------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

al_err_t al_sender_start(al_sender_t **out, const al_send_opts_t *opts, al_deadletter_t *rejects,
                         al_deadletter_t *failed, const char *const *paths, al_live_t *live,
                         al_diag_t *diag)
{
    al_sender_t *s = calloc(1, sizeof(*s));
    uint64_t now = al_mono_ms();
    al_err_t err = AL_ERR_OK;

    *out = NULL;
    memset(diag, 0, sizeof(*diag));
    if (s == NULL)
        return AL_ERR_NOMEM;
    pthread_once(&curl_once, curl_setup);
    s->o = *opts;
    if (s->o.concurrency < 1)
        s->o.concurrency = 1;
    if (s->o.concurrency > AL_MAX_CONCURRENCY)
        s->o.concurrency = AL_MAX_CONCURRENCY;
    if (s->o.unreachable_ms == 0)
        s->o.unreachable_ms = AL_DEFAULT_UNREACHABLE_MS;
    if (s->o.unreachable_ms > s->o.retry_time_ms)
        s->o.unreachable_ms = s->o.retry_time_ms;
    s->failed = failed;
    s->paths = paths;
    s->live = live;
    al_first_err_init(&s->first);
    al_dl_writer_init(&s->rejw, rejects);
    al_dl_writer_init(&s->failw, failed);
    if (s->o.held != NULL)
        al_dl_writer_init(&s->heldw, s->o.held);
    al_aimd_init(&s->aimd, s->o.concurrency, s->o.adaptive);
    al_bucket_init(&s->bucket, s->o.rate_eps,
                   s->o.rate_burst > 0 ? s->o.rate_burst : AL_MAX_BATCH_EVENTS, now);
    al_rng_seed(&s->rng, s->o.seed ? s->o.seed : now * 2654435761ULL);
    err = al_queue_init(&s->in, INPUT_QUEUE_CAP);
    if (err == AL_ERR_OK)
        al_queue_set_byte_cap(&s->in, INPUT_QUEUE_BYTES);
    if (err != AL_ERR_OK) {
        free(s);
        return err;
    }
    s->multi = curl_multi_init();
    s->headers = al_http_headers(s->o.kind->body);
    s->gz_headers = al_http_headers(AL_BODY_GZIP);
    if (s->multi == NULL || s->headers == NULL || s->gz_headers == NULL) {
        err = AL_ERR_HTTP_CLIENT;
        goto fail;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->o.concurrency);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->o.concurrency);
    curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (pthread_create(&s->tid, NULL, sender_main, s) != 0) {
        err = AL_ERR_THREAD;
        goto fail;
    }
    s->started = 1;
    *out = s;
    return AL_ERR_OK;
fail:
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->gz_headers);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    al_queue_destroy(&s->in);
    al_first_err_destroy(&s->first);
    free(s);
    return err;
}

al_err_t al_sender_submit(void *ctx, al_batch_t *b)
{
    al_sender_t *s = ctx;
    al_dl_writer_t w;
    al_diag_t d;
    al_err_t err;

    if (!atomic_load(&s->stopped) && al_queue_push_sized(&s->in, b, held_by(b))) {
        curl_multi_wakeup(s->multi);
        return AL_ERR_OK;
    }
    if (!atomic_load(&s->stopped)) {
        /* interrupted: these events stay unresolved; a resume reads them again */
        al_batch_free(b);
        return AL_ERR_INTERRUPTED;
    }
    if (s->o.resumable) {
        /* delivery stopped on an error: these stay unresolved too, for the
         * same command to send after the fix */
        al_batch_free(b);
        err = al_first_err_get(&s->first, NULL);
        return err != AL_ERR_OK ? err : AL_ERR_CONFIG;
    }
    /* Delivery has stopped: these events are undeliverable, not lost. */
    al_dl_writer_init(&w, s->failed);
    for (uint32_t i = 0; i < b->events; i++)
        write_failed(s, &w, b, i);
    if (al_dl_writer_flush(&w, &d) == AL_ERR_OK) {
        resolve_tracks(s, b, NULL, NULL, 0); /* on the submitting thread (send.h) */
        atomic_fetch_add(&s->submit_failed, b->events);
        if (s->live != NULL)
            atomic_fetch_add_explicit(&s->live->failed, b->events, memory_order_relaxed);
    } else {
        write_fatal(s, &d); /* not in the failed file: neither failed nor resolved */
    }
    al_batch_free(b);
    err = al_first_err_get(&s->first, NULL);
    if (err == AL_ERR_OK)
        err = AL_ERR_CONFIG;
    return err;
}

void al_sender_finish(al_sender_t *s)
{
    al_queue_close(&s->in);
    curl_multi_wakeup(s->multi);
}

al_err_t al_sender_join(al_sender_t *s, al_stats_t *stats, al_diag_t *diag)
{
    al_err_t err;
    memset(diag, 0, sizeof(*diag));
    if (s->started)
        pthread_join(s->tid, NULL);
    s->st.failed += atomic_load(&s->submit_failed);
    /* handed over after delivery stopped: failed for that reason too */
    s->st.failed_by_cause[AL_FAIL_STOPPED] += atomic_load(&s->submit_failed);
    al_stats_merge(stats, &s->st);
    for (int i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    free(s->paused);
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->gz_headers);
    curl_multi_cleanup(s->multi);
    al_queue_destroy(&s->in);
    err = al_first_err_get(&s->first, diag);
    if (err == AL_ERR_OK && s->interrupted)
        err = AL_ERR_INTERRUPTED;
    al_first_err_destroy(&s->first);
    free(s);
    return err;
}

al_http_conf_t al_send_http_conf(const al_send_opts_t *o)
{
    al_http_conf_t c = {o->url, o->connect_timeout_ms, o->request_timeout_ms, o->insecure,
                        o->ca_file};
    return c;
}
