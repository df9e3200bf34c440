/* stats.h - run counters and the JSON report.
 *
 * Every count is incremented where the thing happened, by the one thread that
 * did it, in that thread's own al_stats_t; the pipeline adds them together
 * when the threads are joined. Nothing is derived from plans: a line is
 * counted when it was read, a batch when it was built.
 *
 * Accounting (checked by tests):
 *   lines_read = events_sent + rejected_local + rejected_server + failed + skipped
 * and, in a dry run, where nothing is sent:
 *   lines_read = events_valid + rejected_local + skipped
 *
 * Thread-safety: an al_stats_t belongs to one thread; merge after join.
 */
#ifndef AL_STATS_H
#define AL_STATS_H

#include "validate.h"

#include <stdint.h>
#include <stdio.h>

/* Why events went to the failed file: X(name, report key, sentence). */
#define AL_FAIL_CAUSES(X)                                                                          \
    X(RETRY_BUDGET, "retry_budget", "the retries used up --retry-time")                            \
    X(RETRY_AFTER, "retry_after_beyond_budget",                                                    \
      "the server's Retry-After reached past what was left of --retry-time")                       \
    X(THROTTLED, "throttled_beyond_budget", "throttled (429) until --retry-time was used up")      \
    X(QUOTA, "daily_quota", "their user or device is over Amplitude's daily quota")                \
    X(REFUSED, "request_refused", "the server refused the request without naming events (400)")    \
    X(STOPPED, "run_stopped", "the run stopped on a configuration or write error")                 \
    X(NOMEM, "out_of_memory", "out of memory")

typedef enum {
#define AL_FAIL_ENUM(name, key, text) AL_FAIL_##name,
    AL_FAIL_CAUSES(AL_FAIL_ENUM)
#undef AL_FAIL_ENUM
        AL_FAIL_COUNT
} al_fail_cause_t;

/* @return the report key ("retry_budget") / the sentence for a cause;
 * static storage. */
const char *al_fail_cause_key(al_fail_cause_t c);
const char *al_fail_cause_text(al_fail_cause_t c);

typedef struct {
    /* read path */
    uint64_t lines_read;     /* every line seen, blank ones included */
    uint64_t bytes_read;     /* (decompressed) input bytes */
    uint64_t skipped;        /* blank lines, and lines of other shards */
    uint64_t skipped_shard;  /* of which lines other shards own (--shard) */
    uint64_t events_valid;   /* lines that passed validation and went into a batch */
    uint64_t rejected_local; /* lines written to the reject file by the loader */
    uint64_t rejected_by_reason[AL_REASON_COUNT];
    uint64_t batches_built;
    uint64_t batch_bytes; /* sum of request body sizes built */
    /* delivery */
    uint64_t events_sent;
    uint64_t rejected_server;
    uint64_t failed;
    uint64_t failed_by_cause[AL_FAIL_COUNT];
    uint64_t batches_sent;
    uint64_t requests;
    uint64_t retries;
    uint64_t http_429;
    uint64_t http_5xx;
    uint64_t bytes_sent;
} al_stats_t;

/* Live view of a running load, for the progress line. Written by the stage
 * that does the work with relaxed atomic stores, read by anyone; never used
 * for the final report, which merges the per-thread al_stats_t instead. */
typedef struct {
    _Atomic uint64_t bytes_read;  /* reader */
    _Atomic uint64_t total_bytes; /* sum of the input sizes known up front */
    _Atomic uint64_t lines_read;  /* parsers, once per chunk */
    _Atomic uint64_t skipped;     /* parsers: blank lines */
    _Atomic uint64_t src_parsed;  /* parsers: input bytes as stored, of parsed chunks */
    _Atomic uint64_t rejected;    /* parsers (per chunk) and sender (per event) */
    _Atomic uint64_t events_sent; /* sender, from here on */
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t requests;
    _Atomic uint64_t retries;
    _Atomic uint64_t http_429;
    _Atomic uint64_t http_5xx;
    _Atomic uint64_t failed;
    _Atomic uint32_t in_flight;
    _Atomic uint32_t window;
} al_live_t;

/* Estimated input bytes (as stored: compressed for zstd, counted like
 * total_bytes) whose lines are resolved - acknowledged, rejected, failed or
 * blank - or, when nothing is sent, parsed. For progress and ETA: unlike
 * bytes_read it does not run ahead of the sender by the read-ahead queue. */
uint64_t al_live_done_bytes(al_live_t *l, int sending);

/* Adds every counter of src to dst. */
void al_stats_merge(al_stats_t *dst, const al_stats_t *src);

/* Extra facts for the report that are not counters. */
typedef struct {
    double elapsed_s;
    int dry_run;
} al_report_info_t;

/* Writes the report as one JSON object (keys documented in the README) to fp,
 * without the closing brace when `open_end` is set so the caller can append
 * its own members. @return 0, or -1 on a write error. */
int al_stats_write_json(FILE *fp, const al_stats_t *s, const al_report_info_t *info, int open_end);

#endif
