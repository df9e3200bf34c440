/* cmd_report.c - `ampload report merge [-o FILE] REPORT.json...`: one
 * accounting for a job run as N copies (--shard I/N).
 *
 * It reads each copy's --report and checks, before adding anything up, that
 * the reports are one job's: the same shard count and kind, every index from
 * 0 to N-1 exactly once (a missing or a doubled shard is named), the same
 * inputs with the same sizes, and - by input - parts that cover each input
 * exactly once, byte for byte (by device, every copy covers all of it). Then
 * it sums the counters, refusals by reason and failures by cause, checks the
 * accounting invariant over the sum, and writes the merged report (stdout,
 * or -o FILE). Exit 0, or 5 when the copies left failed events (or held
 * identifications), 3 when the reports are not one complete job, a copy did
 * not finish (interrupted, or its own counts do not balance: each is named,
 * with what to do) or the sum does not balance - and then nothing is
 * written, since a merged report is read as the job's outcome - 2 for a
 * usage error.
 */
#include "cli.h"

#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_INCOMPLETE 3

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ampload: report merge: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return EXIT_INCOMPLETE;
}

static uint64_t num(json_t *r, const char *key)
{
    json_t *v = json_object_get(r, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Reads "I/N". @return 0 or -1. */
static int shard_of(json_t *r, uint64_t *i, uint64_t *n)
{
    const char *s = json_string_value(json_object_get(r, "shard"));
    unsigned long long a, b;
    if (s == NULL) {
        *i = 0;
        *n = 1;
        return 0;
    }
    if (sscanf(s, "%llu/%llu", &a, &b) != 2 || b == 0 || a >= b)
        return -1;
    *i = a;
    *n = b;
    return 0;
}

/* Every report the same job's shard of a different index. */
static int check_shards(json_t **r, char **names, int n, uint64_t *count)
{
    uint64_t i0, n0;
    const char *by0 = json_string_value(json_object_get(r[0], "shard_by"));
    int *seen;
    if (shard_of(r[0], &i0, &n0) != 0)
        return fail("%s: its \"shard\" is not I/N%s", names[0], "");
    seen = calloc(n0, sizeof(*seen));
    if (seen == NULL)
        return fail("out of memory%s%s", "", "");
    for (int k = 0; k < n; k++) {
        uint64_t i, c;
        const char *by = json_string_value(json_object_get(r[k], "shard_by"));
        char msg[64];
        if (shard_of(r[k], &i, &c) != 0 || c != n0 || (by == NULL) != (by0 == NULL) ||
            (by != NULL && strcmp(by, by0) != 0)) {
            free(seen);
            return fail("%s is a shard of another job (its shard or shard_by differs from %s's)",
                        names[k], names[0]);
        }
        if (seen[i] != 0) {
            int first = seen[i] - 1;
            snprintf(msg, sizeof(msg), "shard %" PRIu64 "/%" PRIu64, i, c);
            fprintf(stderr, "ampload: report merge: %s appears twice: %s and %s\n", msg,
                    names[first], names[k]);
            free(seen);
            return EXIT_INCOMPLETE;
        }
        seen[i] = k + 1;
    }
    for (uint64_t i = 0; i < n0; i++) {
        if (seen[i] == 0) {
            fprintf(stderr,
                    "ampload: report merge: shard %" PRIu64 "/%" PRIu64
                    " is missing: no report of it was given\n",
                    i, n0);
            free(seen);
            return EXIT_INCOMPLETE;
        }
    }
    free(seen);
    *count = n0;
    return 0;
}

/* The lines a report (or the sum) counts as resolved. */
static uint64_t resolved(json_t *m)
{
    if (json_is_true(json_object_get(m, "dry_run")))
        return num(m, "events_valid") + num(m, "rejected_local") + num(m, "skipped");
    return num(m, "events_sent") + num(m, "rejected_local") + num(m, "rejected_server") +
           num(m, "failed") + num(m, "non_idempotent_held") + num(m, "skipped");
}

/* The accounting invariant, over one report or over the sum. */
static int balanced(json_t *m)
{
    return num(m, "lines_read") == resolved(m);
}

/* Names every copy whose run did not finish: interrupted, or its own
 * counts do not balance (lines read but not resolved). A merge of those
 * would be a report of a job that is not done. @return 0, or EXIT_INCOMPLETE. */
static int check_finished(json_t **r, char **names, int n)
{
    int bad = 0;
    for (int q = 0; q < n; q++) {
        const char *shard = json_string_value(json_object_get(r[q], "shard"));
        int stopped = json_is_true(json_object_get(r[q], "interrupted"));
        if (!stopped && balanced(r[q]))
            continue;
        bad = 1;
        fprintf(stderr,
                "ampload: report merge: shard %s (%s) did not finish: %s%" PRIu64
                " lines read, %" PRIu64 " resolved\n",
                shard != NULL ? shard : "0/1", names[q], stopped ? "it was interrupted, " : "",
                num(r[q], "lines_read"), resolved(r[q]));
    }
    if (bad)
        fprintf(stderr, "  hint: run the command of each shard named again (the same command "
                        "resumes it), then merge the new reports; no merged report was written\n");
    return bad ? EXIT_INCOMPLETE : 0;
}

typedef struct {
    uint64_t start, end;
    int report;
} span_t;

static int by_start(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Input k of every report: the same file and size; parts covering it once
 * (by input) or each whole (by device). */
static int check_input(json_t **r, char **names, int n, size_t k, int by_device)
{
    json_t *in0 = json_array_get(json_object_get(r[0], "inputs"), k);
    const char *file = json_string_value(json_object_get(in0, "file"));
    uint64_t size = num(in0, "size"), at = 0;
    span_t *sp = calloc((size_t)n, sizeof(*sp));
    int ns = 0, rc = 0;
    char where[64];

    if (sp == NULL || file == NULL)
        return fail("%s: an input without a name%s", names[0], "");
    for (int q = 0; q < n && rc == 0; q++) {
        json_t *in = json_array_get(json_object_get(r[q], "inputs"), k);
        json_t *part = json_object_get(in, "part");
        const char *f = json_string_value(json_object_get(in, "file"));
        if (f == NULL || strcmp(f, file) != 0 || num(in, "size") != size) {
            rc = fail("%s and %s list other inputs, or other sizes (was an input changed "
                      "while the job ran?)",
                      names[0], names[q]);
            break;
        }
        if (json_is_array(part) && json_array_size(part) == 2) {
            sp[ns].start = (uint64_t)json_integer_value(json_array_get(part, 0));
            sp[ns].end = (uint64_t)json_integer_value(json_array_get(part, 1));
            sp[ns++].report = q;
            if (by_device && (sp[ns - 1].start != 0 || sp[ns - 1].end != size))
                rc = fail("%s: by device, every copy reads all of %s", names[q], file);
        }
    }
    if (rc == 0 && !by_device) {
        qsort(sp, (size_t)ns, sizeof(*sp), by_start);
        for (int q = 0; q < ns && rc == 0; q++) {
            if (sp[q].start != at) {
                snprintf(where, sizeof(where), "at byte %" PRIu64,
                         sp[q].start < at ? sp[q].start : at);
                fprintf(stderr,
                        "ampload: report merge: %s is not covered exactly once: %s %s (%s)\n", file,
                        sp[q].start < at ? "an overlap" : "a gap", where, names[sp[q].report]);
                rc = EXIT_INCOMPLETE;
            }
            at = sp[q].end;
        }
        if (rc == 0 && at != size && !(ns == 0 && size == 0)) {
            snprintf(where, sizeof(where), "from byte %" PRIu64 " to %" PRIu64, at, size);
            rc = fail("%s is not covered exactly once: no copy read it %s", file, where);
        }
        if (rc == 0 && ns == 0 && size == 0) {
            /* an empty input: it must still belong to one copy */
            int owners = 0;
            for (int q = 0; q < n; q++)
                owners += json_is_array(
                    json_object_get(json_array_get(json_object_get(r[q], "inputs"), k), "part"));
            if (owners != 1)
                rc = fail("%s (empty) is not owned by exactly one copy%s", file, "");
        }
    }
    free(sp);
    return rc;
}

/* Adds every integer of src's object `key` into dst's. */
static void sum_map(json_t *dst, json_t *src, const char *key)
{
    json_t *d = json_object_get(dst, key), *v;
    const char *k;
    if (d == NULL) {
        d = json_object();
        json_object_set_new(dst, key, d);
    }
    json_object_foreach(json_object_get(src, key), k, v)
    {
        json_int_t was = json_integer_value(json_object_get(d, k));
        json_object_set_new(d, k, json_integer(was + json_integer_value(v)));
    }
}

static const char *const summed[] = {
#define AL_STATS_NAME(name) #name,
    AL_STATS_COUNTERS(AL_STATS_NAME)
#undef AL_STATS_NAME
        "failed_total",
    "held_total",
};

/* The merged report. @return it (new reference). */
static json_t *merge(json_t **r, char **names, int n, uint64_t count)
{
    json_t *m = json_object(), *inputs = json_array(), *list = json_array();
    double elapsed = 0;
    size_t nin = json_array_size(json_object_get(r[0], "inputs"));
    int dry = json_is_true(json_object_get(r[0], "dry_run"));

    json_object_set_new(m, "dry_run", json_boolean(dry));
    for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
        uint64_t t = 0;
        for (int q = 0; q < n; q++)
            t += num(r[q], summed[k]);
        json_object_set_new(m, summed[k], json_integer((json_int_t)t));
    }
    for (int q = 0; q < n; q++) {
        double e = json_number_value(json_object_get(r[q], "elapsed_s"));
        if (e > elapsed)
            elapsed = e;
        sum_map(m, r[q], "rejected_by_reason");
        sum_map(m, r[q], "failed_by_cause");
        json_array_append_new(list, json_string(names[q]));
    }
    json_object_set_new(m, "elapsed_s", json_real(elapsed));
    json_object_set_new(
        m, "events_per_s",
        json_real(elapsed > 0 ? (double)num(m, dry ? "events_valid" : "events_sent") / elapsed
                              : 0));
    json_object_set_new(m, "shards", json_integer((json_int_t)count));
    json_object_set(m, "shard_by", json_object_get(r[0], "shard_by"));
    json_object_set_new(m, "reports", list);
    for (size_t k = 0; k < nin; k++) {
        json_t *in0 = json_array_get(json_object_get(r[0], "inputs"), k);
        uint64_t bytes = 0, lines = 0;
        for (int q = 0; q < n; q++) {
            json_t *in = json_array_get(json_object_get(r[q], "inputs"), k);
            bytes += num(in, "bytes_read");
            lines += num(in, "lines");
        }
        json_array_append_new(inputs,
                              json_pack("{s:O,s:I,s:I,s:I}", "file", json_object_get(in0, "file"),
                                        "size", (json_int_t)num(in0, "size"), "bytes_read",
                                        (json_int_t)bytes, "lines", (json_int_t)lines));
    }
    json_object_set_new(m, "inputs", inputs);
    return m;
}

static int merge_reports(int n, char **names, const char *out)
{
    json_t **r = calloc((size_t)n, sizeof(*r)), *m = NULL;
    uint64_t count = 0;
    int rc = 0, by_device;
    size_t nin;

    for (int q = 0; q < n && rc == 0; q++) {
        json_error_t err;
        r[q] = json_load_file(names[q], 0, &err);
        if (!json_is_object(r[q]) || !json_is_array(json_object_get(r[q], "inputs")))
            rc = fail("%s: not a report of ampload (%s)", names[q],
                      r[q] == NULL ? err.text : "no inputs");
    }
    if (rc == 0)
        rc = check_shards(r, names, n, &count);
    by_device = rc == 0 && json_string_value(json_object_get(r[0], "shard_by")) != NULL &&
                strcmp(json_string_value(json_object_get(r[0], "shard_by")), "device") == 0;
    nin = rc == 0 ? json_array_size(json_object_get(r[0], "inputs")) : 0;
    for (int q = 0; q < n && rc == 0; q++)
        if (json_array_size(json_object_get(r[q], "inputs")) != nin)
            rc = fail("%s and %s list other inputs", names[0], names[q]);
    for (size_t k = 0; k < nin && rc == 0; k++)
        rc = check_input(r, names, n, k, by_device);
    if (rc == 0)
        rc = check_finished(r, names, n);
    if (rc == 0) {
        m = merge(r, names, n, count);
        json_object_set_new(m, "balanced", json_boolean(balanced(m)));
        if (!balanced(m)) /* every copy balanced: only a report edited by hand gets here */
            rc = fail("the sum does not balance: lines_read is not the sum of the outcomes; "
                      "no merged report was written%s%s",
                      "", "");
        else if (json_dump_file(m, out != NULL ? out : "/dev/stdout", JSON_INDENT(2)) != 0) {
            fprintf(stderr, "ampload: report merge: %s: %s\n", out ? out : "stdout",
                    strerror(errno));
            rc = EXIT_INTERNAL;
        } else if (rc == 0 && (num(m, "failed_total") > 0 || num(m, "held_total") > 0)) {
            rc = EXIT_FAILED;
        }
    }
    for (int q = 0; q < n; q++)
        json_decref(r[q]);
    json_decref(m);
    free(r);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    cli_report_args_t a = {NULL};
    int first = argc, rc;

    if (argc < 2 || strcmp(argv[1], "merge") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            cli_help(stdout, CLI_MODE_REPORT);
            return EXIT_OK;
        }
        return cli_opt_error(cli_options(), CLI_CMD_REPORT, "report: the one action is 'merge'");
    }
    argv[1] = argv[0];
    argc--;
    argv++;
    rc = cli_opt_parse(cli_options(), CLI_CMD_REPORT, &a, argc, argv, &first);
    if (rc == CLI_HELP) {
        cli_help(stdout, CLI_MODE_REPORT);
        return EXIT_OK;
    }
    if (rc != 0)
        return rc;
    if (first >= argc)
        return cli_opt_error(cli_options(), CLI_CMD_REPORT, "report merge: no reports given");
    return merge_reports(argc - first, argv + first, a.out);
}
