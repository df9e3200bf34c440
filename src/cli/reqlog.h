/* reqlog.h - what happens to each request, for people: the -v debug line,
 * the --audit JSON line, and the figures of the report (latency
 * percentiles, answers per status, events acknowledged per second).
 *
 * Thread-safety: cli_reqlog_on_request runs on the sender thread only; the
 * rest after the run, on the main thread.
 */
#ifndef AL_CLI_REQLOG_H
#define AL_CLI_REQLOG_H

#include "send.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    /* set before the run */
    int verbose;     /* one stderr line per request */
    FILE *audit;     /* one JSON line per request, or NULL */
    const char *url; /* named in the debug line */
    double t0;       /* al_mono_s() at the start */
    /* filled by the sender thread */
    uint32_t *latencies;
    size_t nlat, lat_cap;
    uint64_t status_counts[600];
    uint64_t *acked_per_s; /* events acknowledged in each second of the run */
    size_t nsec;
} cli_reqlog_t;

/* An al_request_fn: ctx is the cli_reqlog_t. */
void cli_reqlog_on_request(void *ctx, const al_request_info_t *in);

/* After the run: sorts the latencies for the percentiles. */
void cli_reqlog_finish(cli_reqlog_t *l);

/* @return the p-th latency percentile (0..1) in ms, 0 without requests. */
uint32_t cli_reqlog_percentile(const cli_reqlog_t *l, double p);

/* Writes the report's "latency_ms", "status_counts" and
 * "events_acked_per_second" members, each preceded by ",\n". */
void cli_reqlog_write_json(const cli_reqlog_t *l, FILE *fp);

/* Frees the figures. */
void cli_reqlog_free(cli_reqlog_t *l);

#endif
