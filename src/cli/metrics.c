/* metrics.c - --metrics-port: watch a long run from outside.
 *
 * A libmicrohttpd server on 127.0.0.1 (never another interface: the figures
 * are for a local scraper, a sidecar or a Kubernetes probe) with one
 * internal thread. It only reads the run's al_live_t counters, with relaxed
 * atomic loads, so it never slows the pipeline down.
 *   GET /metrics  Prometheus text format 0.0.4
 *   GET /status   the same figures as one JSON object, with rate and ETA
 * Anything else is 404; methods other than GET/HEAD are 405.
 */
#include "cli.h"

#include "clock.h"

#include "json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cli_metrics {
    struct MHD_Daemon *d;
    cli_metrics_opts_t o;
    _Atomic(const char *) state; /* "running", "done", "interrupted", "failed" */
    unsigned port;
};

typedef struct {
    al_live_view_t c; /* the live counters */
    uint64_t done_bytes;
    double elapsed;
} snapshot_t;

static void snapshot(const cli_metrics_t *m, snapshot_t *s)
{
    al_live_read(m->o.live, &s->c);
    s->done_bytes = al_live_done_bytes(m->o.live, m->o.sending);
    s->elapsed = al_mono_s() - m->o.t0;
}

/* Appends to a growing string; on allocation failure the text is dropped. */
typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

