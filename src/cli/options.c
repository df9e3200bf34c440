/* options.c - every option in one table: long name, short name, environment
 * variable, argument type and range; argv and the environment are both
 * parsed through it, as curl's tool_getparam.c does.
 *
 * The environment is applied first and the command line after it, so a flag
 * wins over its variable. A bad value in either is an error with the name
 * the user wrote (the flag, or the variable), never ignored. Nothing here
 * exits: help and version requests are returned to the caller.
 */
#include "cli.h"

#include "aimd.h"
#include "batch.h"
#include "json.h"
#include "state.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EU_ENDPOINT          "https://api.eu.amplitude.com/batch"
#define EU_IDENTIFY_ENDPOINT "https://api.eu.amplitude.com/identify"
/* Identifications per request by default: see README (Identify). */
#define IDENTIFY_BATCH_DEFAULT 1000
/* Identify's JSON per request at most, so that its form (up to 3 bytes per
 * byte, percent-encoded) stays within the 20 MB a /batch body may have. */
#define IDENTIFY_BATCH_BYTES 6500000u

typedef enum { ARG_NONE, ARG_NUM, ARG_TEXT } arg_t;

/* Applies one option's value. text is the argument as given (NULL for
 * ARG_NONE), num its value for ARG_NUM. @return 0, CLI_HELP/CLI_VERSION, or
 * an exit code after a message. */
typedef int (*apply_fn)(cli_settings_t *s, const char *text, uint64_t num);

typedef struct {
    const char *name;
    char short_name; /* 0: none */
    const char *env; /* NULL: none */
    arg_t arg;
    uint64_t lo, hi; /* ARG_NUM range */
    apply_fn apply;
} option_t;

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ampload: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry 'ampload --help' for the options.\n");
    return EXIT_USAGE;
}

/* Edit distance of a and b (each cut to 31 bytes): insertions, deletions
 * and substitutions. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strnlen(a, 31), lb = strnlen(b, 31), row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *did_you_mean(const char *arg);

/* Parses a decimal integer in [lo, hi]; opt names it in messages.
 * @return 0, or EXIT_USAGE after a message. */
static int parse_num(const char *opt, const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    char range[64];

    errno = 0;
    snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
    if (text[0] < '0' || text[0] > '9')
        goto bad;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    if (v < lo || v > hi) {
        fprintf(stderr, "ampload: %s: %s is out of range (%s)\n", opt, text, range);
        fprintf(stderr, "Try 'ampload --help' for the options.\n");
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
bad:
    fprintf(stderr, "ampload: %s: '%s' is not a number in %s\n", opt, text, range);
    fprintf(stderr, "Try 'ampload --help' for the options.\n");
    return EXIT_USAGE;
}

/* @return 1 when text starts like an http(s) URL. */
static int is_http_url(const char *text)
{
    return strncmp(text, "http://", 7) == 0 || strncmp(text, "https://", 8) == 0;
}

/* ---- appliers ----------------------------------------------------------- */

static int set_dry_run(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->dry_run = 1;
    return 0;
}

static int set_threads(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.threads = (uint32_t)v;
    return 0;
}

static int set_state(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    s->state_dir = t;
    return 0;
}

static int set_report(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    s->report_path = t;
    return 0;
}

static int set_quiet(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->quiet = 1;
    s->progress = 0;
    return 0;
}

static int set_min_id(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.rules.min_id_length = (uint32_t)v;
    s->pipe.batch.min_id_length = (uint32_t)v;
    return 0;
}

static int set_max_event(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.rules.max_event_bytes = (uint32_t)v;
    return 0;
}

static int set_batch_events(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.batch.max_events = (uint32_t)v;
    return 0;
}

static int set_batch_bytes(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.batch.max_bytes = (size_t)v;
    return 0;
}

static int set_chunk_bytes(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->pipe.chunk_bytes = (size_t)v;
    return 0;
}

static int set_key_file(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    s->api_key_file = t;
    return 0;
}

static int refuse_key(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)s, (void)t, (void)v;
    return usage_error("--api-key would show the key in 'ps' and shell history%s%s",
                       "; put it in AMPLITUDE_API_KEY or a file for --api-key-file", "");
}

