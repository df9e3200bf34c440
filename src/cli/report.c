/* report.c - how a run ends for people and for programs: the exit code of
 * each error (one table, documented in the README and --help), the error
 * message with its hint, the summary table, and the JSON report.
 *
 * Every message that may carry a server's words passes through the key's
 * redaction first.
 */
#include "run.h"

#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_exit_code(al_err_t err)
{
    switch (err) {
    case AL_ERR_OK:
        return EXIT_OK;
    case AL_ERR_INVALID_ARG:
    case AL_ERR_INPUT_IS_OUTPUT:
    case AL_ERR_DUPLICATE_INPUT:
    case AL_ERR_LOCKED:
    case AL_ERR_CHECKPOINT_MISMATCH:
    case AL_ERR_CHECKPOINT_CORRUPT:
    case AL_ERR_JOURNAL_CORRUPT:
        return EXIT_USAGE;
    case AL_ERR_INTERRUPTED:
        return EXIT_INTERRUPTED;
    case AL_ERR_NOT_FOUND:
    case AL_ERR_IS_DIR:
    case AL_ERR_ACCESS:
    case AL_ERR_IO:
    case AL_ERR_ZSTD_CORRUPT:
    case AL_ERR_ZSTD_TRUNCATED:
    case AL_ERR_UNSUPPORTED_FORMAT:
    case AL_ERR_BINARY_INPUT:
    case AL_ERR_INPUT_CHANGED:
    case AL_ERR_GZIP_CORRUPT:
    case AL_ERR_GZIP_TRUNCATED:
    case AL_ERR_ZIP_CORRUPT:
    case AL_ERR_ZIP_UNSUPPORTED:
    case AL_ERR_SAME_PROJECT:
    case AL_ERR_INPUT_SHAPE:
    case AL_ERR_ALL_REJECTED:
    case AL_ERR_OBJECT_MISSING:
        return EXIT_INPUT;
    case AL_ERR_CONFIG:
    case AL_ERR_UNREACHABLE:
    case AL_ERR_OBJECT_ACCESS:
        return EXIT_CONFIG;
    default:
        return EXIT_INTERNAL;
    }
}

void cli_print_error(al_err_t err, const al_diag_t *d)
{
    char msg[1024];
    const char *hint = al_errhint(err);
    al_diag_format(err, d, msg, sizeof(msg));
    al_redact(msg, sizeof(msg), cli_secret());
    fprintf(stderr, "ampload: %s\n", msg);
    if (hint[0] != '\0')
        fprintf(stderr, "  hint: %s\n", hint);
}

uint64_t cli_count_lines(const char *path)
{
    char buf[65536];
    uint64_t n = 0;
    size_t got;
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
            n++;
    fclose(fp);
    return n;
}

const char *cli_resume_hint(const cli_run_t *r)
{
    return r->from_stream ? "standard input or a pipe cannot be resumed: the lines not resolved "
                            "were read but not delivered; load what is left again, or load "
                            "from a file to be able to resume"
                          : "run the same command again to resume";
}

/* Identifications in doubt wait for the user's decision: reported even
 * with -q, like undelivered events. */
static void print_held(const cli_run_t *r)
{
    if (r->held_total == 0)
        return;
    fprintf(stderr,
            "ampload: %" PRIu64 " identifications with non-idempotent operations may or may not "
            "have been applied (a 5xx, a lost connection or a crash in flight); they are in %s\n",
            r->held_total, al_state_path(r->state, AL_STATE_HELD));
    fprintf(stderr, "  hint: check the users' properties in Amplitude; send those not applied "
                    "with: ampload identify --resend-non-idempotent FILE (then remove the file, or "
                    "this command keeps exiting 5)\n");
}

/* Undelivered events are an error: reported even with -q, whichever run of
 * this state directory put them in the failed file. */
void cli_print_failed(const cli_run_t *r, const al_stats_t *s)
{
    print_held(r);
    if (r->failed_total == 0)
        return;
    if (s->failed == r->failed_total)
        fprintf(stderr, "ampload: %" PRIu64 " events could not be delivered; they are in %s\n",
                s->failed, al_state_path(r->state, AL_STATE_FAILED));
    else
        fprintf(stderr,
                "ampload: %" PRIu64 " events could not be delivered (%" PRIu64
                " in this run, the others in earlier runs of this state directory); they "
                "are in %s\n",
                r->failed_total, s->failed, al_state_path(r->state, AL_STATE_FAILED));
    fprintf(stderr,
            "  hint: send them again with: ampload %s (then remove the file, or this "
            "command keeps exiting 5)\n",
            al_state_path(r->state, AL_STATE_FAILED));
}

