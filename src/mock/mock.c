/* mock.c - ampload-mock: a local Amplitude-compatible /batch server.
 *
 * What it is for. Integration tests and benchmarks need a server that answers
 * exactly like Amplitude - same status codes, same JSON shapes - and that can
 * be told to misbehave on purpose, reproducibly. It must also judge the loader
 * independently: events are validated here with jansson and event_check.c,
 * never with the loader's own scanner.
 *
 * Behaviour per POST /batch, in order:
 *   --sink: count the request and answer 200 without parsing (benchmarks).
 *   Content-Encoding: gzip bodies are inflated first (corrupt: 400; any
 *   other encoding: 415); with --no-gzip the header is ignored, as by a
 *   server without gzip support, so a compressed body is invalid JSON.
 *   body (inflated) over --max-body: 413.
 *   injected faults (--drop-rate: close without answering; --fail-rate: a
 *   500/502/503/504 mix, where 500/502/504 ingest the batch half of the time
 *   before failing, as Amplitude may).
 *   not JSON: 400 "Invalid JSON request body"; no api_key: 400 missing_field;
 *   wrong key (--api-key): 400 "Invalid API key".
 *   invalid events, or events named by --reject-event-type: 400 with the
 *   index lists (only the first index with --first-invalid-only); nothing is
 *   ingested.
 *   ids over --eps-per-id (events per second per user/device, counted over
 *   tumbling windows of --eps-window seconds) or over --daily-quota: 429 with
 *   throttled_events and the id maps; nothing is ingested.
 *   otherwise 200: events are deduplicated by insert_id, counted, and written
 *   to --record as compact JSON lines.
 * POST /identify (identify.c): the same faults, then the form: a missing or
 * wrong key as for /batch; an identification that is not one, or no
 * identification: 400 "missing_event" (text), nothing applied; ids over
 * --eps-per-id: 429 as for /batch; otherwise each identification applied to
 * its user's properties, written to --record, and 200 "success".
 * GET /stats returns the counters as JSON; GET /users the user properties.
 *
 * Threads: libmicrohttpd runs one thread per connection (so --latency-ms
 * delays only its own connection). All shared state lives in one mock_t
 * under one mutex, held only for bookkeeping, never while sleeping or
 * parsing. The random source for faults is seeded (--seed) and shared, so a
 * run's fault sequence depends only on the seed and the request order.
 */
#include "event_check.h"
#include "export.h"
#include "identify.h"
#include "mock_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define HARD_BODY_CAP (64u * 1024u * 1024u)

/* ---- a small open-addressing map: 64-bit key -> two counters ------------- */

typedef struct {
    uint64_t key; /* 0 = empty */
    uint64_t a, b;
} slot_t;

typedef struct {
    slot_t *s;
    size_t cap, n;
} map_t;

static slot_t *map_get(map_t *m, uint64_t key)
{
    size_t i;
    if (key == 0)
        key = 1;
    if (m->n * 2 >= m->cap) {
        map_t g = {calloc(m->cap ? m->cap * 2 : 1024, sizeof(slot_t)), m->cap ? m->cap * 2 : 1024,
                   0};
        if (g.s == NULL) {
            fprintf(stderr, "ampload-mock: out of memory\n");
            exit(1);
        }
        for (size_t k = 0; k < m->cap; k++)
            if (m->s[k].key != 0)
                *map_get(&g, m->s[k].key) = m->s[k];
        free(m->s);
        *m = g;
    }
    for (i = key & (m->cap - 1); m->s[i].key != 0 && m->s[i].key != key; i = (i + 1) & (m->cap - 1))
        ;
    if (m->s[i].key == 0) {
        m->s[i].key = key;
        m->n++;
    }
    return &m->s[i];
}

static uint64_t hash_str(char tag, const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ (unsigned char)tag) * 1099511628211ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* ---- server state ------------------------------------------------------- */

typedef struct {
    mock_args_t o;         /* the options, fixed after start */
    const char *bogus_200; /* answer every /batch 200 with this body, ingesting nothing */
    mock_store_t *store;   /* --export or --record-dir: events kept per project */
    /* the export's own faults (o.export_504_first, o.export_empty_zip, and:),
     * until SIGUSR1 heals the server */
    int64_t export_504_hour; /* --export-504-hour: 504 to windows holding it; -1 none */
    atomic_int healed;       /* SIGUSR1 came: the export faults are off */
    uint64_t export_requests;
    mock_users_t *users; /* user properties set through POST /identify */
    /* shared, under lock */
    pthread_mutex_t lock;
    uint64_t rng;
    FILE *record;
    map_t seen_insert_ids;
    map_t rate;  /* id -> (window start s, events in window) */
    map_t daily; /* id -> (accepted events, -) */
    uint64_t requests, events_received, accepted, duplicates, rejected, throttled, over_quota;
    uint64_t bytes, dropped;
    uint64_t gzip_requests; /* POST /batch with Content-Encoding: gzip */
    uint64_t identifications_received, identified;
    uint64_t status[600];
} mock_t;