static int set_endpoint(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (!is_http_url(t))
        return usage_error("--endpoint '%s' is not an http(s) URL%s", t, "");
    if (strlen(t) >= sizeof(s->send.url))
        return usage_error("--endpoint is too long%s%s", "", "");
    s->endpoint_arg = t; /* the URL: cli_resolve_url(), after every option */
    return 0;
}

static int set_region(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (strcmp(t, "us") != 0 && strcmp(t, "eu") != 0)
        return usage_error("--region '%s': use us or eu%s", t, "");
    s->region_arg = t; /* the URL: cli_resolve_url(), after every option */
    return 0;
}

static int set_concurrency(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->send.concurrency = (uint32_t)v;
    return 0;
}

static int set_rate(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->send.rate_eps = (double)v;
    return 0;
}

static int set_retry_time(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->send.retry_time_ms = v * 1000;
    return 0;
}

static int set_throttle_wait(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->send.throttle_wait_ms = v * 1000;
    return 0;
}

static int set_timeout(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->send.request_timeout_ms = (long)v * 1000;
    return 0;
}

static int set_insecure(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->send.insecure = 1;
    return 0;
}

static int set_progress(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->progress = 1;
    return 0;
}

static int set_resume(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->restart = 0;
    return 0;
}

static int set_restart(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->restart = 1;
    return 0;
}

static int set_insert_id(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (strcmp(t, "auto") == 0)
        s->pipe.insert_ids = 1;
    else if (strcmp(t, "keep") == 0)
        s->pipe.insert_ids = 0;
    else
        return usage_error("--insert-id '%s': use auto or keep%s", t, "");
    return 0;
}

static int set_audit(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    s->audit_path = t;
    return 0;
}

static int set_ca_file(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (access(t, R_OK) != 0)
        return usage_error("--ca-file %s: %s", t, strerror(errno));
    s->send.ca_file = t;
    return 0;
}

static int set_metrics_port(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t;
    s->metrics_port = (int)v;
    return 0;
}

/* --shard I/N, 0 <= I < N <= AL_MAX_SHARDS. */
/* --shard auto[/N]: the copy's index from the scheduler - a Slurm job
 * array's SLURM_ARRAY_TASK_ID (arrays numbered 0..N-1) or a Kubernetes
 * Indexed Job's JOB_COMPLETION_INDEX - and the count N: given, or the
 * array's SLURM_ARRAY_TASK_COUNT. Give N when one task may be submitted
 * again alone (sbatch --array=2): that array's count is 1. A Job does not
 * tell its pods its completions, so Kubernetes needs N. */
static int shard_auto(cli_settings_t *s, const char *t)
{
    const char *task = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *k8s = getenv("JOB_COMPLETION_INDEX");
    uint64_t i = 0, n = 0;

    if (t[4] == '/' && parse_num("--shard auto/N", t + 5, 1, AL_MAX_SHARDS, &n) != 0)
        return EXIT_USAGE;
    if (t[4] != '\0' && t[4] != '/')
        return usage_error("--shard '%s': use I/N, auto or auto/N%s", t, "");
    if (task != NULL && task[0] != '\0') {
        if (parse_num("SLURM_ARRAY_TASK_ID", task, 0, UINT32_MAX, &i) != 0)
            return EXIT_USAGE;
        if (n == 0 && (count == NULL ||
                       parse_num("SLURM_ARRAY_TASK_COUNT", count, 1, AL_MAX_SHARDS, &n) != 0))
            return usage_error("--shard auto: SLURM_ARRAY_TASK_COUNT is not set%s%s", "", "");
    } else if (k8s != NULL && k8s[0] != '\0') {
        if (parse_num("JOB_COMPLETION_INDEX", k8s, 0, UINT32_MAX, &i) != 0)
            return EXIT_USAGE;
        if (n == 0)
            return usage_error("--shard auto: JOB_COMPLETION_INDEX is set but not the count: use "
                               "--shard auto/N with N the Job's completions%s%s",
                               "", "");
    } else {
        return usage_error("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor "
                           "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set%s%s",
                           "", "");
    }
    if (i >= n) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%llu of %llu", (unsigned long long)i, (unsigned long long)n);
        return usage_error("--shard auto: task %s: number the array 0..N-1, and give N (--shard "
                           "auto/N) when a task is submitted again alone%s",
                           msg, "");
    }
    s->pipe.shard_index = (uint32_t)i;
    s->pipe.shard_count = (uint32_t)n;
    return 0;
}

