/* stats.c - merging counters and printing them as the report.
 *
 * The field list is written out by hand rather than generated so that the
 * report's key order is the documented one and reads well. */
#include "stats.h"

#include <inttypes.h>
#include <stdatomic.h>

uint64_t al_live_done_bytes(al_live_t *l, int sending)
{
#define LOAD(f) atomic_load_explicit(&l->f, memory_order_relaxed)
    uint64_t parsed = LOAD(src_parsed), lines = LOAD(lines_read);
    uint64_t resolved = LOAD(events_sent) + LOAD(rejected) + LOAD(failed) + LOAD(skipped);
#undef LOAD
    if (!sending || lines == 0 || resolved >= lines)
        return parsed;
    return (uint64_t)((double)parsed * ((double)resolved / (double)lines));
}

void al_stats_merge(al_stats_t *d, const al_stats_t *s)
{
    d->lines_read += s->lines_read;
    d->bytes_read += s->bytes_read;
    d->skipped += s->skipped;
    d->skipped_shard += s->skipped_shard;
    d->events_valid += s->events_valid;
    d->rejected_local += s->rejected_local;
    for (int i = 0; i < AL_REASON_COUNT; i++)
        d->rejected_by_reason[i] += s->rejected_by_reason[i];
    d->batches_built += s->batches_built;
    d->batch_bytes += s->batch_bytes;
    d->events_sent += s->events_sent;
    d->rejected_server += s->rejected_server;
    d->failed += s->failed;
    for (int i = 0; i < AL_FAIL_COUNT; i++)
        d->failed_by_cause[i] += s->failed_by_cause[i];
    d->batches_sent += s->batches_sent;
    d->requests += s->requests;
    d->retries += s->retries;
    d->http_429 += s->http_429;
    d->http_5xx += s->http_5xx;
    d->bytes_sent += s->bytes_sent;
}

int al_stats_write_json(FILE *fp, const al_stats_t *s, const al_report_info_t *info, int open_end)
{
    double el = info->elapsed_s > 0 ? info->elapsed_s : 1e-9;
    uint64_t done = info->dry_run ? s->events_valid : s->events_sent;
    int first = 1;

    fprintf(fp,
            "{\n  \"dry_run\": %s,\n  \"lines_read\": %" PRIu64 ",\n  \"events_sent\": %" PRIu64
            ",\n  \"rejected_local\": %" PRIu64 ",\n  \"rejected_server\": %" PRIu64
            ",\n  \"failed\": %" PRIu64 ",\n  \"skipped\": %" PRIu64
            ",\n  \"skipped_shard\": %" PRIu64 ",\n  \"events_valid\": %" PRIu64
            ",\n  \"batches_built\": %" PRIu64 ",\n  \"batches_sent\": %" PRIu64
            ",\n  \"requests\": %" PRIu64 ",\n  \"retries\": %" PRIu64 ",\n  \"http_429\": %" PRIu64
            ",\n  \"http_5xx\": %" PRIu64 ",\n  \"bytes_read\": %" PRIu64
            ",\n  \"batch_bytes\": %" PRIu64 ",\n  \"bytes_sent\": %" PRIu64
            ",\n  \"elapsed_s\": %.3f,\n  \"events_per_s\": %.0f"
            ",\n  \"mb_per_s\": %.1f",
            info->dry_run ? "true" : "false", s->lines_read, s->events_sent, s->rejected_local,
            s->rejected_server, s->failed, s->skipped, s->skipped_shard, s->events_valid,
            s->batches_built, s->batches_sent, s->requests, s->retries, s->http_429, s->http_5xx,
            s->bytes_read, s->batch_bytes, s->bytes_sent, info->elapsed_s, (double)done / el,
            (double)s->bytes_read / el / 1e6);
    fprintf(fp, ",\n  \"rejected_by_reason\": {");
    for (int i = 1; i < AL_REASON_COUNT; i++) {
        if (s->rejected_by_reason[i] == 0)
            continue;
        fprintf(fp, "%s\"%s\": %" PRIu64, first ? "" : ", ", al_reason_key((al_reason_code_t)i),
                s->rejected_by_reason[i]);
        first = 0;
    }
    fprintf(fp, "},\n  \"failed_by_cause\": {");
    first = 1;
    for (int i = 0; i < AL_FAIL_COUNT; i++) {
        if (s->failed_by_cause[i] == 0)
            continue;
        fprintf(fp, "%s\"%s\": %" PRIu64, first ? "" : ", ", al_fail_cause_key((al_fail_cause_t)i),
                s->failed_by_cause[i]);
        first = 0;
    }
    fprintf(fp, "}");
    if (!open_end)
        fprintf(fp, "\n}\n");
    return ferror(fp) ? -1 : 0;
}

const char *al_fail_cause_key(al_fail_cause_t c)
{
    switch (c) {
#define AL_FAIL_KEY(name, key, text)                                                               \
    case AL_FAIL_##name:                                                                           \
        return key;
        AL_FAIL_CAUSES(AL_FAIL_KEY)
#undef AL_FAIL_KEY
    case AL_FAIL_COUNT:
        break;
    }
    return "?";
}

const char *al_fail_cause_text(al_fail_cause_t c)
{
    switch (c) {
#define AL_FAIL_TEXT(name, key, text)                                                              \
    case AL_FAIL_##name:                                                                           \
        return text;
        AL_FAIL_CAUSES(AL_FAIL_TEXT)
#undef AL_FAIL_TEXT
    case AL_FAIL_COUNT:
        break;
    }
    return "?";
}