/* The run's MB/s, one figure for the summary and the report: request
 * bytes on the wire when sending, input bytes read in a dry run. */
static double mb_per_s(const al_stats_t *s, int dry_run, double elapsed)
{
    return elapsed > 0 ? (double)(dry_run ? s->bytes_read : s->bytes_sent) / elapsed / 1e6 : 0.0;
}

/* Events past the checkpoint that an earlier run had already had
 * acknowledged: a resumed load reads and sends them again (the same
 * insert_ids: Amplitude keeps one copy). The runs' events_sent minus this
 * is what reached Amplitude once. (Identify skips them instead, by its
 * journal: skipped_acknowledged.) */
static uint64_t resent_after_resume(const cli_run_t *r)
{
    uint64_t n = 0;
    const al_mark_t *marks = al_state_marks(r->state); /* NULL unless resumed */
    if (marks == NULL || r->inputs == NULL || r->set->identify)
        return 0;
    /* at most what this run got acknowledged of that input: a run stopped
     * before it resent them resent none */
    for (uint32_t i = 0; i < r->pipe.npaths; i++)
        n += marks[i].acked_past < r->inputs[i].acked ? marks[i].acked_past : r->inputs[i].acked;
    return n;
}

static void print_delivery(const cli_run_t *r, const al_stats_t *s, double elapsed)
{
    double eps = elapsed > 0 ? (double)s->events_sent / elapsed : 0.0;
    uint64_t again = resent_after_resume(r);
    fprintf(stderr, "ampload: done in %.2f s\n", elapsed);
    fprintf(stderr, "  %-22s %12" PRIu64 "\n", "lines read", s->lines_read);
    fprintf(stderr, "  %-22s %12" PRIu64 "   %.0f/s, %.1f MB/s\n",
            r->set->identify ? "identifications sent" : "events sent", s->events_sent, eps,
            mb_per_s(s, 0, elapsed));
    if (again > 0)
        fprintf(stderr,
                "  %-22s %12" PRIu64 "   of them already delivered by an earlier run past "
                "its checkpoint (same insert_id: Amplitude keeps one)\n",
                "sent again", again);
    fprintf(stderr, "  %-22s %12" PRIu64 "\n", "rejected here", s->rejected_local);
    if (r->set->identify)
        fprintf(stderr, "  %-22s %12" PRIu64 "   resent in doubt %" PRIu64 "\n",
                "held (non-idempotent)", s->non_idempotent_held, s->resent_in_doubt);
    fprintf(stderr, "  %-22s %12" PRIu64 "\n", "rejected by the server", s->rejected_server);
    if (r->failed_total != s->failed)
        fprintf(stderr, "  %-22s %12" PRIu64 "   %" PRIu64 " in the failed file in all\n", "failed",
                s->failed, r->failed_total);
    else
        fprintf(stderr, "  %-22s %12" PRIu64 "\n", "failed", s->failed);
    fprintf(stderr, "  %-22s %12" PRIu64 "   blank lines and lines done before a resume%s%s\n",
            "skipped", s->skipped, r->set->shard[0] ? ", or of other shards" : "",
            s->skipped_acknowledged > 0 ? " (or acknowledged past the checkpoint)" : "");
    fprintf(stderr,
            "  %-22s %12" PRIu64 "   retries %" PRIu64 ", HTTP 429 %" PRIu64 ", HTTP 5xx %" PRIu64
            "\n",
            "requests", s->requests, s->retries, s->http_429, s->http_5xx);
    if (r->log.nlat > 0)
        fprintf(stderr, "  %-22s %12s   p50 %u ms, p95 %u ms, p99 %u ms\n", "latency", "",
                cli_reqlog_percentile(&r->log, 0.5), cli_reqlog_percentile(&r->log, 0.95),
                cli_reqlog_percentile(&r->log, 0.99));
}