static int set_shard(cli_settings_t *s, const char *t, uint64_t v)
{
    const char *slash = strchr(t, '/');
    char idx[24];
    uint64_t i, n;

    (void)v;
    s->shard_arg = t;
    if (strncmp(t, "auto", 4) == 0)
        return shard_auto(s, t);
    if (slash == NULL || slash == t || (size_t)(slash - t) >= sizeof(idx))
        return usage_error("--shard '%s': use I/N, e.g. 0/4 for the first of four shards%s", t, "");
    memcpy(idx, t, (size_t)(slash - t));
    idx[slash - t] = '\0';
    if (parse_num("--shard (count N)", slash + 1, 1, AL_MAX_SHARDS, &n) != 0 ||
        parse_num("--shard (index I)", idx, 0, n - 1, &i) != 0)
        return EXIT_USAGE;
    s->pipe.shard_index = (uint32_t)i;
    s->pipe.shard_count = (uint32_t)n;
    return 0;
}

static int set_shard_by(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (strcmp(t, "input") == 0)
        s->shard_by_device = 0;
    else if (strcmp(t, "device") == 0)
        s->shard_by_device = 1;
    else
        return usage_error("--shard-by '%s': use input or device%s", t, "");
    return 0;
}

static int set_gzip(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    /* ISA-L level 1: on event JSON about 6x smaller, several times zlib's
     * speed (batch.c) */
    s->pipe.batch.gzip_level = 1;
    return 0;
}

/* --from SOURCE: the shape of the input's lines. */
static int set_from(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)v;
    if (strcmp(t, "amplitude-export") != 0)
        return usage_error("--from '%s': the one source known is amplitude-export%s", t, "");
    if (s->identify) /* one identification per user, not a mapping per line */
        s->users_from_export = 1;
    else
        al_edits_from_export(&s->edits);
    return 0;
}

/* One edit of --rename, --drop or --set; flag names it in messages. */
static int edit_error(const char *flag, al_err_t err, const al_diag_t *d)
{
    return err == AL_ERR_OK ? 0 : usage_error("%s: %s", flag, d->detail);
}

static int set_rename(cli_settings_t *s, const char *t, uint64_t v)
{
    al_diag_t d;
    (void)v;
    return edit_error("--rename", al_edits_rename(&s->edits, t, &d), &d);
}

static int set_drop(cli_settings_t *s, const char *t, uint64_t v)
{
    al_diag_t d;
    (void)v;
    return edit_error("--drop", al_edits_drop(&s->edits, t, &d), &d);
}

static int set_field(cli_settings_t *s, const char *t, uint64_t v)
{
    al_diag_t d;
    (void)v;
    return edit_error("--set", al_edits_set(&s->edits, t, &d), &d);
}

static int set_skip_ups(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->edits.skip_ups = 1;
    return 0;
}

static int set_resend(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    if (!s->identify)
        return usage_error("--resend-non-idempotent is an option of 'ampload identify'%s%s", "",
                           "");
    s->send.resend_non_idempotent = 1;
    return 0;
}