typedef struct {
    char *buf;
    size_t len, cap;
    size_t total; /* bytes received, kept even past the cap */
    int encoding; /* Content-Encoding: 0 none (identity), 1 gzip, -1 another */
} upload_t;

typedef struct {
    int status;
    char *body;        /* malloc'd JSON, or body_len bytes of ctype */
    size_t body_len;   /* 0: strlen(body) */
    const char *ctype; /* NULL: application/json */
    int retry_after;   /* add the header */
    int drop;          /* close without answering */
} reply_t;

static double rand01(mock_t *m)
{
    uint64_t x = m->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    m->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

static void set_json(reply_t *r, int status, json_t *doc)
{
    r->status = status;
    r->body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
}

static void set_error(reply_t *r, int status, const char *error)
{
    set_json(r, status, json_pack("{s:i,s:s}", "code", status, "error", error));
}

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Adds index i to doc[group][field] (creating both). */
static void list_index(json_t *doc, const char *group, const char *field, size_t i)
{
    json_t *g = json_object_get(doc, group), *l;
    if (g == NULL) {
        g = json_object();
        json_object_set_new(doc, group, g);
    }
    l = json_object_get(g, field);
    if (l == NULL) {
        l = json_array();
        json_object_set_new(g, field, l);
    }
    json_array_append_new(l, json_integer((json_int_t)i));
}

static const char *group_of(const char *reason)
{
    if (strcmp(reason, "missing_event_type") == 0 || strcmp(reason, "missing_id") == 0)
        return "events_with_missing_fields";
    if (strcmp(reason, "id_too_short") == 0 || strcmp(reason, "id_placeholder") == 0)
        return "events_with_invalid_id_lengths";
    return "events_with_invalid_fields";
}

/* 400 with index lists when some events are invalid. @return 1 if it answered. */
static int refuse_invalid(mock_t *m, json_t *events, unsigned min_id, reply_t *r)
{
    json_t *doc =
        json_pack("{s:i,s:s}", "code", 400, "error", "Invalid field values on some events");
    size_t i, bad = 0;
    json_t *ev;

    json_array_foreach(events, i, ev)
    {
        const char *field = NULL, *why = mock_check_event(ev, min_id, &field);
        json_t *type = json_object_get(ev, "event_type");
        if (why == NULL && m->o.reject_event_type != NULL && json_is_string(type) &&
            strcmp(json_string_value(type), m->o.reject_event_type) == 0) {
            why = "event_type_refused";
            field = "event_type";
        }
        if (why == NULL)
            continue;
        list_index(doc, group_of(why), field, i);
        bad++;
        if (m->o.first_invalid_only)
            break;
    }
    if (bad == 0) {
        json_decref(doc);
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    m->rejected += bad;
    pthread_mutex_unlock(&m->lock);
    set_json(r, 400, doc);
    return 1;
}

typedef struct {
    const char *id;
    char tag; /* 'u' user, 'd' device */
    uint64_t n;
} id_count_t;

/* 429 when ids are over their rate or quota. Caller holds the lock.
 * @return 1 if it answered. */
static int refuse_throttled(mock_t *m, json_t *events, reply_t *r)
{
    size_t nev = json_array_size(events), nids = 0, i;
    id_count_t *ids = calloc(nev * 2 + 1, sizeof(*ids));
    json_t *doc, *tu = json_object(), *td = json_object(), *qu = json_object(), *qd = json_object(),
                 *te = json_array(), *ev;
    uint64_t now_s = now_ms() / 1000;
    uint64_t window = m->o.eps_window ? m->o.eps_window : 1;
    int any = 0;

    if (m->o.daily_quota == 0 && m->o.eps_per_id <= 0) {
        /* nothing to refuse: spare the per-id count (quadratic in ids) */
        free(ids);
        json_decref(tu);
        json_decref(td);
        json_decref(qu);
        json_decref(qd);
        json_decref(te);
        return 0;
    }
    /* events per id in this request */
    json_array_foreach(events, i, ev)
    {
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(ev, k == 0 ? "user_id" : "device_id");
            size_t j;
            if (!json_is_string(v))
                continue;
            for (j = 0; j < nids; j++)
                if (ids[j].tag == (k == 0 ? 'u' : 'd') &&
                    strcmp(ids[j].id, json_string_value(v)) == 0)
                    break;
            if (j == nids)
                ids[nids++] = (id_count_t){json_string_value(v), k == 0 ? 'u' : 'd', 0};
            ids[j].n++;
        }
    }
    for (size_t j = 0; j < nids; j++) {
        uint64_t h = hash_str(ids[j].tag, ids[j].id);
        if (m->o.daily_quota > 0) {
            slot_t *d = map_get(&m->daily, h);
            if (d->a + ids[j].n > m->o.daily_quota) {
                json_object_set_new(ids[j].tag == 'u' ? qu : qd, ids[j].id,
                                    json_integer((json_int_t)(d->a + ids[j].n)));
                any = 1;
                continue;
            }
        }
        if (m->o.eps_per_id > 0) {
            slot_t *s = map_get(&m->rate, h);
            uint64_t in_window = (s->a + window > now_s) ? s->b : 0;
            double eps = (double)(in_window + ids[j].n) / (double)window;
            if (eps > m->o.eps_per_id) {
                json_object_set_new(ids[j].tag == 'u' ? tu : td, ids[j].id,
                                    json_integer((json_int_t)eps));
                any = 1;
            }
        }
    }
    if (any) {
        json_array_foreach(events, i, ev)
        {
            json_t *u = json_object_get(ev, "user_id"), *d = json_object_get(ev, "device_id");
            int quota = (json_is_string(u) && json_object_get(qu, json_string_value(u))) ||
                        (json_is_string(d) && json_object_get(qd, json_string_value(d)));
            int thr = (json_is_string(u) && json_object_get(tu, json_string_value(u))) ||
                      (json_is_string(d) && json_object_get(td, json_string_value(d)));
            if (quota)
                m->over_quota++;
            else if (thr) {
                json_array_append_new(te, json_integer((json_int_t)i));
                m->throttled++;
            }
        }
        doc = json_pack("{s:i,s:s,s:I,s:O,s:O,s:O,s:O,s:O}", "code", 429, "error",
                        "Too many requests for some devices and users", "eps_threshold",
                        (json_int_t)m->o.eps_per_id, "throttled_devices", td, "throttled_users", tu,
                        "exceeded_daily_quota_users", qu, "exceeded_daily_quota_devices", qd,
                        "throttled_events", te);
        set_json(r, 429, doc);
        r->retry_after = m->o.retry_after > 0;
    }
    json_decref(tu);
    json_decref(td);
    json_decref(qu);
    json_decref(qd);
    json_decref(te);
    free(ids);
    return any;
}

/* Counts an accepted event (or identification) against the rate and the
 * daily quota of its ids. Caller holds the lock. */
static void count_ids(mock_t *m, json_t *ev, uint64_t now_s)
{
    uint64_t window = m->o.eps_window ? m->o.eps_window : 1;
    if (m->o.daily_quota == 0 && m->o.eps_per_id <= 0)
        return; /* no limit to count against */
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(ev, k == 0 ? "user_id" : "device_id");
        uint64_t h;
        slot_t *s;
        if (!json_is_string(v))
            continue;
        h = hash_str(k == 0 ? 'u' : 'd', json_string_value(v));
        s = map_get(&m->rate, h);
        if (s->a + window <= now_s) {
            s->a = now_s - now_s % window;
            s->b = 0;
        }
        s->b++;
        map_get(&m->daily, h)->a++;
    }
}