void cli_print_summary(const cli_run_t *r, const al_stats_t *s, double elapsed)
{
    const cli_settings_t *set = r->set;
    if (set->dry_run)
        fprintf(stderr,
                "ampload: dry run: %" PRIu64 " lines read: %" PRIu64 " valid events in %" PRIu64
                " batches, %" PRIu64 " rejected, %" PRIu64
                " blank (%.2f s, %.0f lines/s, %.1f MB/s)\n",
                s->lines_read, s->events_valid, s->batches_built, s->rejected_local,
                s->skipped - s->skipped_shard, elapsed,
                elapsed > 0 ? (double)s->lines_read / elapsed : 0.0, mb_per_s(s, 1, elapsed));
    else
        print_delivery(r, s, elapsed);
    if (set->shard[0] != '\0' && set->shard_by_device)
        fprintf(stderr, "  shard %s by device: %" PRIu64 " lines belong to other shards\n",
                set->shard, s->skipped_shard);
    else if (set->shard[0] != '\0')
        fprintf(stderr, "  shard %s by input: this copy read %" PRIu64 " bytes of its part\n",
                set->shard, s->bytes_read);
    if (r->sources.members_skipped > 0)
        fprintf(stderr, "  zip entries skipped: %" PRIu64 " (directories, __MACOSX/, dot files)\n",
                r->sources.members_skipped);
    if (s->rejected_local + s->rejected_server > 0) {
        fprintf(stderr, "  rejected lines are in %s:", al_state_path(r->state, AL_STATE_REJECT));
        for (int i = 1; i < AL_REASON_COUNT; i++)
            if (s->rejected_by_reason[i] > 0)
                fprintf(stderr, " %s %" PRIu64 ";", al_reason_key((al_reason_code_t)i),
                        s->rejected_by_reason[i]);
        if (s->rejected_server > 0)
            fprintf(stderr, " refused by the server %" PRIu64 ";", s->rejected_server);
        fprintf(stderr, "\n");
    }
    if (s->failed > 0) {
        fprintf(stderr, "  failed events:");
        for (int i = 0; i < AL_FAIL_COUNT; i++)
            if (s->failed_by_cause[i] > 0)
                fprintf(stderr, " %s: %" PRIu64 ";", al_fail_cause_text((al_fail_cause_t)i),
                        s->failed_by_cause[i]);
        fprintf(stderr, "\n");
    }
    if (!set->dry_run) {
        uint64_t resolved = s->events_sent + s->rejected_local + s->rejected_server + s->failed +
                            s->non_idempotent_held + s->skipped;
        if (s->lines_read > resolved)
            fprintf(stderr,
                    "  %" PRIu64 " lines read and not resolved yet (and any not read yet): %s\n",
                    s->lines_read - resolved, cli_resume_hint(r));
    }
    cli_print_failed(r, s);
}

/* The report's counts: every counter of the run (stats.h's list), the
 * rates, refusals by reason and failures by cause. */
static void write_counts(FILE *fp, const cli_run_t *r, const al_stats_t *s, int dry_run,
                         double elapsed)
{
    double el = elapsed > 0 ? elapsed : 1e-9;
    uint64_t done = dry_run ? s->events_valid : s->events_sent;
    int first = 1;

    fprintf(fp, "{\n  \"dry_run\": %s", dry_run ? "true" : "false");
#define AL_STATS_JSON(name) fprintf(fp, ",\n  \"" #name "\": %" PRIu64, s->name);
    AL_STATS_COUNTERS(AL_STATS_JSON)
#undef AL_STATS_JSON
    fprintf(fp, ",\n  \"elapsed_s\": %.3f,\n  \"events_per_s\": %.0f,\n  \"mb_per_s\": %.1f",
            elapsed, (double)done / el, mb_per_s(s, dry_run, elapsed));
    fprintf(fp, ",\n  \"resent_after_resume\": %" PRIu64, resent_after_resume(r));
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
}

/* "key": "escaped text" (the text cut to PATH_MAX + 32 bytes). */
static void put_string(FILE *fp, const char *key, const char *text)
{
    char esc[AL_JSON_ESCAPED_MAX(PATH_MAX + 32) + 1];
    size_t n = strlen(text) < PATH_MAX + 32 ? strlen(text) : PATH_MAX + 32;
    esc[al_json_escape(esc, text, n)] = '\0';
    fprintf(fp, ",\n  \"%s\": \"%s\"", key, esc);
}

/* The input's stored size and, with --shard by input, the part this copy
 * owns: [start, end) of the plan (null when it owns none); "report merge"
 * checks that the parts of all copies cover each input once. */