static int set_allow_same_project(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->allow_same_project = 1;
    return 0;
}

static int set_verbose(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)t, (void)v;
    s->verbose = 1;
    return 0;
}

static int want_help(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)s, (void)t, (void)v;
    return CLI_HELP;
}

static int want_version(cli_settings_t *s, const char *t, uint64_t v)
{
    (void)s, (void)t, (void)v;
    return CLI_VERSION;
}

/* ---- the table ------------------------------------------------------------ */

static const option_t options[] = {
    {"dry-run", 0, NULL, ARG_NONE, 0, 0, set_dry_run},
    {"threads", 0, "AMPLOAD_THREADS", ARG_NUM, 1, AL_MAX_THREADS, set_threads},
    {"state", 0, "AMPLOAD_STATE", ARG_TEXT, 0, 0, set_state},
    {"report", 0, NULL, ARG_TEXT, 0, 0, set_report},
    {"quiet", 'q', NULL, ARG_NONE, 0, 0, set_quiet},
    {"min-id-length", 0, NULL, ARG_NUM, 1, 1024, set_min_id},
    {"max-event-bytes", 0, NULL, ARG_NUM, 64, AL_MAX_BATCH_BYTES, set_max_event},
    {"batch-events", 0, "AMPLOAD_BATCH_EVENTS", ARG_NUM, 1, AL_MAX_BATCH_EVENTS, set_batch_events},
    {"batch-size", 0, NULL, ARG_NUM, 1, AL_MAX_BATCH_EVENTS, set_batch_events},
    {"resend-non-idempotent", 0, NULL, ARG_NONE, 0, 0, set_resend},
    {"batch-bytes", 0, NULL, ARG_NUM, 1024, AL_MAX_BATCH_BYTES, set_batch_bytes},
    {"chunk-bytes", 0, NULL, ARG_NUM, 4096, (uint64_t)1 << 30, set_chunk_bytes},
    {"api-key-file", 0, NULL, ARG_TEXT, 0, 0, set_key_file},
    {"api-key", 0, NULL, ARG_TEXT, 0, 0, refuse_key},
    {"help", 'h', NULL, ARG_NONE, 0, 0, want_help},
    {"version", 0, NULL, ARG_NONE, 0, 0, want_version},
    {"endpoint", 0, NULL, ARG_TEXT, 0, 0, set_endpoint},
    {"region", 0, NULL, ARG_TEXT, 0, 0, set_region},
    {"concurrency", 0, "AMPLOAD_CONCURRENCY", ARG_NUM, 1, AL_MAX_CONCURRENCY, set_concurrency},
    {"rate", 0, "AMPLOAD_RATE", ARG_NUM, 1, 1000000000, set_rate},
    {"retry-time", 0, "AMPLOAD_RETRY_TIME", ARG_NUM, 0, 7 * 86400, set_retry_time},
    {"throttle-wait", 0, NULL, ARG_NUM, 0, 3600, set_throttle_wait},
    {"timeout", 0, NULL, ARG_NUM, 1, 3600, set_timeout},
    {"insecure", 0, NULL, ARG_NONE, 0, 0, set_insecure},
    {"progress", 0, NULL, ARG_NONE, 0, 0, set_progress},
    {"resume", 0, NULL, ARG_NONE, 0, 0, set_resume},
    {"restart", 0, NULL, ARG_NONE, 0, 0, set_restart},
    {"insert-id", 0, NULL, ARG_TEXT, 0, 0, set_insert_id},
    {"audit", 0, NULL, ARG_TEXT, 0, 0, set_audit},
    {"ca-file", 0, NULL, ARG_TEXT, 0, 0, set_ca_file},
    {"metrics-port", 0, "AMPLOAD_METRICS_PORT", ARG_NUM, 0, 65535, set_metrics_port},
    {"shard", 0, "AMPLOAD_SHARD", ARG_TEXT, 0, 0, set_shard},
    {"shard-by", 0, "AMPLOAD_SHARD_BY", ARG_TEXT, 0, 0, set_shard_by},
    {"gzip", 0, NULL, ARG_NONE, 0, 0, set_gzip},
    {"from", 0, NULL, ARG_TEXT, 0, 0, set_from},
    {"rename", 0, NULL, ARG_TEXT, 0, 0, set_rename},
    {"drop", 0, NULL, ARG_TEXT, 0, 0, set_drop},
    {"set", 0, NULL, ARG_TEXT, 0, 0, set_field},
    {"skip-user-properties-sync", 0, NULL, ARG_NONE, 0, 0, set_skip_ups},
    {"allow-same-project", 0, NULL, ARG_NONE, 0, 0, set_allow_same_project},
    {"verbose", 'v', NULL, ARG_NONE, 0, 0, set_verbose},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* Runs one table row on a value; name is what the user wrote. */
static int apply_option(cli_settings_t *s, const option_t *o, const char *name, const char *text)
{
    uint64_t num = 0;
    if (o->arg == ARG_NUM && parse_num(name, text, o->lo, o->hi, &num) != 0)
        return EXIT_USAGE;
    return o->apply(s, text, num);
}

/* "; did you mean --concurrency?" for a long option one or two edits away
 * from a known one (its "=value" left out), or "". Static storage. */
static const char *did_you_mean(const char *arg)
{
    static char hint[64];
    const char *name = arg;
    char word[32];
    size_t n, best = 3, pick = NOPTIONS;
    if (strncmp(name, "--", 2) != 0)
        return "";
    name += 2;
    n = strcspn(name, "=");
    if (n == 0 || n >= sizeof(word))
        return "";
    memcpy(word, name, n);
    word[n] = '\0';
    for (size_t i = 0; i < NOPTIONS; i++) {
        size_t d = distance(word, options[i].name);
        if (d < best) {
            best = d;
            pick = i;
        }
    }
    if (pick == NOPTIONS)
        return "";
    snprintf(hint, sizeof(hint), "; did you mean --%s?", options[pick].name);
    return hint;
}

/* The environment, in table order, before the command line. */
static int apply_environment(cli_settings_t *s)
{
    const char *dbg = getenv("AMPLITUDE_DEBUG");

    /* AMPLITUDE_BASE_URL is read by cli_resolve_url(), the one rule */
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *val = options[i].env != NULL ? getenv(options[i].env) : NULL;
        char flag[40];
        int rc;
        if (val == NULL || val[0] == '\0')
            continue;
        /* a number is named by its variable; a text by the flag it stands for */
        snprintf(flag, sizeof(flag), "--%s", options[i].name);
        rc = apply_option(s, &options[i], options[i].arg == ARG_NUM ? options[i].env : flag, val);
        if (rc != 0)
            return rc;
    }
    if (dbg != NULL && dbg[0] != '\0') {
        if (strcmp(dbg, "1") == 0 || strcmp(dbg, "true") == 0)
            s->verbose = 1;
        else if (strcmp(dbg, "0") != 0 && strcmp(dbg, "false") != 0) {
            fprintf(stderr, "ampload: AMPLITUDE_DEBUG: '%s' is not 1 or 0\n", dbg);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static void defaults(cli_settings_t *s, int mode)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(s, 0, sizeof(*s));
    al_pipeline_opts_init(&s->pipe);
    al_send_opts_init(&s->send);
    s->check = mode == CLI_MODE_CHECK;
    s->identify = mode == CLI_MODE_IDENTIFY;
    s->pipe.insert_ids = !s->identify; /* Identify has no insert_id */
    if (s->identify) {
        s->pipe.identify = 1;
        s->send.kind = &al_req_identify;
        s->pipe.batch.form = 1;
        s->pipe.batch.max_events = IDENTIFY_BATCH_DEFAULT;
        s->pipe.batch.max_bytes = IDENTIFY_BATCH_BYTES;
        s->send.throttle_wait_ms = 15000; /* what Amplitude asks of a throttled id */
        snprintf(s->send.url, sizeof(s->send.url), "%s", AL_DEFAULT_IDENTIFY_ENDPOINT);
    }
    s->pipe.threads = (uint32_t)(cores < 1 ? 1 : cores > AL_MAX_THREADS ? AL_MAX_THREADS : cores);
    s->progress = -1;
    s->metrics_port = -1;
}

/* Replaces "{shard}" in --state and --report with "I-of-N" (or "all"), so
 * copies that share a command line write to files of their own. */
static int fill_shard_names(cli_settings_t *s)
{
    static char state[PATH_MAX], report[PATH_MAX];
    const char *paths[2] = {s->state_dir, s->report_path};
    char *bufs[2] = {state, report};
    char shard[48];
    if (s->pipe.shard_count > 1)
        snprintf(shard, sizeof(shard), "%" PRIu32 "-of-%" PRIu32, s->pipe.shard_index,
                 s->pipe.shard_count);
    else
        snprintf(shard, sizeof(shard), "all");
    for (int k = 0; k < 2; k++) {
        const char *at = paths[k] != NULL ? strstr(paths[k], "{shard}") : NULL;
        if (at == NULL)
            continue;
        if ((size_t)snprintf(bufs[k], PATH_MAX, "%.*s%s%s", (int)(at - paths[k]), paths[k], shard,
                             at + 7) >= PATH_MAX)
            return usage_error("%s is too long%s", k == 0 ? "--state" : "--report", "");
    }
    if (s->state_dir != NULL && strstr(s->state_dir, "{shard}") != NULL)
        s->state_dir = state;
    if (s->report_path != NULL && strstr(s->report_path, "{shard}") != NULL)
        s->report_path = report;
    return 0;
}

/* The URL, by the one rule of every command (endpoint.c). */
static int resolve_url(cli_settings_t *s)
{
    static const cli_api_urls_t batch = {AL_DEFAULT_ENDPOINT, EU_ENDPOINT, "batch"};
    static const cli_api_urls_t identify = {AL_DEFAULT_IDENTIFY_ENDPOINT, EU_IDENTIFY_ENDPOINT,
                                            "identify"};
    return cli_resolve_url(s->send.url, sizeof(s->send.url), s->endpoint_arg, s->region_arg,
                           s->identify ? &identify : &batch, s->quiet, &s->url_source);
}

/* Options of the load that an identification has no use for. */
static int check_identify(cli_settings_t *s, int insert_id_set)
{
    if (!s->identify)
        return 0;
    if (s->pipe.batch.gzip_level > 0)
        return usage_error("--gzip: the Identify API takes a form body, not gzip; not with "
                           "'ampload identify'%s%s",
                           "", "");
    if (insert_id_set)
        return usage_error("--insert-id: identifications have no insert_id; not with "
                           "'ampload identify'%s%s",
                           "", "");
    if (al_edits_active(&s->edits))
        return usage_error("--rename, --drop, --set and --skip-user-properties-sync edit events; "
                           "not with 'ampload identify'%s%s",
                           "", "");
    return 0;
}

/* The checks that need every option: the event size against the body. */
static int check_combination(cli_settings_t *s, int max_event_set)
{
    al_pipeline_opts_t *p = &s->pipe;
    size_t env = al_batch_envelope_bytes(&p->batch);
    if (!max_event_set && p->rules.max_event_bytes + env > p->batch.max_bytes)
        p->rules.max_event_bytes = (uint32_t)(p->batch.max_bytes - env);
    if (p->rules.max_event_bytes + env > p->batch.max_bytes) {
        char lim[32];
        snprintf(lim, sizeof(lim), "%zu", p->batch.max_bytes - env);
        return usage_error("--max-event-bytes must be at most %s (--batch-bytes less the "
                           "request envelope)%s",
                           lim, "");
    }
    return 0;
}

int cli_parse_options(cli_settings_t *s, int argc, char **argv, int mode)
{
    struct option longopts[NOPTIONS + 1];
    char shorts[2 * NOPTIONS + 2] = ":";
    size_t ns = 1;
    int opt, rc, max_event_set = 0, insert_id_set = 0;

    defaults(s, mode);
    for (size_t i = 0; i < NOPTIONS; i++) {
        longopts[i] = (struct option){options[i].name,
                                      options[i].arg == ARG_NONE ? no_argument : required_argument,
                                      NULL, 256 + (int)i};
        if (options[i].short_name != 0) {
            shorts[ns++] = options[i].short_name;
            if (options[i].arg != ARG_NONE)
                shorts[ns++] = ':';
        }
    }
    longopts[NOPTIONS] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    rc = apply_environment(s);
    if (rc != 0)
        return rc;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const option_t *o = NULL;
        char flag[40];
        if (opt >= 256 && opt < 256 + (int)NOPTIONS)
            o = &options[opt - 256];
        for (size_t i = 0; o == NULL && opt > 0 && opt < 256 && i < NOPTIONS; i++)
            if (options[i].short_name == opt)
                o = &options[i];
        if (opt == ':')
            return usage_error("option %s needs a value%s", argv[optind - 1], "");
        if (o == NULL)
            return usage_error("unknown option '%s'%s", argv[optind - 1],
                               did_you_mean(argv[optind - 1]));
        snprintf(flag, sizeof(flag), "--%s", o->name);
        max_event_set |= o->apply == set_max_event;
        insert_id_set |= o->apply == set_insert_id;
        rc = apply_option(s, o, flag, optarg);
        if (rc != 0)
            return rc;
    }
    if (optind >= argc && !s->check)
        return usage_error("no input files%s%s", " (give FILE... or '-' for standard input)", "");
    rc = resolve_url(s);
    if (rc == 0)
        rc = check_combination(s, max_event_set);
    if (rc == 0)
        rc = check_identify(s, insert_id_set);
    if (rc != 0)
        return rc;
    s->pipe.paths = (const char *const *)(argv + optind);
    s->pipe.npaths = (uint32_t)(argc - optind);
    if (al_edits_active(&s->edits))
        s->pipe.edits = &s->edits;
    if (s->pipe.shard_count > 1) {
        snprintf(s->shard, sizeof(s->shard), "%" PRIu32 "/%" PRIu32, s->pipe.shard_index,
                 s->pipe.shard_count);
        snprintf(s->shard_label, sizeof(s->shard_label), "%s%s", s->shard,
                 s->shard_by_device ? " by device" : "");
    }
    rc = fill_shard_names(s);
    if (rc != 0)
        return rc;
    if (s->state_dir == NULL && s->pipe.npaths > 0)
        cli_default_state_dir(s);
    return CLI_PARSED;
}

int cli_settle(cli_settings_t *s, int argc, char **argv, int mode, int *rc)
{
    *rc = cli_parse_options(s, argc, argv, mode);
    if (*rc == CLI_HELP || *rc == CLI_VERSION) {
        if (*rc == CLI_VERSION)
            cli_version(stdout);
        else if (mode == CLI_MODE_IDENTIFY)
            cli_identify_help(stdout);
        else if (mode == CLI_MODE_CHECK)
            cli_check_help(stdout);
        else
            cli_help(stdout);
        *rc = EXIT_OK;
        return 0;
    }
    if (*rc == 0)
        *rc = cli_load_key(s);
    if (*rc != 0)
        return 0;
    if (s->send.insecure && !s->quiet)
        fprintf(stderr, "ampload: warning: --insecure: TLS certificates are not verified\n");
    return 1;
}
