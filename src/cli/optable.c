/* optable.c - the one option table of every command of ampload (opt.h):
 * load, check, identify, export and report merge. Each row says which
 * commands take it; a name a command takes differently (identify's
 * --batch-size, export's --timeout) has a row of its own for it. From these
 * rows come the parsing of argv and of the environment (options.c), range
 * errors, every command's --help (help.c adds the prose around them) and
 * the option sections of the man page and of the README (ampload-optdoc
 * writes them; the cli_options_sync test fails on any difference).
 *
 * The load, check and identify store into cli_settings_t, export into
 * cli_export_args_t, report merge into cli_report_args_t. Rows store what
 * they can into a field; a function here does what a field cannot (a value
 * that sets two fields, a check, --shard's forms).
 */
#include "cli.h"

#include "aimd.h"
#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_optable_t *table(void);

/* A usage error of the load's commands. */
#define usage_error(s, ...) cli_opt_error(table(), 1u << (s)->mode, __VA_ARGS__)

/* Parses a decimal integer in [lo, hi] outside the table (a part of
 * --shard, a scheduler's variable); opt names it in messages.
 * @return 0, or EXIT_USAGE after a message. */
static int parse_num(const cli_settings_t *s, const char *opt, const char *text, uint64_t lo,
                     uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        goto bad;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    if (v < lo || v > hi)
        return usage_error(s, "%s: %s is out of range (%llu..%llu)", opt, text,
                           (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return 0;
bad:
    return usage_error(s, "%s: '%s' is not a number in %llu..%llu", opt, text,
                       (unsigned long long)lo, (unsigned long long)hi);
}

/* ---- what a field cannot do ---------------------------------------------- */

static int set_quiet(void *t, const char *name, const cli_optval_t *v)
{
    cli_settings_t *s = t;
    (void)name, (void)v;
    s->quiet = 1;
    s->progress = 0;
    return 0;
}

static int set_resume(void *t, const char *name, const cli_optval_t *v)
{
    (void)name, (void)v;
    ((cli_settings_t *)t)->restart = 0;
    return 0;
}

static int set_min_id(void *t, const char *name, const cli_optval_t *v)
{
    cli_settings_t *s = t;
    (void)name;
    s->pipe.rules.min_id_length = (uint32_t)v->u;
    s->pipe.batch.min_id_length = (uint32_t)v->u;
    return 0;
}

static int set_max_event(void *t, const char *name, const cli_optval_t *v)
{
    (void)name, (void)v;
    ((cli_settings_t *)t)->max_event_set = 1;
    return 0;
}

static int set_rate(void *t, const char *name, const cli_optval_t *v)
{
    (void)name;
    ((cli_settings_t *)t)->send.rate_eps = v->d;
    return 0;
}

static int refuse_key(void *t, const char *name, const cli_optval_t *v)
{
    (void)t, (void)name, (void)v;
    return cli_opt_error(table(), CLI_CMD_LOAD,
                         "--api-key would show the key in 'ps' and shell history; put it in "
                         "AMPLITUDE_API_KEY or a file for --api-key-file");
}

/* --endpoint, for every command: an http(s) URL that fits send.url. */
static int check_endpoint(void *t, const char *name, const cli_optval_t *v)
{
    (void)t, (void)name;
    if (strncmp(v->text, "http://", 7) != 0 && strncmp(v->text, "https://", 8) != 0)
        return cli_opt_error(table(), CLI_CMD_LOAD, "--endpoint '%s' is not an http(s) URL",
                             v->text);
    if (strlen(v->text) >= sizeof(((al_send_opts_t *)0)->url))
        return cli_opt_error(table(), CLI_CMD_LOAD, "--endpoint is too long");
    return 0;
}

/* --ca-file, for every command: a file that can be read. */
static int check_readable(void *t, const char *name, const cli_optval_t *v)
{
    (void)t;
    if (access(v->text, R_OK) != 0)
        return cli_opt_error(table(), CLI_CMD_LOAD, "%s %s: %s", name, v->text, strerror(errno));
    return 0;
}

static int set_insert_id(void *t, const char *name, const cli_optval_t *v)
{
    (void)name;
    ((cli_settings_t *)t)->pipe.insert_ids = v->u == 0; /* auto|keep */
    return 0;
}

static int set_gzip(void *t, const char *name, const cli_optval_t *v)
{
    (void)name, (void)v;
    /* ISA-L level 1: on event JSON about 6x smaller, several times zlib's
     * speed (batch.c) */
    ((cli_settings_t *)t)->pipe.batch.gzip_level = 1;
    return 0;
}

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

    if (t[4] == '/' && parse_num(s, "--shard auto/N", t + 5, 1, AL_MAX_SHARDS, &n) != 0)
        return EXIT_USAGE;
    if (t[4] != '\0' && t[4] != '/')
        return usage_error(s, "--shard '%s': use I/N, auto or auto/N", t);
    if (task != NULL && task[0] != '\0') {
        if (parse_num(s, "SLURM_ARRAY_TASK_ID", task, 0, UINT32_MAX, &i) != 0)
            return EXIT_USAGE;
        if (n == 0 && (count == NULL ||
                       parse_num(s, "SLURM_ARRAY_TASK_COUNT", count, 1, AL_MAX_SHARDS, &n) != 0))
            return usage_error(s, "--shard auto: SLURM_ARRAY_TASK_COUNT is not set");
    } else if (k8s != NULL && k8s[0] != '\0') {
        if (parse_num(s, "JOB_COMPLETION_INDEX", k8s, 0, UINT32_MAX, &i) != 0)
            return EXIT_USAGE;
        if (n == 0)
            return usage_error(s, "--shard auto: JOB_COMPLETION_INDEX is set but not the count: "
                                  "use --shard auto/N with N the Job's completions");
    } else {
        return usage_error(s, "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor "
                              "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set");
    }
    if (i >= n)
        return usage_error(s,
                           "--shard auto: task %llu of %llu: number the array 0..N-1, and give N "
                           "(--shard auto/N) when a task is submitted again alone",
                           (unsigned long long)i, (unsigned long long)n);
    s->pipe.shard_index = (uint32_t)i;
    s->pipe.shard_count = (uint32_t)n;
    return 0;
}

/* --shard I/N, 0 <= I < N <= AL_MAX_SHARDS, or auto[/N]. */
static int set_shard(void *target, const char *name, const cli_optval_t *v)
{
    cli_settings_t *s = target;
    const char *t = v->text, *slash = strchr(t, '/');
    char idx[24];
    uint64_t i, n;

    (void)name;
    s->shard_arg = t;
    if (strncmp(t, "auto", 4) == 0)
        return shard_auto(s, t);
    if (slash == NULL || slash == t || (size_t)(slash - t) >= sizeof(idx))
        return usage_error(s, "--shard '%s': use I/N, e.g. 0/4 for the first of four shards", t);
    memcpy(idx, t, (size_t)(slash - t));
    idx[slash - t] = '\0';
    if (parse_num(s, "--shard (count N)", slash + 1, 1, AL_MAX_SHARDS, &n) != 0 ||
        parse_num(s, "--shard (index I)", idx, 0, n - 1, &i) != 0)
        return EXIT_USAGE;
    s->pipe.shard_index = (uint32_t)i;
    s->pipe.shard_count = (uint32_t)n;
    return 0;
}

static int set_from(void *t, const char *name, const cli_optval_t *v)
{
    (void)name, (void)v;
    al_edits_from_export(&((cli_settings_t *)t)->edits);
    return 0;
}

/* identify --from amplitude-export: one identification per user, not a
 * mapping per line (derive.c). */
static int set_users_from(void *t, const char *name, const cli_optval_t *v)
{
    (void)name, (void)v;
    ((cli_settings_t *)t)->users_from_export = 1;
    return 0;
}

/* One edit of --rename, --drop or --set; flag names it in messages. */
static int edit_error(cli_settings_t *s, const char *flag, al_err_t err, const al_diag_t *d)
{
    return err == AL_ERR_OK ? 0 : usage_error(s, "%s: %s", flag, d->detail);
}

static int set_rename(void *t, const char *name, const cli_optval_t *v)
{
    al_diag_t d;
    return edit_error(t, name, al_edits_rename(&((cli_settings_t *)t)->edits, v->text, &d), &d);
}

static int set_drop(void *t, const char *name, const cli_optval_t *v)
{
    al_diag_t d;
    return edit_error(t, name, al_edits_drop(&((cli_settings_t *)t)->edits, v->text, &d), &d);
}

static int set_field(void *t, const char *name, const cli_optval_t *v)
{
    al_diag_t d;
    return edit_error(t, name, al_edits_set(&((cli_settings_t *)t)->edits, v->text, &d), &d);
}

static int want_help(void *t, const char *name, const cli_optval_t *v)
{
    (void)t, (void)name, (void)v;
    return CLI_HELP;
}

static int want_version(void *t, const char *name, const cli_optval_t *v)
{
    (void)t, (void)name, (void)v;
    return CLI_VERSION;
}

/* ---- the table -------------------------------------------------------------- */

#define S(f)   CLI_OPT_FIELD(cli_settings_t, f)
#define X(f)   CLI_OPT_FIELD(cli_export_args_t, f)
#define R(f)   CLI_OPT_FIELD(cli_report_args_t, f)
#define LOAD   (CLI_CMD_LOAD | CLI_CMD_CHECK)
#define LOADS  (CLI_CMD_LOAD | CLI_CMD_CHECK | CLI_CMD_IDENTIFY)
#define EXPORT CLI_CMD_EXPORT
#define IDENT  CLI_CMD_IDENTIFY
#define CHECK  CLI_CMD_CHECK /* in .unlisted: taken, but changes nothing checked */

#define DELIVERY "Delivery"
#define RUN      "Run"
#define EVENTS   "Events"
#define EDITS    "Edits (top-level fields, before validation; repeatable)"
#define IDENTIFY "Identify"
#define OBJECTS  "Objects in buckets (s3://bucket/key, s3://bucket/prefix/, a glob; gs://)"
#define EXPORTS  "Export"
#define REPORTS  "Report merge"
#define GENERAL  "General"

#define URL_RULE                                                                                   \
    "the rule, the same for every command: `--endpoint`, else `--region`, else "                   \
    "`AMPLITUDE_BASE_URL` (a host; the API's path is added unless the URL ends so), else the "     \
    "US default. A source given but outranked is named on stderr (`note: AMPLITUDE_BASE_URL "      \
    "is ignored: --region chooses the URL`), and a configuration error says which one chose "      \
    "the URL. A URL with no host, an empty port or a user name or password in it is refused "      \
    "(exit 2; credentials would end up in reports and logs)"

static const cli_opt_t rows[] = {
    /* Delivery */
    {.name = "endpoint",
     .cmds = LOAD,
     .type = OPT_TEXT,
     .meta = "URL",
     S(endpoint_arg),
     .fn = check_endpoint,
     .section = DELIVERY,
     .help = "the /batch URL; it outranks --region and AMPLITUDE_BASE_URL",
     .deflt = AL_DEFAULT_ENDPOINT,
     .more = URL_RULE},
    {.name = "region",
     .cmds = LOADS,
     .type = OPT_WORD,
     .meta = "us|eu",
     S(region_arg),
     .section = DELIVERY,
     .help = "the documented host of each region",
     .deflt = "us",
     .more = "EU: `" AL_EU_ENDPOINT "` (identify: `" AL_EU_IDENTIFY_ENDPOINT "`)"},
    {.name = "api-key-file",
     .cmds = LOADS,
     .type = OPT_TEXT,
     .meta = "PATH",
     S(api_key_file),
     .section = DELIVERY,
     .help = "file holding the API key (or env AMPLITUDE_API_KEY)",
     .more = "it should be readable by its owner only; the key is never taken on the command "
             "line"},
    {.name = "api-key",
     .cmds = LOADS | EXPORT,
     .unlisted = LOADS | EXPORT,
     .type = OPT_TEXT,
     .meta = "KEY",
     .fn = refuse_key,
     .section = DELIVERY},
    {.name = "concurrency",
     .env = "AMPLOAD_CONCURRENCY",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = AL_MAX_CONCURRENCY,
     S(send.concurrency),
     .section = DELIVERY,
     .help = "most requests in flight, {range}; the window starts at 8 and adapts below it",
     .deflt = "64"},
    {.name = "rate",
     .env = "AMPLOAD_RATE",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "EPS",
     .lo = 1,
     .hi = 1e9,
     .fn = set_rate,
     .section = DELIVERY,
     .help = "events/s ceiling: a token bucket one batch deep, so no one-second window "
             "holds more than EPS plus one batch",
     .deflt = "none"},
    {.name = "retry-time",
     .env = "AMPLOAD_RETRY_TIME",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 0,
     .hi = 7 * 86400,
     S(send.retry_time_ms),
     .scale = 1000,
     .section = DELIVERY,
     .help = "retry budget per batch before its events go to the failed file; throttled events "
             "count too",
     .deflt = "600",
     .more = "counted from the batch's first attempt; a Retry-After beyond what is left fails "
             "the batch at once. An endpoint never reached since the start stops the run after "
             "the smaller of 30 s and this (exit 4), with nothing failed"},
    {.name = "throttle-wait",
     .cmds = LOAD,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 0,
     .hi = 3600,
     S(send.throttle_wait_ms),
     .scale = 1000,
     .section = DELIVERY,
     .help = "pause for ids Amplitude throttled (429)",
     .deflt = "30"},
    {.name = "timeout",
     .cmds = LOADS,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 1,
     .hi = 3600,
     S(send.request_timeout_ms),
     .scale = 1000,
     .section = DELIVERY,
     .help = "per request",
     .deflt = "120"},
    {.name = "ca-file",
     .cmds = LOADS,
     .type = OPT_TEXT,
     .meta = "PATH",
     S(send.ca_file),
     .fn = check_readable,
     .section = DELIVERY,
     .help = "trust the CA certificates in PATH (PEM) for TLS",
     .deflt = "the system's",
     .more = "e.g. those of a TLS-inspecting proxy"},
    {.name = "insecure",
     .cmds = LOADS,
     .type = OPT_FLAG,
     S(send.insecure),
     .section = DELIVERY,
     .help = "do not verify TLS certificates (test servers only)",
     .more = "a warning is printed"},
    {.name = "gzip",
     .cmds = LOAD,
     .type = OPT_FLAG,
     .fn = set_gzip,
     .section = DELIVERY,
     .help = "gzip request bodies (Content-Encoding: gzip): about 6x less upload for some CPU",
     .more = "ISA-L level 1: about a third more time over loopback (see Performance); worth it "
             "on any Internet uplink; a dry run compresses too, to show the cost",
     .refusal = "the Identify API takes a form body, not gzip"},
    {.name = "insert-id",
     .cmds = LOAD,
     .unlisted = CHECK,
     .type = OPT_CHOICE,
     .meta = "auto|keep",
     .fn = set_insert_id,
     .section = DELIVERY,
     .help = "auto: give events without insert_id a deterministic one (from the input's key "
             "and the line's byte offset); keep: never",
     .deflt = "auto",
     .refusal = "identifications have no insert_id"},

    /* Objects in buckets */
    {.name = "s3-endpoint",
     .cmds = LOADS,
     .type = OPT_TEXT,
     .meta = "URL",
     S(s3_endpoint_arg),
     .fn = check_endpoint,
     .section = OBJECTS,
     .help = "an S3-compatible store for s3:// inputs (MinIO, Ceph, R2, ...); else "
             "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL",
     .deflt = "AWS's, by region",
     .more = "credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
             "AWS_SESSION_TOKEN, else the shared credentials file under AWS_PROFILE; the region "
             "from AWS_REGION, AWS_DEFAULT_REGION or the shared config file. They are never "
             "printed"},
    {.name = "s3-addressing",
     .cmds = LOADS,
     .type = OPT_CHOICE,
     .meta = "auto|path|virtual",
     S(s3_addressing),
     .section = OBJECTS,
     .help = "path-style (ENDPOINT/bucket/key) or virtual-hosted (bucket.ENDPOINT/key) "
             "requests; auto: path-style with --s3-endpoint, else virtual-hosted",
     .deflt = "auto"},

    /* Run */
    {.name = "dry-run",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_FLAG,
     S(dry_run),
     .section = RUN,
     .help = "read, validate and batch; send nothing"},
    {.name = "threads",
     .env = "AMPLOAD_THREADS",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = AL_MAX_THREADS,
     S(pipe.threads),
     .section = RUN,
     .help = "parser threads",
     .deflt = "number of cores"},
    {.name = "state",
     .env = "AMPLOAD_STATE",
     .cmds = LOADS,
     .type = OPT_TEXT,
     .meta = "DIR",
     S(state_dir),
     .section = RUN,
     .help = "checkpoint, reject and failed files; one run at a time",
     .deflt = "./.ampload/<first input>-<hash of the inputs>",
     .more = "`identify-` before the name for identify, `-shard-I-of-N` after it with "
             "`--shard`. A run holds an exclusive lock on DIR/lock for its whole life; a second "
             "run on the same directory is refused at once (exit 2) with the holder's pid and "
             "host. Every file written there, and the `--report` and `--audit` files, is "
             "created 0600 and never through a symbolic link"},
    {.name = "resume",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_FLAG,
     .fn = set_resume,
     .section = RUN,
     .help = "continue from the checkpoint (the default when it matches)"},
    {.name = "restart",
     .cmds = LOADS,
     .type = OPT_FLAG,
     S(restart),
     .section = RUN,
     .help = "ignore the checkpoint and start over"},
    {.name = "report",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_TEXT,
     .meta = "FILE",
     S(report_path),
     .section = RUN,
     .help = "write the final JSON report to FILE",
     .deflt = "none",
     .more = "a path that cannot be written (a missing directory), or that is one of the run's "
             "own files (the `--api-key-file`, a state file, the `--audit` file), is refused "
             "before anything is sent"},
    {.name = "quiet",
     .short_name = 'q',
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_FLAG,
     .fn = set_quiet,
     .section = RUN,
     .help = "print nothing but errors"},
    {.name = "progress",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_FLAG,
     S(progress),
     .section = RUN,
     .help = "show the live progress line even when stderr is not a TTY",
     .deflt = "on a terminal"},
    {.name = "verbose",
     .short_name = 'v',
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_FLAG,
     S(verbose),
     .section = RUN,
     .help = "one line per request (or AMPLITUDE_DEBUG=1); the key is never shown",
     .more = "URL, batch, attempt, events, bytes, status (`HTTP 200`, or `no answer:` and the "
             "reason when the connection gave none), latency"},
    {.name = "audit",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_TEXT,
     .meta = "FILE",
     S(audit_path),
     .section = RUN,
     .help = "one JSON line per request: time, batch, events, bytes, status, latency, attempt, "
             "outcome",
     .deflt = "none",
     .more = "checked before anything is sent, like `--report`"},
    {.name = "metrics-port",
     .env = "AMPLOAD_METRICS_PORT",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "PORT",
     .lo = 0,
     .hi = 65535,
     S(metrics_port),
     .section = RUN,
     .help = "serve /metrics (Prometheus) and /status (JSON) on 127.0.0.1:PORT while the run "
             "lasts",
     .deflt = "off",
     .more = "0 picks a free port and prints it"},
    {.name = "shard",
     .env = "AMPLOAD_SHARD",
     .cmds = LOADS,
     .type = OPT_TEXT,
     .meta = "I/N|auto|auto/N",
     .fn = set_shard,
     .section = RUN,
     .help = "be copy I (0..N-1) of N: read only this copy's part of the inputs (by bytes); "
             "auto or auto/N: I (and N) from a Slurm array or a Kubernetes Indexed Job. {shard} "
             "in --state and --report becomes I-of-N",
     .deflt = "all",
     .more = "by input (the default) the inputs, sorted by name, are cut into N parts of nearly "
             "equal bytes (plain files by newline-aligned byte range, compressed files and zip "
             "members whole); reject records of a part that starts inside a file carry "
             "`\"line\": null` and the byte offset. By device, every copy reads all and sends "
             "the events whose device_id (else user_id) hashes to I. auto takes I from "
             "SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX and N from SLURM_ARRAY_TASK_COUNT or "
             "auto/N. Insert_ids do not depend on the split. A checkpoint is only resumed by the "
             "shard that wrote it"},
    {.name = "shard-by",
     .env = "AMPLOAD_SHARD_BY",
     .cmds = LOADS,
     .type = OPT_CHOICE,
     .meta = "input|device",
     S(shard_by_device),
     .section = RUN,
     .help = "split by bytes of the inputs, or every copy reads all and sends the events whose "
             "device_id (else user_id) hashes to I",
     .deflt = "input"},

    /* Events */
    {.name = "min-id-length",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = 1024,
     .fn = set_min_id,
     .section = EVENTS,
     .help = "shortest valid user_id/device_id, sent as options.min_id_length",
     .deflt = "5"},
    {.name = "max-event-bytes",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 64,
     .hi = AL_MAX_BATCH_BYTES,
     S(pipe.rules.max_event_bytes),
     .fn = set_max_event,
     .section = EVENTS,
     .help = "longest accepted event line, {range}",
     .deflt = "1048576",
     .more = "at most `--batch-bytes` less the request envelope"},
    {.name = "batch-events",
     .alias = "batch-size",
     .env = "AMPLOAD_BATCH_EVENTS",
     .cmds = LOAD,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = AL_MAX_BATCH_EVENTS,
     S(pipe.batch.max_events),
     .section = EVENTS,
     .help = "events per request, {range}",
     .deflt = "2000"},
    {.name = "batch-bytes",
     .cmds = LOAD,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1024,
     .hi = AL_MAX_BATCH_BYTES,
     S(pipe.batch.max_bytes),
     .section = EVENTS,
     .help = "bytes per request body, envelope included, {range}",
     .deflt = "19500000"},
    {.name = "chunk-bytes",
     .cmds = LOADS,
     .unlisted = CHECK,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 4096,
     .hi = 1 << 30,
     S(pipe.chunk_bytes),
     .section = EVENTS,
     .help = "read chunk size, {range}",
     .deflt = "8388608",
     .more = "raised to hold two maximal events"},

    /* Edits */
    {.name = "from",
     .cmds = LOAD,
     .type = OPT_WORD,
     .meta = "amplitude-export",
     .fn = set_from,
     .section = EDITS,
     .help = "the lines are Amplitude export rows: map them to /batch events ($insert_id, "
             "event_time as UTC, ...)",
     .more = "its zips are read as they are: `$insert_id` becomes `insert_id` (else `uuid`), "
             "`event_time` becomes `time` in ms read as UTC (else `client_event_time`, then "
             "`server_received_time`; a value that is not such a time rejects the line as "
             "`bad_event_time`), `ip_address`, `device_carrier` and `version_name` become `ip`, "
             "`carrier` and `app_version`; empty ids, nulls and the server-assigned fields are "
             "dropped"},
    {.name = "rename",
     .cmds = LOAD,
     .type = OPT_TEXT,
     .meta = "OLD=NEW",
     .fn = set_rename,
     .section = EDITS,
     .help = "rename a field",
     .more = "it replaces a field already named NEW",
     .refusal = "--rename, --drop, --set and --skip-user-properties-sync edit events"},
    {.name = "drop",
     .cmds = LOAD,
     .type = OPT_TEXT,
     .meta = "FIELD",
     .fn = set_drop,
     .section = EDITS,
     .help = "remove a field",
     .refusal = "--rename, --drop, --set and --skip-user-properties-sync edit events"},
    {.name = "set",
     .cmds = LOAD,
     .type = OPT_TEXT,
     .meta = "FIELD=JSON",
     .fn = set_field,
     .section = EDITS,
     .help = "set a field to a JSON value (--set 'job=\"x\"')",
     .more = "it replaces one the event has; a string needs its quotes",
     .refusal = "--rename, --drop, --set and --skip-user-properties-sync edit events"},
    {.name = "skip-user-properties-sync",
     .cmds = LOAD,
     .type = OPT_FLAG,
     S(edits.skip_ups),
     .section = EDITS,
     .help = "add \"$skip_user_properties_sync\":true",
     .more = "so historical `user_properties` do not overwrite current ones (Amplitude's advice "
             "for backfills)",
     .refusal = "--rename, --drop, --set and --skip-user-properties-sync edit events"},
    {.name = "allow-same-project",
     .cmds = LOAD,
     .type = OPT_FLAG,
     S(allow_same_project),
     .section = EDITS,
     .help = "load export files into the project they came from (refused otherwise, exit 3: "
             "their manifest.ndjson records this API key's project)",
     .more = "with `--from amplitude-export`, a load, a dry run (with a key) and `ampload "
             "check` refuse files whose export manifest (`manifest.ndjson` beside them, or a "
             "member of that base name in a zip archive of them) records the project of this "
             "API key: a migration takes the destination project's key. The export's own files "
             "are no rows: a `manifest.ndjson`, or the lock file beside one, given as an input "
             "is refused before anything is sent (exit 2: give DIR/*.ndjson.zst), and a zip "
             "member named `manifest.ndjson` is skipped like a directory entry"},

    /* Identify: what it takes differently from the load */
    {.name = "endpoint",
     .cmds = IDENT,
     .type = OPT_TEXT,
     .meta = "URL",
     S(endpoint_arg),
     .fn = check_endpoint,
     .section = IDENTIFY,
     .help = "the Identify URL, by the rule of every command (see the load's --endpoint)",
     .deflt = AL_DEFAULT_IDENTIFY_ENDPOINT},
    {.name = "batch-size",
     .alias = "batch-events",
     .env = "AMPLOAD_BATCH_EVENTS",
     .cmds = IDENT,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = AL_MAX_BATCH_EVENTS,
     S(pipe.batch.max_events),
     .section = IDENTIFY,
     .help = "identifications per request, {range}",
     .deflt = "1000"},
    {.name = "batch-bytes",
     .cmds = IDENT,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1024,
     .hi = AL_MAX_BATCH_BYTES,
     S(pipe.batch.max_bytes),
     .section = IDENTIFY,
     .help = "JSON of identifications per request, {range}; the form is up to 3x that",
     .deflt = "6500000"},
    {.name = "throttle-wait",
     .cmds = IDENT,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 0,
     .hi = 3600,
     S(send.throttle_wait_ms),
     .scale = 1000,
     .section = IDENTIFY,
     .help = "pause for ids Amplitude throttled (429)",
     .deflt = "15"},
    {.name = "resend-non-idempotent",
     .cmds = IDENT,
     .type = OPT_FLAG,
     S(send.resend_non_idempotent),
     .section = IDENTIFY,
     .help = "resend identifications in doubt even when a second application would change data",
     .more = "without it they go to `non-idempotent.ndjson` in the state directory "
             "(`non_idempotent_held` in the report), for you to check"},
    {.name = "from",
     .cmds = IDENT,
     .type = OPT_WORD,
     .meta = "amplitude-export",
     .fn = set_users_from,
     .section = IDENTIFY,
     .help = "the inputs are export rows: send one $set identification per user, from the "
             "user's latest row"},

    /* export */
    {.name = "start",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "YYYYMMDDTHH",
     X(start),
     .section = EXPORTS,
     .help = "first hour (UTC)",
     .deflt = "required",
     .more = "the range is at most 365 days"},
    {.name = "end",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "YYYYMMDDTHH",
     X(end),
     .section = EXPORTS,
     .help = "last hour, included",
     .deflt = "required"},
    {.name = "output",
     .short_name = 'o',
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "DIR",
     X(out_dir),
     .section = EXPORTS,
     .help = "where the files and the manifest go (created)",
     .deflt = "required",
     .more = "one export per directory at a time (a lock)"},
    {.name = "window",
     .cmds = EXPORT,
     .type = OPT_UINT,
     .meta = "HOURS",
     .lo = 1,
     .hi = 8784,
     X(window_hours),
     .section = EXPORTS,
     .help = "hours per request, {range}; a window the API refuses as too large (400) or too "
             "slow (504) is halved down to one hour",
     .deflt = "24"},
    {.name = "region",
     .cmds = EXPORT,
     .type = OPT_WORD,
     .meta = "us|eu",
     X(region),
     .section = EXPORTS,
     .help = "the documented export host of each region",
     .deflt = "us",
     .more = "EU: `https://analytics.eu.amplitude.com/api/2/export`"},
    {.name = "endpoint",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "URL",
     X(endpoint),
     .fn = check_endpoint,
     .section = EXPORTS,
     .help = "the export URL; --endpoint wins, then --region, then AMPLITUDE_BASE_URL (a host: "
             "/api/2/export is added), then the default",
     .deflt = "https://amplitude.com/api/2/export"},
    {.name = "api-key-file",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "PATH",
     X(api_key_file),
     .section = EXPORTS,
     .help = "file holding the API key (or env AMPLITUDE_API_KEY)"},
    {.name = "secret-key-file",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "PATH",
     X(secret_key_file),
     .section = EXPORTS,
     .help = "file holding the secret key (or env AMPLITUDE_SECRET_KEY)",
     .more = "the secret key follows the API key's rules: never on the command line, never "
             "printed"},
    {.name = "retry-time",
     .cmds = EXPORT,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 0,
     .hi = 7 * 86400,
     X(retry_time),
     .section = EXPORTS,
     .help = "retry budget per window for 429, 5xx, broken transfers; an endpoint never reached "
             "since the start (DNS, refused, TLS) stops the export after the smaller of 30 s "
             "and this, exit 4",
     .deflt = "600"},
    {.name = "timeout",
     .cmds = EXPORT,
     .type = OPT_UINT,
     .meta = "SECONDS",
     .lo = 1,
     .hi = 3600,
     X(timeout),
     .section = EXPORTS,
     .help = "a transfer without a byte for this long is broken (a large export may take "
             "minutes to start)",
     .deflt = "900"},
    {.name = "ca-file",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "PATH",
     X(ca_file),
     .fn = check_readable,
     .section = EXPORTS,
     .help = "trust the CA certificates in PATH (PEM)",
     .deflt = "the system's"},
    {.name = "insecure",
     .cmds = EXPORT,
     .type = OPT_FLAG,
     X(insecure),
     .section = EXPORTS,
     .help = "do not verify TLS certificates (test servers only)"},
    {.name = "quiet",
     .short_name = 'q',
     .cmds = EXPORT,
     .type = OPT_FLAG,
     X(quiet),
     .section = EXPORTS,
     .help = "print nothing but errors"},
    {.name = "verbose",
     .short_name = 'v',
     .cmds = EXPORT,
     .type = OPT_FLAG,
     X(verbose),
     .section = EXPORTS,
     .help = "one line per request: HTTP status or no answer, bytes, time (never the keys)"},
    {.name = "audit",
     .cmds = EXPORT,
     .type = OPT_TEXT,
     .meta = "FILE",
     X(audit_path),
     .section = EXPORTS,
     .help = "one JSON line per request: time, window, attempt, status, bytes, ms",
     .deflt = "none"},

    /* report merge */
    {.name = "output",
     .short_name = 'o',
     .cmds = CLI_CMD_REPORT,
     .type = OPT_TEXT,
     .meta = "FILE",
     R(out),
     .section = REPORTS,
     .help = "write the merged report to FILE",
     .deflt = "standard output"},

    /* every command */
    {.name = "help",
     .short_name = 'h',
     .cmds = LOADS | EXPORT | CLI_CMD_REPORT,
     .type = OPT_FLAG,
     .fn = want_help,
     .section = GENERAL,
     .help = "this text (every command has its own)"},
    {.name = "version",
     .cmds = LOADS,
     .type = OPT_FLAG,
     .fn = want_version,
     .section = GENERAL,
     .help = "the versions of ampload, libcurl, zstd and jansson, and the JSON scanner"},
};

static const char *const cmd_names[] = {"load", "check", "identify", "export", "report merge"};

static const cli_optable_t the_table = {"ampload", rows, sizeof(rows) / sizeof(rows[0]), cmd_names,
                                        sizeof(cmd_names) / sizeof(cmd_names[0])};

static const cli_optable_t *table(void)
{
    return &the_table;
}

const cli_optable_t *cli_options(void)
{
    return table();
}