static void write_part(FILE *fp, const cli_run_t *r, uint32_t i)
{
    const al_sources_t *src = r->pipe.sources;
    uint64_t size = src != NULL && i < src->n ? src->v[i].stored : 0;
    const al_part_t *p = r->parts != NULL ? &r->parts[i] : NULL;
    fprintf(fp, ", \"size\": %" PRIu64, size);
    if (p == NULL)
        fprintf(fp, ", \"part\": [0, %" PRIu64 "]", size);
    else if (!p->take)
        fprintf(fp, ", \"part\": null");
    else
        fprintf(fp, ", \"part\": [%" PRIu64 ", %" PRIu64 "]", p->start,
                p->end == AL_PART_END ? size : p->end);
}

static void write_inputs(FILE *fp, const cli_run_t *r, const al_input_t *inputs)
{
    fprintf(fp, ",\n  \"inputs\": [");
    for (uint32_t i = 0; i < r->pipe.npaths; i++) {
        const char *path = r->pipe.paths[i];
        char pesc[AL_JSON_NAME_MAX(PATH_MAX) + 1];
        size_t plen = strlen(path) < PATH_MAX ? strlen(path) : PATH_MAX;
        pesc[al_json_name(pesc, "file", path, plen)] = '\0';
        fprintf(fp,
                "%s\n    {%s, \"format\": \"%s\", \"bytes_read\": %" PRIu64 ", \"lines\": %" PRIu64,
                i ? "," : "", pesc, al_format_name(inputs[i].format), inputs[i].bytes_read,
                inputs[i].lines);
        write_part(fp, r, i);
        fprintf(fp, ", \"error\": ");
        if (inputs[i].err == AL_ERR_OK) {
            fprintf(fp, "null}");
        } else {
            char msg[1024];
            char mesc[AL_JSON_ESCAPED_MAX(sizeof(msg)) + 1];
            al_diag_format(inputs[i].err, &inputs[i].diag, msg, sizeof(msg));
            al_redact(msg, sizeof(msg), cli_secret());
            mesc[al_json_escape(mesc, msg, strlen(msg))] = '\0';
            fprintf(fp, "\"%s\"}", mesc);
        }
    }
    fprintf(fp, "\n  ]\n}\n");
}

int cli_write_report(const cli_run_t *r, const al_stats_t *s, const al_input_t *inputs,
                     double elapsed)
{
    const cli_settings_t *set = r->set;
    FILE *fp = al_fopen_private(set->report_path, 0);
    int rc;

    if (fp == NULL) {
        fprintf(stderr, "ampload: --report %s: %s\n", set->report_path, strerror(errno));
        return -1;
    }
    write_counts(fp, r, s, set->dry_run, elapsed);
    put_string(fp, "state_dir", set->state_dir);
    if (s->rejected_local + s->rejected_server > 0)
        put_string(fp, "reject_file", al_state_path(r->state, AL_STATE_REJECT));
    else
        fprintf(fp, ",\n  \"reject_file\": null");
    fprintf(fp, ",\n  \"failed_total\": %" PRIu64, r->failed_total);
    if (set->identify) {
        fprintf(fp, ",\n  \"held_total\": %" PRIu64, r->held_total);
        if (r->held_total > 0)
            put_string(fp, "held_file", al_state_path(r->state, AL_STATE_HELD));
        else
            fprintf(fp, ",\n  \"held_file\": null");
    }
    fprintf(fp, ",\n  \"zip_entries_skipped\": %" PRIu64, r->sources.members_skipped);
    if (r->failed_total > 0)
        put_string(fp, "failed_file", al_state_path(r->state, AL_STATE_FAILED));
    else
        fprintf(fp, ",\n  \"failed_file\": null");
    cli_reqlog_write_json(&r->log, fp);
    if (set->shard[0] != '\0')
        fprintf(fp, ",\n  \"shard\": \"%s\",\n  \"shard_by\": \"%s\"", set->shard,
                set->shard_by_device ? "device" : "input");
    else
        fprintf(fp, ",\n  \"shard\": null,\n  \"shard_by\": null");
    fprintf(fp, ",\n  \"resumed\": %s,\n  \"interrupted\": %s",
            al_state_resumed(r->state) ? "true" : "false",
            atomic_load(&((cli_run_t *)r)->stop) ? "true" : "false");
    if (!set->dry_run)
        put_string(fp, "endpoint", r->send.url);
    write_inputs(fp, r, inputs);
    /* durable like the state files: a report read after a crash of the
     * machine is whole or absent */
    rc = ferror(fp) || fflush(fp) != 0 || fsync(fileno(fp)) != 0 ? -1 : 0;
    if (fclose(fp) != 0 || rc != 0) {
        fprintf(stderr, "ampload: --report %s: write error\n", set->report_path);
        return -1;
    }
    return 0;
}
