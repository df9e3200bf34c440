/* stats.h - run counters and the JSON report.
 *
 * Every count is incremented where the thing happened, by the one thread that
 * did it, in that thread's own al_stats_t; the pipeline adds them together
 * when the threads are joined. Nothing is derived from plans: a line is
 * counted when it was read, a batch when it was built.
 *
 * Accounting (checked by tests):
 *   lines_read = events_sent + rejected_local + rejected_server + failed
 *              + non_idempotent_held + skipped
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

/* The run's counters, one list for the struct, the merge and the report
 * (in the report's key order). Their meanings:
 *   lines_read      every line seen, blank ones included
 *   events_sent     events acknowledged by the server
 *   rejected_local  lines written to the reject file by the loader
 *   rejected_server events the server refused (reject file)
 *   failed          events written to the failed file
 *   skipped         blank lines, lines done before a resume, other shards'
 *   skipped_shard   of skipped, the lines other shards own (--shard)
 *   skipped_acknowledged  of skipped, identifications an earlier run had
 *                   acknowledged past its checkpoint (identify, journal.h)
 *   non_idempotent_held   identifications in doubt written to the held
 *                   file instead of being resent (identify)
 *   resent_in_doubt identifications in doubt (an ambiguous answer, or in
 *                   flight when an earlier run stopped) that were sent
 *                   again: idempotent, or --resend-non-idempotent
 *   events_valid    lines that passed validation and went into a batch
 *   batches_built / batches_sent   request bodies built / acknowledged
 *   requests, retries, http_429, http_5xx   attempts and their answers
 *   bytes_read      (decompressed) input bytes
 *   batch_bytes     sum of the request body sizes built
 *   bytes_sent      request bytes as they went over the wire, answered */
#define AL_STATS_COUNTERS(X)                                                                       \
    X(lines_read)                                                                                  \
    X(events_sent)                                                                                 \
    X(rejected_local)                                                                              \
    X(rejected_server)                                                                             \
    X(failed)                                                                                      \
    X(skipped)                                                                                     \
    X(skipped_shard)                                                                               \
    X(skipped_acknowledged)                                                                        \
    X(non_idempotent_held)                                                                         \
    X(resent_in_doubt)                                                                             \
    X(events_valid)                                                                                \
    X(batches_built)                                                                               \
    X(batches_sent)                                                                                \
    X(requests)                                                                                    \
    X(retries)                                                                                     \
    X(http_429)                                                                                    \
    X(http_5xx)                                                                                    \
    X(bytes_read)                                                                                  \
    X(batch_bytes)                                                                                 \
    X(bytes_sent)

typedef struct {
#define AL_STATS_FIELD(name) uint64_t name;
    AL_STATS_COUNTERS(AL_STATS_FIELD)
#undef AL_STATS_FIELD
    uint64_t rejected_by_reason[AL_REASON_COUNT];
    uint64_t failed_by_cause[AL_FAIL_COUNT];
} al_stats_t;

/* Live view of a running load, for the progress line and the metrics.
 * Written by the stage that does the work with relaxed atomic adds, read by
 * anyone; never used for the final report, which merges the per-thread
 * al_stats_t instead. Writers: bytes_read (reader), total_bytes (sizes known
 * up front), lines_read, skipped, src_parsed (parsers, once per chunk:
 * input bytes as stored, of parsed chunks), rejected (parsers and sender),
 * the rest (sender). */
#define AL_LIVE_COUNTERS(X)                                                                        \
    X(bytes_read)                                                                                  \
    X(total_bytes)                                                                                 \
    X(lines_read)                                                                                  \
    X(skipped)                                                                                     \
    X(src_parsed)                                                                                  \
    X(rejected)                                                                                    \
    X(events_sent)                                                                                 \
    X(bytes_sent)                                                                                  \
    X(requests)                                                                                    \
    X(retries)                                                                                     \
    X(http_429)                                                                                    \
    X(http_5xx)                                                                                    \
    X(failed)

typedef struct {
#define AL_LIVE_FIELD(name) _Atomic uint64_t name;
    AL_LIVE_COUNTERS(AL_LIVE_FIELD)
#undef AL_LIVE_FIELD
    _Atomic uint32_t in_flight;
    _Atomic uint32_t window;
    /* The last failed attempt (sender), for the progress line: 0 = none,
     * else al_live_error_pack()'s word. One word, so a reader never sees
     * the status of one failure with the cause of another. */
    _Atomic uint64_t last_error;
} al_live_t;

/* A plain copy of the live counters. */
typedef struct {
#define AL_LIVE_PLAIN(name) uint64_t name;
    AL_LIVE_COUNTERS(AL_LIVE_PLAIN)
#undef AL_LIVE_PLAIN
    uint32_t in_flight, window;
    uint64_t last_error;
} al_live_view_t;

/* A failed attempt as one word: its HTTP status (0 without an answer),
 * curl's result code and the system's errno of a failed connect. */
static inline uint64_t al_live_error_pack(long status, int curl_code, long os_errno)
{
    return ((uint64_t)(status & 0xffff) << 48) | ((uint64_t)(curl_code & 0xffff) << 32) |
           (uint64_t)(uint32_t)os_errno;
}
static inline void al_live_error_unpack(uint64_t w, long *status, int *curl_code, long *os_errno)
{
    *status = (long)(w >> 48);
    *curl_code = (int)((w >> 32) & 0xffff);
    *os_errno = (long)(uint32_t)w;
}

/* Copies every live counter with relaxed loads. Any thread. */
void al_live_read(al_live_t *l, al_live_view_t *v);

/* Estimated input bytes (as stored: compressed for zstd, counted like
 * total_bytes) whose lines are resolved - acknowledged, rejected, failed or
 * blank - or, when nothing is sent, parsed. For progress and ETA: unlike
 * bytes_read it does not run ahead of the sender by the read-ahead queue. */
uint64_t al_live_done_bytes(al_live_t *l, int sending);

/* Adds every counter of src to dst. */
void al_stats_merge(al_stats_t *dst, const al_stats_t *src);

#endif
