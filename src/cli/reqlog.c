/* reqlog.c - the per-request debug line, audit line and report figures.
 *
 * Called once per attempt on the sender thread, so it must be quick: a
 * formatted line or two and an append to a growing array; the sorting for
 * percentiles waits until the run is over.
 */
#include "reqlog.h"

#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cli_reqlog_on_request(void *ctx, const al_request_info_t *in)
{
    cli_reqlog_t *l = ctx;
    double now = al_mono_s();
    if (l->verbose) {
        char status[32] = "no answer"; /* status 0: the connection gave none */
        if (in->status != 0)
            snprintf(status, sizeof(status), "HTTP %ld", in->status);
        fprintf(stderr,
                "ampload: POST %s batch %" PRIu64 " attempt %u: %u events, %" PRIu64
                " bytes -> %s%s%s in %" PRIu64 " ms (%s)\n",
                l->url, in->batch_id, in->attempt, in->events, in->bytes, status,
                in->error ? (in->status != 0 ? " " : ": ") : "", in->error ? in->error : "",
                in->latency_ms, in->outcome);
    }
    if (l->audit != NULL)
        fprintf(l->audit,
                "{\"time_ms\":%" PRIu64 ",\"batch\":%" PRIu64 ",\"events\":%u,\"bytes\":%" PRIu64
                ",\"status\":%ld,\"latency_ms\":%" PRIu64
                ",\"attempt\":%u,\"outcome\":\"%s\"%s%s%s}\n",
                in->unix_ms, in->batch_id, in->events, in->bytes, in->status, in->latency_ms,
                in->attempt, in->outcome, in->error ? ",\"error\":\"" : "",
                in->error ? in->error : "", in->error ? "\"" : "");
    if (l->nlat == l->lat_cap) {
        size_t cap = l->lat_cap ? l->lat_cap * 2 : 4096;
        uint32_t *nl = realloc(l->latencies, cap * sizeof(*nl));
        if (nl != NULL) {
            l->latencies = nl;
            l->lat_cap = cap;
        }
    }
    if (l->nlat < l->lat_cap)
        l->latencies[l->nlat++] =
            (uint32_t)(in->latency_ms > UINT32_MAX ? UINT32_MAX : in->latency_ms);
    l->status_counts[in->status >= 0 && in->status < 600 ? in->status : 0]++;
    if (in->status >= 200 && in->status < 300) {
        size_t sec = (size_t)(now - l->t0);
        if (sec >= l->nsec) {
            size_t n = sec + 64;
            uint64_t *ns = realloc(l->acked_per_s, n * sizeof(*ns));
            if (ns != NULL) {
                memset(ns + l->nsec, 0, (n - l->nsec) * sizeof(*ns));
                l->acked_per_s = ns;
                l->nsec = n;
            }
        }
        if (sec < l->nsec)
            l->acked_per_s[sec] += in->events;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void cli_reqlog_finish(cli_reqlog_t *l)
{
    if (l->nlat > 0)
        qsort(l->latencies, l->nlat, sizeof(*l->latencies), cmp_u32);
}

uint32_t cli_reqlog_percentile(const cli_reqlog_t *l, double p)
{
    size_t i;
    if (l->nlat == 0)
        return 0;
    i = (size_t)(p * (double)(l->nlat - 1) + 0.5);
    return l->latencies[i];
}

void cli_reqlog_write_json(const cli_reqlog_t *l, FILE *fp)
{
    size_t last = l->nsec;
    fprintf(fp,
            ",\n  \"latency_ms\": {\"p50\": %u, \"p95\": %u, \"p99\": %u, \"max\": %u, "
            "\"requests\": %zu}",
            cli_reqlog_percentile(l, 0.50), cli_reqlog_percentile(l, 0.95),
            cli_reqlog_percentile(l, 0.99), cli_reqlog_percentile(l, 1.0), l->nlat);
    fprintf(fp, ",\n  \"status_counts\": {");
    for (int st = 0, first = 1; st < 600; st++) {
        if (l->status_counts[st] == 0)
            continue;
        fprintf(fp, "%s\"%d\": %" PRIu64, first ? "" : ", ", st, l->status_counts[st]);
        first = 0;
    }
    fprintf(fp, "},\n  \"events_acked_per_second\": [");
    while (last > 0 && l->acked_per_s[last - 1] == 0)
        last--;
    for (size_t i = 0; i < last; i++)
        fprintf(fp, "%s%" PRIu64, i ? ", " : "", l->acked_per_s[i]);
    fprintf(fp, "]");
}

void cli_reqlog_free(cli_reqlog_t *l)
{
    free(l->latencies);
    free(l->acked_per_s);
    l->latencies = NULL;
    l->acked_per_s = NULL;
}