/* Counts and records the events of an accepted request. Caller holds the lock.
 * @return events ingested (duplicates included, as Amplitude counts them). */
static size_t ingest(mock_t *m, const char *key, json_t *events)
{
    size_t i;
    json_t *ev;
    uint64_t now = now_ms(), now_s = now / 1000;
    /* insert_ids deduplicate within a project, as Amplitude's do */
    uint64_t project = (uint64_t)mock_project_app(key) * 0x9E3779B97F4A7C15ULL;

    json_array_foreach(events, i, ev)
    {
        json_t *iid = json_object_get(ev, "insert_id");
        if (json_is_string(iid)) {
            slot_t *s =
                map_get(&m->seen_insert_ids, hash_str('i', json_string_value(iid)) ^ project);
            if (s->a++ > 0) {
                m->duplicates++;
                continue;
            }
        }
        m->accepted++;
        count_ids(m, ev, now_s);
        if (m->store != NULL)
            mock_store_add(m->store, key, ev, now);
        if (m->record != NULL) {
            char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fprintf(m->record, "%s\n", text);
            free(text);
        }
    }
    if (m->record != NULL)
        fflush(m->record);
    return json_array_size(events);
}

/* Inflates a gzip body into *out (malloc'd). @return its length, or
 * (size_t)-1 when the data is not gzip, or `limit` + 1 once it grows past
 * limit (a 413, found without inflating all of a hostile body). */