__attribute__((format(printf, 2, 3))) static void put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->buf == NULL && t->cap != 0)
        return; /* an earlier allocation failed */
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *nb = realloc(t->buf, cap);
        if (nb == NULL) {
            free(t->buf);
            t->buf = NULL;
            t->cap = 1;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

static void metric(text_t *t, const char *name, const char *type, const char *help, double v)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* Prometheus label values escape backslash, double quote and newline. */
static void label_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 3 < cap; in++) {
        if (*in == '\\' || *in == '"' || *in == '\n') {
            out[n++] = '\\';
            out[n++] = *in == '\n' ? 'n' : *in;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

static void render_metrics(const cli_metrics_t *m, text_t *t)
{
    snapshot_t s;
    char url[1100];
    const char *state = atomic_load(&((cli_metrics_t *)m)->state);
    snapshot(m, &s);
    label_escape(m->o.endpoint, url, sizeof(url));
    put(t,
        "# HELP ampload_info The loader's version and where events go.\n"
        "# TYPE ampload_info gauge\n"
        "ampload_info{version=\"%s\",endpoint=\"%s\"} 1\n",
        AMPLOAD_VERSION, url);
    metric(t, "ampload_running", "gauge", "1 while the run is going, 0 once it ended.",
           strcmp(state, "running") == 0 ? 1 : 0);
    metric(t, "ampload_elapsed_seconds", "gauge", "Seconds since the run started.", s.elapsed);
    metric(t, "ampload_input_lines_total", "counter", "Input lines read by this run.",
           (double)s.c.lines_read);
    metric(t, "ampload_input_bytes_total", "counter",
           "Input bytes read (decompressed for zstd input).", (double)s.c.bytes_read);
    metric(t, "ampload_input_size_bytes", "gauge",
           "Size on disk of what this run reads (0 for pipes).", (double)s.c.total_bytes);
    metric(t, "ampload_input_done_bytes", "gauge",
           "Estimated bytes on disk whose lines are resolved; progress = done / size.",
           (double)s.done_bytes);
    metric(t, "ampload_events_sent_total", "counter", "Events acknowledged by the server.",
           (double)s.c.events_sent);
    metric(t, "ampload_events_rejected_total", "counter",
           "Lines written to the reject file (by the loader or the server).", (double)s.c.rejected);
    metric(t, "ampload_events_failed_total", "counter",
           "Events written to the failed file (re-drivable).", (double)s.c.failed);
    metric(t, "ampload_requests_total", "counter", "HTTP requests made.", (double)s.c.requests);
    metric(t, "ampload_request_bytes_total", "counter", "Request body bytes answered.",
           (double)s.c.bytes_sent);
    metric(t, "ampload_retries_total", "counter", "Requests scheduled again after a failure.",
           (double)s.c.retries);
    metric(t, "ampload_http_429_total", "counter", "Responses with status 429.",
           (double)s.c.http_429);
    metric(t, "ampload_http_5xx_total", "counter", "Responses with a 5xx status.",
           (double)s.c.http_5xx);
    metric(t, "ampload_requests_in_flight", "gauge", "Requests waiting for an answer.",
           (double)s.c.in_flight);
    metric(t, "ampload_concurrency_window", "gauge",
           "Requests the adaptive window allows in flight.", (double)s.c.window);
}

static void render_status(const cli_metrics_t *m, text_t *t)
{
    snapshot_t s;
    char url[AL_JSON_ESCAPED_MAX(600) + 1], dir[AL_JSON_ESCAPED_MAX(4096) + 1];
    const char *state = atomic_load(&((cli_metrics_t *)m)->state);
    double eps, progress = -1, eta = -1;
    size_t ul = strlen(m->o.endpoint), dl = strlen(m->o.state_dir);

    snapshot(m, &s);
    url[al_json_escape(url, m->o.endpoint, ul < 600 ? ul : 600)] = '\0';
    dir[al_json_escape(dir, m->o.state_dir, dl < 4096 ? dl : 4096)] = '\0';
    eps = s.elapsed > 0 ? (double)s.c.events_sent / s.elapsed : 0;
    if (s.c.total_bytes > 0) {
        progress = (double)s.done_bytes / (double)s.c.total_bytes;
        if (progress > 1)
            progress = 1;
        if (s.done_bytes > 0 && s.elapsed > 0.5)
            eta = (double)(s.c.total_bytes > s.done_bytes ? s.c.total_bytes - s.done_bytes : 0) /
                  ((double)s.done_bytes / s.elapsed);
    }
    put(t,
        "{\"state\":\"%s\",\"version\":\"%s\",\"endpoint\":\"%s\",\"state_dir\":\"%s\","
        "\"elapsed_s\":%.3f,\"lines_read\":%" PRIu64 ",\"bytes_read\":%" PRIu64
        ",\"total_bytes\":%" PRIu64 ",",
        state, AMPLOAD_VERSION, url, dir, s.elapsed, s.c.lines_read, s.c.bytes_read,
        s.c.total_bytes);
    if (progress >= 0)
        put(t, "\"progress\":%.4f,", progress);
    else
        put(t, "\"progress\":null,");
    if (eta >= 0)
        put(t, "\"eta_s\":%.0f,", eta);
    else
        put(t, "\"eta_s\":null,");
    put(t,
        "\"events_sent\":%" PRIu64 ",\"events_per_second\":%.1f,\"rejected\":%" PRIu64
        ",\"failed\":%" PRIu64 ",\"requests\":%" PRIu64 ",\"retries\":%" PRIu64
        ",\"http_429\":%" PRIu64 ",\"http_5xx\":%" PRIu64 ",\"in_flight\":%u,\"window\":%u}\n",
        s.c.events_sent, eps, s.c.rejected, s.c.failed, s.c.requests, s.c.retries, s.c.http_429,
        s.c.http_5xx, s.c.in_flight, s.c.window);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type,
                              char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    cli_metrics_t *m = cls;
    text_t t = {0};
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        put(&t, "only GET\n");
        return t.buf ? answer(conn, 405, "text/plain", t.buf, t.len) : MHD_NO;
    }
    if (strcmp(url, "/metrics") == 0) {
        render_metrics(m, &t);
        return t.buf ? answer(conn, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len)
                     : MHD_NO;
    }
    if (strcmp(url, "/status") == 0) {
        render_status(m, &t);
        return t.buf ? answer(conn, 200, "application/json", t.buf, t.len) : MHD_NO;
    }
    put(&t, "not found: try /metrics or /status\n");
    return t.buf ? answer(conn, 404, "text/plain", t.buf, t.len) : MHD_NO;
}

cli_metrics_t *cli_metrics_start(unsigned port, const cli_metrics_opts_t *o)
{
    cli_metrics_t *m = calloc(1, sizeof(*m));
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (m == NULL)
        return NULL;
    m->o = *o;
    atomic_store(&m->state, "running");
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                            on_request, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (m->d == NULL) {
        fprintf(stderr,
                "ampload: --metrics-port %u: cannot listen on 127.0.0.1:%u\n"
                "  hint: another process uses the port; pick another, or 0 for any free one\n",
                port, port);
        free(m);
        return NULL;
    }
    info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info != NULL ? info->port : port;
    return m;
}

unsigned cli_metrics_port(const cli_metrics_t *m)
{
    return m->port;
}

void cli_metrics_finish(cli_metrics_t *m, const char *state)
{
    if (m != NULL)
        atomic_store(&m->state, state);
}

void cli_metrics_stop(cli_metrics_t *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