static size_t gunzip(const char *in, size_t len, size_t limit, char **out)
{
    z_stream z;
    size_t cap = len * 8 + 65536, got = (size_t)-1;
    char *buf = NULL;
    int rc;

    *out = NULL;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return (size_t)-1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    do {
        if (z.total_out > limit) {
            got = limit + 1;
            goto out;
        }
        if (buf == NULL || z.total_out == cap) {
            char *nb;
            if (buf != NULL)
                cap *= 2;
            nb = realloc(buf, cap + 1);
            if (nb == NULL)
                goto out;
            buf = nb;
        }
        z.next_out = (Bytef *)buf + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK);
    if (rc == Z_STREAM_END && z.avail_in == 0)
        got = z.total_out > limit ? limit + 1 : z.total_out;
out:
    inflateEnd(&z);
    if (got == (size_t)-1 || got > limit)
        free(buf);
    else
        *out = buf;
    return got;
}

/* Answers a missing or wrong API key as Amplitude does. @return 1 if it
 * answered. */
static int refuse_key(mock_t *m, const char *key, reply_t *r)
{
    if (key == NULL || key[0] == '\0') {
        set_json(r, 400,
                 json_pack("{s:i,s:s,s:s}", "code", 400, "error", "Request missing required field",
                           "missing_field", "api_key"));
        return 1;
    }
    if (m->o.api_key != NULL && strcmp(key, m->o.api_key) != 0) {
        char msg[1400];
        if (m->o.echo_key_pad >= 0)
            snprintf(msg, sizeof(msg), "Invalid API key: %*s%.1024s (it is not %s)",
                     m->o.echo_key_pad, "", key, m->o.api_key);
        else
            snprintf(msg, sizeof(msg), "Invalid API key: %.4s...", key);
        set_error(r, 400, msg);
        return 1;
    }
    return 0;
}

/* Answers a request body that is a JSON object, as /batch does: the key
 * first, then the events array, then each event; ingests what passes. A
 * failure drawn with `partial` set is answered after ingesting. */
static void answer_doc(mock_t *m, json_t *doc, size_t body_len, int fail_status, reply_t *r)
{
    json_t *key, *events, *opts;
    unsigned min_id = 5;
    size_t n;

    key = json_object_get(doc, "api_key");
    events = json_object_get(doc, "events");
    if (refuse_key(m, json_string_value(key), r)) {
        /* answered */
    } else if (!json_is_array(events)) {
        set_json(r, 400,
                 json_pack("{s:i,s:s,s:s}", "code", 400, "error", "Request missing required field",
                           "missing_field", "events"));
    } else if (json_array_size(events) > 2000) {
        set_error(r, 400, "Too many events in request");
    } else {
        opts = json_object_get(doc, "options");
        if (json_is_integer(json_object_get(opts, "min_id_length")))
            min_id = (unsigned)json_integer_value(json_object_get(opts, "min_id_length"));
        pthread_mutex_lock(&m->lock);
        m->events_received += json_array_size(events);
        pthread_mutex_unlock(&m->lock);
        if (!refuse_invalid(m, events, min_id, r)) {
            pthread_mutex_lock(&m->lock);
            if (!refuse_throttled(m, events, r)) {
                n = ingest(m, json_string_value(key), events);
                if (fail_status == 0)
                    set_json(r, 200,
                             json_pack("{s:i,s:I,s:I,s:I}", "code", 200, "events_ingested",
                                       (json_int_t)n, "payload_size_bytes", (json_int_t)body_len,
                                       "server_upload_time", (json_int_t)now_ms()));
            }
            pthread_mutex_unlock(&m->lock);
            if (fail_status != 0 && r->status == 0)
                set_error(r, fail_status, "Injected failure after ingestion");
        }
    }
}

/* Draws this request's fault: a dropped connection (r->drop), or a 5xx in
 * *fail_status, *partial when it may ingest first (only 500/502/504 may, as
 * documented). Counts the request. */
static void draw_fault(mock_t *m, const upload_t *up, reply_t *r, int *fail_status, int *partial)
{
    pthread_mutex_lock(&m->lock);
    m->requests++;
    m->bytes += up->total;
    m->gzip_requests += up->encoding == 1;
    if (!m->o.sink) {
        if (m->o.drop_rate > 0 && rand01(m) < m->o.drop_rate) {
            m->dropped++;
            r->drop = 1;
        } else if (m->o.fail_rate > 0 && rand01(m) < m->o.fail_rate) {
            static const int codes[] = {500, 502, 503, 504};
            *fail_status = m->o.fail_status ? m->o.fail_status : codes[(int)(rand01(m) * 4) & 3];
            *partial = (*fail_status == 500 || *fail_status == 502 || *fail_status == 504) &&
                       rand01(m) < 0.5;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* What comes before reading a /batch or /identify body: the drawn fault (a
 * dropped connection answers nothing) and --bogus-200. @return 1 when r is
 * the answer. */
static int answered_first(mock_t *m, const upload_t *up, reply_t *r, int *fail_status, int *partial)
{
    draw_fault(m, up, r, fail_status, partial);
    if (r->drop)
        return 1;
    if (m->bogus_200 != NULL) {
        r->status = 200;
        r->body = strdup(m->bogus_200);
        return 1;
    }
    return 0;
}

static void handle_batch(mock_t *m, const upload_t *up, reply_t *r)
{
    json_t *doc;
    json_error_t jerr;
    int fail_status = 0, partial = 0;
    size_t body_len = up->total;
    const char *body = up->buf;
    char *inflated = NULL;

    if (answered_first(m, up, r, &fail_status, &partial))
        return;
    if (m->o.sink) {
        set_json(r, 200,
                 json_pack("{s:i,s:i,s:I,s:I}", "code", 200, "events_ingested", 0,
                           "payload_size_bytes", (json_int_t)up->total, "server_upload_time",
                           (json_int_t)now_ms()));
        return;
    }
    if (up->encoding < 0) {
        set_error(r, 415, "Unsupported Content-Encoding");
        return;
    }
    if (up->encoding == 1 && up->total <= up->len) {
        body_len = gunzip(up->buf, up->len, m->o.max_body, &inflated);
        if (body_len == (size_t)-1) {
            set_error(r, 400, "Invalid JSON request body");
            return;
        }
        body = inflated;
    }
    if (body_len > m->o.max_body) {
        set_error(r, 413, "Payload too large");
        return;
    }
    if (fail_status != 0 && !partial) {
        set_error(r, fail_status, "Injected failure");
        r->retry_after = (fail_status == 503 || fail_status == 429) && m->o.retry_after > 0;
        free(inflated);
        return;
    }
    doc = mock_json_load(body, body_len, 0, &jerr);
    free(inflated);
    if (!json_is_object(doc)) {
        json_decref(doc);
        set_error(r, 400, "Invalid JSON request body");
        return;
    }
    answer_doc(m, doc, body_len, fail_status, r);
    json_decref(doc);
}

static void set_text(reply_t *r, int status, const char *text)
{
    r->status = status;
    r->body = strdup(text);
    r->ctype = "text/plain";
}

/* Applies the identifications of an accepted request (array), or answers
 * 429 for ids over their rate. Caller holds the lock. @return 1 applied. */
static int apply_identifications(mock_t *m, const char *key, json_t *list, reply_t *r)
{
    size_t i;
    json_t *idn;
    uint64_t now_s = now_ms() / 1000;
    if (refuse_throttled(m, list, r))
        return 0;
    json_array_foreach(list, i, idn)
    {
        mock_users_apply(m->users, key, idn);
        count_ids(m, idn, now_s);
        m->identified++;
        if (m->record != NULL) {
            char *text = json_dumps(idn, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fprintf(m->record, "%s\n", text);
            free(text);
        }
    }
    if (m->record != NULL)
        fflush(m->record);
    return 1;
}

/* Answers the form fields of POST /identify: the key, then the
 * identifications (one object or an array), each checked before any is
 * applied; applied, unless throttled. */
static void answer_identify(mock_t *m, const char *key, const char *text, int fail_status,
                            reply_t *r)
{
    json_error_t jerr;
    json_t *doc, *list, *idn;
    size_t i;

    if (refuse_key(m, key, r))
        return;
    doc = text != NULL ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (json_is_object(doc)) {
        list = json_array();
        json_array_append_new(list, doc);
    } else {
        list = doc;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        json_decref(list);
        set_text(r, 400, "missing_event");
        return;
    }
    json_array_foreach(list, i, idn) if (mock_identification_error(idn) != NULL)
    {
        json_decref(list);
        set_text(r, 400, "missing_event");
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->identifications_received += json_array_size(list);
    if (apply_identifications(m, key, list, r) && fail_status == 0)
        set_text(r, 200, "success");
    pthread_mutex_unlock(&m->lock);
    if (fail_status != 0 && r->status == 0)
        set_error(r, fail_status, "Injected failure after ingestion");
    json_decref(list);
}

/* POST /identify: the faults of /batch, then the form. */
static void handle_identify(mock_t *m, const upload_t *up, reply_t *r)
{
    int fail_status = 0, partial = 0;
    char *key = NULL, *text = NULL;

    if (answered_first(m, up, r, &fail_status, &partial))
        return;
    if (m->o.sink) {
        set_text(r, 200, "success");
        return;
    }
    if (up->encoding != 0) {
        set_error(r, 415, "Unsupported Content-Encoding");
        return;
    }
    if (up->total > m->o.max_body) {
        set_error(r, 413, "Payload too large");
        return;
    }
    if (fail_status != 0 && !partial) {
        set_error(r, fail_status, "Injected failure");
        r->retry_after = fail_status == 503 && m->o.retry_after > 0;
        return;
    }
    if (mock_form_fields(up->buf != NULL ? up->buf : "", up->len, &key, &text) != 0) {
        set_text(r, 400, "missing_event");
        return;
    }
    answer_identify(m, key, text, fail_status, r);
    free(key);
    free(text);
}

static void handle_users(mock_t *m, reply_t *r)
{
    json_t *doc;
    pthread_mutex_lock(&m->lock);
    doc = mock_users_dump(m->users);
    pthread_mutex_unlock(&m->lock);
    set_json(r, 200, doc);
}

/* @return 1 when this export request meets one of the export's own faults
 * (--export-504-first, --export-504-hour) before SIGUSR1 healed them. */
static int export_504(mock_t *m, struct MHD_Connection *conn)
{
    int64_t h0, h1;
    int fault;
    pthread_mutex_lock(&m->lock);
    m->export_requests++;
    fault = m->export_requests <= m->o.export_504_first;
    pthread_mutex_unlock(&m->lock);
    if (atomic_load(&m->healed))
        return 0;
    if (fault)
        return 1;
    return m->export_504_hour >= 0 &&
           mock_export_parse_hour(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "start"),
                                  &h0) &&
           mock_export_parse_hour(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "end"),
                                  &h1) &&
           h0 <= m->export_504_hour && m->export_504_hour <= h1;
}

/* A zip without a member: the end-of-central-directory record alone. */
static void empty_zip(reply_t *r)
{
    static const unsigned char eocd[22] = {0x50, 0x4b, 0x05, 0x06};
    free(r->body);
    r->body = malloc(sizeof(eocd));
    memcpy(r->body, eocd, sizeof(eocd));
    r->body_len = sizeof(eocd);
}

/* GET /api/2/export: draws a fault like /batch, then answers from the store. */
static void handle_export(mock_t *m, struct MHD_Connection *conn, const upload_t *up, reply_t *r)
{
    int fail_status = 0, partial = 0;
    draw_fault(m, up, r, &fail_status, &partial);
    if (r->drop)
        return;
    if (fail_status == 0 && export_504(m, conn))
        fail_status = 504;
    if (fail_status != 0) {
        set_error(r, fail_status, "Injected failure");
        r->retry_after = (fail_status == 503 || fail_status == 429) && m->o.retry_after > 0;
        return;
    }
    if (m->store == NULL) {
        set_error(r, 404, "Not Found (start the mock with --export)");
        return;
    }
    pthread_mutex_lock(&m->lock);
    r->status =
        mock_export(m->store, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
                    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "start"),
                    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "end"), &r->body,
                    &r->body_len, &r->ctype);
    if (r->status == 200 && m->o.export_empty_zip > 0 && !atomic_load(&m->healed)) {
        m->o.export_empty_zip--;
        empty_zip(r);
    }
    pthread_mutex_unlock(&m->lock);
}

static void handle_stats(mock_t *m, reply_t *r)
{
    json_t *doc, *st = json_object();
    pthread_mutex_lock(&m->lock);
    for (int s = 0; s < 600; s++) {
        char k[8];
        if (m->status[s] == 0)
            continue;
        snprintf(k, sizeof(k), "%d", s);
        json_object_set_new(st, k, json_integer((json_int_t)m->status[s]));
    }
    doc = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "requests",
                    (json_int_t)m->requests, "events_received", (json_int_t)m->events_received,
                    "accepted", (json_int_t)m->accepted, "duplicates", (json_int_t)m->duplicates,
                    "rejected", (json_int_t)m->rejected, "throttled", (json_int_t)m->throttled,
                    "over_quota", (json_int_t)m->over_quota, "dropped", (json_int_t)m->dropped,
                    "bytes", (json_int_t)m->bytes, "gzip_requests", (json_int_t)m->gzip_requests,
                    "status", st);
    json_object_set_new(doc, "identifications_received",
                        json_integer((json_int_t)m->identifications_received));
    json_object_set_new(doc, "identified", json_integer((json_int_t)m->identified));
    pthread_mutex_unlock(&m->lock);
    set_json(r, 200, doc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    mock_t *m = cls;
    upload_t *up = *con_cls;
    reply_t r = {0};
    struct MHD_Response *resp;
    enum MHD_Result ret;
    (void)version;

    if (up == NULL) {
        const char *enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
        up = calloc(1, sizeof(*up));
        if (up == NULL)
            return MHD_NO;
        if (m->o.no_gzip || enc == NULL || strcasecmp(enc, "identity") == 0)
            up->encoding = 0;
        else if (strcasecmp(enc, "gzip") == 0)
            up->encoding = 1;
        else
            up->encoding = -1;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        size_t cap = m->o.max_body + 1 < HARD_BODY_CAP ? m->o.max_body + 1 : HARD_BODY_CAP;
        up->total += n;
        if (!m->o.sink && up->len + n <= cap) {
            if (up->len + n > up->cap) {
                size_t nc = up->cap ? up->cap : 65536;
                char *nb;
                while (nc < up->len + n)
                    nc *= 2;
                nb = realloc(up->buf, nc);
                if (nb == NULL)
                    return MHD_NO;
                up->buf = nb;
                up->cap = nc;
            }
            memcpy(up->buf + up->len, upload_data, n);
            up->len += n;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/batch") == 0 && strcmp(method, "POST") == 0)
        handle_batch(m, up, &r);
    else if (strcmp(url, "/identify") == 0 && strcmp(method, "POST") == 0)
        handle_identify(m, up, &r);
    else if (strcmp(url, "/stats") == 0 && strcmp(method, "GET") == 0)
        handle_stats(m, &r);
    else if (strcmp(url, "/users") == 0 && strcmp(method, "GET") == 0)
        handle_users(m, &r);
    else if (strcmp(url, "/api/2/export") == 0 && strcmp(method, "GET") == 0)
        handle_export(m, conn, up, &r);
    else if (strcmp(url, "/batch") == 0)
        set_error(&r, 405, "Method Not Allowed");
    else
        set_error(&r, 404, "Not Found");
    if (r.drop)
        return MHD_NO; /* closes the connection without a response */
    if (m->o.latency_ms > 0)
        usleep(m->o.latency_ms * 1000u);
    pthread_mutex_lock(&m->lock);
    m->status[r.status]++;
    pthread_mutex_unlock(&m->lock);
    resp = MHD_create_response_from_buffer(r.body_len ? r.body_len : strlen(r.body), r.body,
                                           MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", r.ctype ? r.ctype : "application/json");
    if (r.retry_after) {
        char v[16];
        snprintf(v, sizeof(v), "%u", m->o.retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    ret = MHD_queue_response(conn, (unsigned)r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    upload_t *up = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (up != NULL) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

/* @return the first option given that needs the request body --sink does
 * not read (silently dropping it would fake a server that checks it), or
 * NULL. */
static const char *sink_conflict(const mock_args_t *o)
{
    if (o->api_key != NULL)
        return "--api-key";
    if (o->max_body != MOCK_DEFAULT_MAX_BODY)
        return "--max-body";
    if (o->eps_per_id > 0)
        return "--eps-per-id";
    if (o->daily_quota > 0)
        return "--daily-quota";
    if (o->reject_event_type != NULL)
        return "--reject-event-type";
    if (o->first_invalid_only)
        return "--first-invalid-only";
    if (o->no_gzip)
        return "--no-gzip";
    if (o->echo_key_pad >= 0)
        return "--echo-key";
    if (o->record != NULL)
        return "--record";
    if (o->store.keep || o->store.record_dir != NULL)
        return "--export or --record-dir";
    return NULL;
}

/* Reads a whole (small) file into a NUL-terminated buffer, or NULL with a message. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (fp != NULL && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, fp) == (size_t)n) {
            buf[n] = '\0';
            fclose(fp);
            return buf;
        }
    }
    fprintf(stderr, "ampload-mock: %s: %s\n", path, strerror(errno ? errno : EIO));
    free(buf);
    if (fp != NULL)
        fclose(fp);
    return NULL;
}

typedef struct {
    char *tls_cert, *tls_key; /* PEM text, or NULL */
} args_t;

/* The body of --bogus-200 KIND. */
static const char *bogus_body(const char *kind)
{
    if (strcmp(kind, "html") == 0)
        return "<html><head><title>Sign in</title></head><body>Accept the terms of use to "
               "continue</body></html>\n";
    if (strcmp(kind, "empty") == 0)
        return "";
    return "{\"code\":400,\"error\":\"Invalid JSON request body\"}"; /* code400 */
}

/* What the options make together: TLS needs both halves, --sink takes no
 * option that needs a body, the files open, and the store opens.
 * @return -1 or an exit code. */
static int settle_args(mock_t *m, args_t *a)
{
    const mock_args_t *o = &m->o;
    const cli_optable_t *t = mock_options();
    if ((o->tls_cert == NULL) != (o->tls_key == NULL))
        return cli_opt_error(t, 1, "--tls-cert and --tls-key go together");
    if (o->sink && sink_conflict(o) != NULL)
        return cli_opt_error(t, 1,
                             "--sink reads no request body, so %s cannot apply; leave one "
                             "of them out",
                             sink_conflict(o));
    if (o->export_504_hour != NULL &&
        !mock_export_parse_hour(o->export_504_hour, &m->export_504_hour))
        return cli_opt_error(t, 1, "--export-504-hour: use YYYYMMDDTHH");
    m->bogus_200 = o->bogus != NULL ? bogus_body(o->bogus) : NULL;
    m->rng = o->seed * 0x9E3779B97F4A7C15ULL + 1;
    if (o->record != NULL && (m->record = fopen(o->record, "w")) == NULL) {
        fprintf(stderr, "ampload-mock: --record %s: %s\n", o->record, strerror(errno));
        return 1;
    }
    if ((o->tls_cert != NULL && (a->tls_cert = slurp(o->tls_cert)) == NULL) ||
        (o->tls_key != NULL && (a->tls_key = slurp(o->tls_key)) == NULL))
        return 1;
    if (o->store.keep || o->store.record_dir != NULL) {
        m->o.store.api_key = o->api_key;
        m->store = mock_store_new(&m->o.store);
        if (m->store == NULL)
            return 1;
    }
    return -1;
}

/* Listens on 127.0.0.1:port, over TLS when a certificate is given.
 * @return the daemon, or NULL. */
static struct MHD_Daemon *start_daemon(mock_t *m, const args_t *a)
{
    struct sockaddr_in addr;
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert},
                                   {MHD_OPTION_END, 0, NULL}};
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)m->o.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                (a->tls_cert != NULL ? MHD_USE_TLS : 0),
                            0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_ARRAY,
                            a->tls_cert != NULL ? tls : tls + 2, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
    mock_t m;
    args_t args = {NULL, NULL};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t sigs;
    int rc, sig;

    memset(&m, 0, sizeof(m));
    /* Every request builds and frees jansson trees on its connection's
     * thread; handing the freed memory back to the kernel each time and
     * faulting it in again cost a loaded mock about a twentieth. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    pthread_mutex_init(&m.lock, NULL);
    m.export_504_hour = -1;
    rc = mock_parse_args(&m.o, argc, argv);
    if (rc < 0)
        rc = settle_args(&m, &args);
    if (rc >= 0)
        return rc;
    m.users = mock_users_new();
    if (m.users == NULL)
        return 1;
    /* Signals are taken synchronously by the main thread below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGALRM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = start_daemon(&m, &args);
    if (d == NULL) {
        fprintf(stderr, "ampload-mock: cannot listen on 127.0.0.1:%u\n", m.o.port);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("ampload-mock listening on %s://127.0.0.1:%u\n", args.tls_cert ? "https" : "http",
           (unsigned)info->port);
    fflush(stdout);
    if (m.o.exit_after > 0)
        alarm(m.o.exit_after);
    while (sigwait(&sigs, &sig) == 0 && sig == SIGUSR1)
        atomic_store(&m.healed, 1);
    MHD_stop_daemon(d);
    if (m.record != NULL)
        fclose(m.record);
    mock_store_free(m.store);
    mock_users_free(m.users);
    free(args.tls_cert);
    free(args.tls_key);
    free(m.seen_insert_ids.s);
    free(m.rate.s);
    free(m.daily.s);
    fprintf(stderr, "ampload-mock: %llu requests, %llu events accepted, %llu duplicates\n",
            (unsigned long long)m.requests, (unsigned long long)m.accepted,
            (unsigned long long)m.duplicates);
    return 0;
}
