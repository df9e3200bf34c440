/* main.c - the ampload command: argv and environment in, exit code out.
 *
 * This is the only place that reads argv or the environment, prints, or
 * decides an exit code. It turns the command line into an
 * al_pipeline_opts_t, runs the pipeline, and reports. Exit codes are mapped
 * in one function (exit_code_for) and documented in the README and --help.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../core/aimd.h"
#include "../core/batch.h"
#include "../core/json.h"
#include "../core/pipeline.h"
#include "../core/statedir.h"
#include "cli.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zstd.h>

#ifndef AMPLOAD_VERSION
#define AMPLOAD_VERSION "0.1.0"
#endif

#define EU_ENDPOINT "https://api.eu.amplitude.com/batch"

typedef struct {
    al_pipeline_opts_t pipe;
    al_send_opts_t send;
    al_live_t live;
    int dry_run;
    int quiet;
    int progress; /* -1 auto (a TTY), 0 off, 1 forced */
    const char *state_dir;
    const char *report_path;
    const char *api_key_file;
    char state_buf[PATH_MAX];
    char reject_buf[PATH_MAX + 32];
    char failed_buf[PATH_MAX + 32];
    char index_buf[PATH_MAX + 32];
    char checkpoint_buf[PATH_MAX + 32];
    int endpoint_set;
    int restart; /* --restart: ignore and replace the checkpoint */
    int resumed;
    al_mark_t *marks;
    atomic_int stop;
    al_state_lock_t *lock;  /* the state directory is ours while this is held */
    int from_stream;        /* an input is '-' or a pipe: nothing can be resumed */
    uint64_t failed_total;  /* events in the failed file after the run, any run's */
    int check;              /* `ampload check`: the preflight checklist */
    int metrics_port;       /* --metrics-port: -1 = off, 0 = any free port */
    char shard[32];         /* --shard as "I/N", or "" */
    int verbose;            /* -v or AMPLITUDE_DEBUG=1: one line per request */
    const char *audit_path; /* --audit FILE */
    FILE *audit;
    /* filled by on_request (sender thread), read after the run */
    uint32_t *latencies;
    size_t nlat, lat_cap;
    uint64_t status_counts[600];
    uint64_t *acked_per_s; /* events acknowledged in each second of the run */
    size_t nsec;
    double t0;
} cli_t;

static const char *resume_hint(const cli_t *c);

static const char usage_text[] =
    "Usage: ampload [options] FILE...\n"
    "       ampload check [options] [FILE...]\n"
    "Load NDJSON events (plain or zstd-compressed; '-' = stdin) into Amplitude's\n"
    "Batch Event Upload API. 'check' verifies endpoint, TLS, key, inputs and state\n"
    "directory without sending any event, and prints a checklist.\n"
    "\n"
    "Delivery:\n"
    "  --endpoint URL        default https://api2.amplitude.com/batch\n"
    "                        (env AMPLITUDE_BASE_URL gives the host)\n"
    "  --region us|eu        the documented host of each region\n"
    "  --api-key-file PATH   file holding the API key (or env AMPLITUDE_API_KEY)\n"
    "  --concurrency N       most requests in flight, 1..64 (default: adaptive up to 64)\n"
    "  --rate EPS            events/s ceiling (default: none)\n"
    "  --retry-time SECONDS  retry budget per batch before its events go to the\n"
    "                        failed file; throttled events count too (default 600)\n"
    "  --throttle-wait SECONDS  pause for ids Amplitude throttled (default 30)\n"
    "  --timeout SECONDS     per request (default 120)\n"
    "  --ca-file PATH        trust the CA certificates in PATH (PEM) for TLS\n"
    "  --insecure            do not verify TLS certificates (test servers only)\n"
    "  --gzip                gzip request bodies (Content-Encoding: gzip): about 6x\n"
    "                        less upload for some CPU; off by default\n"
    "  --insert-id auto|keep auto: give events without insert_id a deterministic one\n"
    "                        (from their bytes and line number; default); keep: never\n"
    "\n"
    "Run:\n"
    "  --dry-run             read, validate and batch; send nothing\n"
    "  --threads N           parser threads (default: number of cores)\n"
    "  --state DIR           checkpoint, reject and failed files; one run at a\n"
    "                        time (default ./.ampload/<run-name>)\n"
    "  --resume              continue from the checkpoint (the default when it matches)\n"
    "  --restart             ignore the checkpoint and start over\n"
    "  --report FILE         write the final JSON report to FILE\n"
    "  -q, --quiet           print nothing but errors\n"
    "  --progress            show the live progress line even when stderr is not a TTY\n"
    "  -v, --verbose         one line per request (or AMPLITUDE_DEBUG=1); the key is\n"
    "                        never shown\n"
    "  --audit FILE          one JSON line per request: time, batch, events, bytes,\n"
    "                        status, latency, attempt, outcome\n"
    "  --metrics-port PORT   serve /metrics (Prometheus) and /status (JSON) on\n"
    "                        127.0.0.1:PORT while the run lasts\n"
    "  --shard I/N           handle only shard I (0..N-1) of N: the events whose\n"
    "                        device_id (else user_id) hashes to I. Run N copies,\n"
    "                        one per shard, on one machine or many\n"
    "\n"
    "Events:\n"
    "  --min-id-length N     shortest valid user_id/device_id, sent as\n"
    "                        options.min_id_length (default 5)\n"
    "  --max-event-bytes N   longest accepted event line (default 1048576)\n"
    "  --batch-events N      events per request, 1..2000 (default 2000)\n"
    "  --batch-bytes N       bytes per request body, envelope included\n"
    "                        (default 19500000, at most 20000000)\n"
    "  --chunk-bytes N       read chunk size (default 8388608)\n"
    "\n"
    "  -h, --help            this text     --version   versions\n"
    "\n"
    "Environment: AMPLITUDE_API_KEY, AMPLITUDE_BASE_URL, AMPLITUDE_DEBUG, and\n"
    "AMPLOAD_THREADS, AMPLOAD_CONCURRENCY, AMPLOAD_RATE, AMPLOAD_RETRY_TIME,\n"
    "AMPLOAD_BATCH_EVENTS, AMPLOAD_STATE, AMPLOAD_METRICS_PORT, AMPLOAD_SHARD for\n"
    "the options of the same name. NO_COLOR turns off the colours of 'ampload check'.\n"
    "Options on the command line win over the environment.\n"
    "\n"
    "Exit codes: 0 success (rejected lines are in the reject file), 1 internal\n"
    "error, 2 usage error (also: an input given twice or that is an output, a\n"
    "state directory in use by another run), 3 input error (missing, unreadable,\n"
    "corrupt or changed while read), 4 configuration error (no API key; key,\n"
    "region or URL refused; a 2xx answer that is not Amplitude's), 5 events could\n"
    "not be delivered (the failed file of the state directory holds some, from\n"
    "this run or an earlier one), 6 interrupted (SIGINT/SIGTERM/SIGHUP; run the\n"
    "same command again to resume).\n"
    "'ampload check' exits 0 when every check passed, else with the code of the\n"
    "first failure (4 endpoint, TLS or key; 3 input; 2 checkpoint; 1 state dir).\n"
    "\n"
    "Examples:\n"
    "  AMPLITUDE_API_KEY=... ampload events.ndjson   load one file\n"
    "  ampload check --region eu events.ndjson        preflight before a backfill\n"
    "  ampload --dry-run day-*.zst                     validate, see what would be sent\n"
    "  zstdcat a.zst | ampload --region eu -           read standard input\n";

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ampload: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry 'ampload --help' for the options.\n");
    return EXIT_USAGE;
}

/* Parses a decimal integer in [lo, hi]. @return 0, or EXIT_USAGE after a message. */
static int parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    char range[64];

    errno = 0;
    snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
    if (s[0] < '0' || s[0] > '9')
        goto bad;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    if (v < lo || v > hi) {
        fprintf(stderr, "ampload: %s: %s is out of range (%s)\n", opt, s, range);
        fprintf(stderr, "Try 'ampload --help' for the options.\n");
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
bad:
    fprintf(stderr, "ampload: %s: '%s' is not a number in %s\n", opt, s, range);
    fprintf(stderr, "Try 'ampload --help' for the options.\n");
    return EXIT_USAGE;
}

/* Takes the key out of raw (n bytes, from a key file or the environment):
 * surrounding white space is trimmed; anything else that cannot be part of
 * a key is refused with a message naming where it came from.
 * @return 0 with key filled, or an exit code. */
static int take_key(const char *from, const char *raw, size_t n, char *key, size_t cap)
{
    size_t b = 0;
    while (b < n && isspace((unsigned char)raw[b]))
        b++;
    while (n > b && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n == b) {
        fprintf(stderr, "ampload: %s: the key is empty\n", from);
        return EXIT_CONFIG;
    }
    for (size_t i = b; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];
        if (ch <= ' ' || ch == 0x7f) {
            fprintf(stderr,
                    "ampload: %s: the key has %s inside it (at byte %zu); an API key is one "
                    "word\n  hint: keep only the key, on one line\n",
                    from,
                    ch == '\n' || ch == '\r'  ? "a line break"
                    : ch == ' ' || ch == '\t' ? "white space"
                                              : "a control character",
                    i + 1);
            return EXIT_CONFIG;
        }
    }
    if (n - b > AL_MAX_API_KEY_BYTES || n - b >= cap) {
        fprintf(stderr, "ampload: %s: the key is longer than %d bytes; is it the right file?\n",
                from, AL_MAX_API_KEY_BYTES);
        return EXIT_CONFIG;
    }
    memcpy(key, raw + b, n - b);
    key[n - b] = '\0';
    return 0;
}

/* Reads the API key from path (see take_key). @return 0 or an exit code. */
static int read_key_file(const char *path, char *key, size_t cap)
{
    char raw[AL_MAX_API_KEY_BYTES * 4 + 2], from[PATH_MAX + 32];
    struct stat st;
    FILE *fp;
    size_t n;
    int rc;

    snprintf(from, sizeof(from), "--api-key-file %s", path);
    fp = fopen(path, "r");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        fprintf(stderr, "ampload: %s: %s\n", from, strerror(errno));
        if (fp != NULL)
            fclose(fp);
        return EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ampload: %s: is a directory\n  hint: name the file that holds the key\n",
                from);
        fclose(fp);
        return EXIT_USAGE;
    }
    n = fread(raw, 1, sizeof(raw), fp);
    rc = ferror(fp);
    fclose(fp);
    if (rc) {
        fprintf(stderr, "ampload: %s: read error\n", from);
        return EXIT_USAGE;
    }
    rc = take_key(from, raw, n, key, cap);
    explicit_bzero(raw, sizeof(raw));
    return rc;
}

/* Default state directory: ./.ampload/<first input's name>-<hash of all inputs>,
 * so the same command finds the same state again; each shard has its own
 * (-shard-I-of-N), so shards can run side by side in one directory. */
static void default_state_dir(cli_t *c, int argc, char **argv)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the absolute input paths */
    const char *first = argv[0];
    const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
    char name[64];
    size_t n = 0;

    for (int i = 0; i < argc; i++) {
        char abs[PATH_MAX];
        const char *p = argv[i];
        if (strcmp(p, "-") != 0 && realpath(p, abs) != NULL)
            p = abs;
        for (; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xFF) * 1099511628211ULL;
    }
    if (strcmp(first, "-") == 0)
        base = "stdin";
    for (; *base && n < 40; base++)
        name[n++] = (isalnum((unsigned char)*base) || *base == '.' || *base == '_' || *base == '-')
                        ? *base
                        : '_';
    name[n] = '\0';
    snprintf(c->state_buf, sizeof(c->state_buf), ".ampload/%s-%08" PRIx32, name,
             (uint32_t)(h ^ (h >> 32)));
    if (c->pipe.shard_count > 1)
        snprintf(c->state_buf + strlen(c->state_buf), sizeof(c->state_buf) - strlen(c->state_buf),
                 "-shard-%" PRIu32 "-of-%" PRIu32, c->pipe.shard_index, c->pipe.shard_count);
    c->state_dir = c->state_buf;
}

/* Parses --shard I/N (0 <= I < N <= AL_MAX_SHARDS) into p.
 * @return 0, or EXIT_USAGE after a message. */
static int parse_shard(const char *s, al_pipeline_opts_t *p)
{
    const char *slash = strchr(s, '/');
    char idx[24];
    uint64_t i, n;

    if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(idx)) {
        usage_error("--shard '%s': use I/N, e.g. 0/4 for the first of four shards%s", s, "");
        return EXIT_USAGE;
    }
    memcpy(idx, s, (size_t)(slash - s));
    idx[slash - s] = '\0';
    if (parse_num("--shard (count N)", slash + 1, 1, AL_MAX_SHARDS, &n) != 0 ||
        parse_num("--shard (index I)", idx, 0, n - 1, &i) != 0)
        return EXIT_USAGE;
    p->shard_index = (uint32_t)i;
    p->shard_count = (uint32_t)n;
    return 0;
}

static int parse_args(cli_t *c, int argc, char **argv)
{
    enum {
        OPT_DRY_RUN = 256,
        OPT_THREADS,
        OPT_STATE,
        OPT_REPORT,
        OPT_MIN_ID,
        OPT_MAX_EVENT,
        OPT_BATCH_EVENTS,
        OPT_BATCH_BYTES,
        OPT_CHUNK_BYTES,
        OPT_API_KEY_FILE,
        OPT_API_KEY,
        OPT_VERSION,
        OPT_ENDPOINT,
        OPT_REGION,
        OPT_CONCURRENCY,
        OPT_RATE,
        OPT_RETRY_TIME,
        OPT_THROTTLE_WAIT,
        OPT_TIMEOUT,
        OPT_INSECURE,
        OPT_PROGRESS,
        OPT_RESUME,
        OPT_RESTART,
        OPT_INSERT_ID,
        OPT_AUDIT,
        OPT_CA_FILE,
        OPT_METRICS_PORT,
        OPT_SHARD,
        OPT_GZIP,
    };
    static const struct option longopts[] = {
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"state", required_argument, NULL, OPT_STATE},
        {"report", required_argument, NULL, OPT_REPORT},
        {"quiet", no_argument, NULL, 'q'},
        {"min-id-length", required_argument, NULL, OPT_MIN_ID},
        {"max-event-bytes", required_argument, NULL, OPT_MAX_EVENT},
        {"batch-events", required_argument, NULL, OPT_BATCH_EVENTS},
        {"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
        {"chunk-bytes", required_argument, NULL, OPT_CHUNK_BYTES},
        {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"endpoint", required_argument, NULL, OPT_ENDPOINT},
        {"region", required_argument, NULL, OPT_REGION},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"rate", required_argument, NULL, OPT_RATE},
        {"retry-time", required_argument, NULL, OPT_RETRY_TIME},
        {"throttle-wait", required_argument, NULL, OPT_THROTTLE_WAIT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"restart", no_argument, NULL, OPT_RESTART},
        {"insert-id", required_argument, NULL, OPT_INSERT_ID},
        {"audit", required_argument, NULL, OPT_AUDIT},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"metrics-port", required_argument, NULL, OPT_METRICS_PORT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"gzip", no_argument, NULL, OPT_GZIP},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    al_pipeline_opts_t *p = &c->pipe;
    uint64_t v;
    int opt, rc;
    int max_event_set = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    al_pipeline_opts_init(p);
    al_send_opts_init(&c->send);
    p->insert_ids = 1;
    c->progress = -1;
    c->metrics_port = -1;
    {
        /* AMPLITUDE_BASE_URL gives the host; --endpoint and --region win */
        const char *base = getenv("AMPLITUDE_BASE_URL");
        if (base != NULL && base[0] != '\0') {
            size_t bl = strlen(base);
            if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
                fprintf(stderr, "ampload: AMPLITUDE_BASE_URL '%s' is not an http(s) URL\n", base);
                return EXIT_USAGE;
            }
            snprintf(c->send.url, sizeof(c->send.url), "%.*s%s", (int)bl, base,
                     (bl >= 6 && strcmp(base + bl - 6, "/batch") == 0) ? ""
                     : base[bl - 1] == '/'                             ? "batch"
                                                                       : "/batch");
        }
    }
    p->threads = (uint32_t)(cores < 1 ? 1 : cores > AL_MAX_THREADS ? AL_MAX_THREADS : cores);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":qhv", longopts, NULL)) != -1) {
        rc = 0;
        switch (opt) {
        case OPT_DRY_RUN:
            c->dry_run = 1;
            break;
        case OPT_THREADS:
            rc = parse_num("--threads", optarg, 1, AL_MAX_THREADS, &v);
            p->threads = (uint32_t)v;
            break;
        case OPT_STATE:
            c->state_dir = optarg;
            break;
        case OPT_REPORT:
            c->report_path = optarg;
            break;
        case 'q':
            c->quiet = 1;
            c->progress = 0;
            break;
        case OPT_MIN_ID:
            rc = parse_num("--min-id-length", optarg, 1, 1024, &v);
            p->rules.min_id_length = (uint32_t)v;
            p->batch.min_id_length = (uint32_t)v;
            break;
        case OPT_MAX_EVENT:
            rc = parse_num("--max-event-bytes", optarg, 64, AL_MAX_BATCH_BYTES, &v);
            p->rules.max_event_bytes = (uint32_t)v;
            max_event_set = 1;
            break;
        case OPT_BATCH_EVENTS:
            rc = parse_num("--batch-events", optarg, 1, AL_MAX_BATCH_EVENTS, &v);
            p->batch.max_events = (uint32_t)v;
            break;
        case OPT_BATCH_BYTES:
            rc = parse_num("--batch-bytes", optarg, 1024, AL_MAX_BATCH_BYTES, &v);
            p->batch.max_bytes = (size_t)v;
            break;
        case OPT_CHUNK_BYTES:
            rc = parse_num("--chunk-bytes", optarg, 4096, (uint64_t)1 << 30, &v);
            p->chunk_bytes = (size_t)v;
            break;
        case OPT_API_KEY_FILE:
            c->api_key_file = optarg;
            break;
        case OPT_ENDPOINT:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
                return usage_error("--endpoint '%s' is not an http(s) URL%s", optarg, "");
            if (strlen(optarg) >= sizeof(c->send.url))
                return usage_error("--endpoint is too long%s%s", "", "");
            snprintf(c->send.url, sizeof(c->send.url), "%s", optarg);
            c->endpoint_set = 1;
            break;
        case OPT_REGION:
            if (strcmp(optarg, "us") == 0)
                snprintf(c->send.url, sizeof(c->send.url), "%s", AL_DEFAULT_ENDPOINT);
            else if (strcmp(optarg, "eu") == 0)
                snprintf(c->send.url, sizeof(c->send.url), "%s", EU_ENDPOINT);
            else
                return usage_error("--region '%s': use us or eu%s", optarg, "");
            break;
        case OPT_CONCURRENCY:
            rc = parse_num("--concurrency", optarg, 1, AL_MAX_CONCURRENCY, &v);
            c->send.concurrency = (uint32_t)v;
            break;
        case OPT_RATE:
            rc = parse_num("--rate", optarg, 1, 1000000000, &v);
            c->send.rate_eps = (double)v;
            break;
        case OPT_RETRY_TIME:
            rc = parse_num("--retry-time", optarg, 0, 7 * 86400, &v);
            c->send.retry_time_ms = v * 1000;
            break;
        case OPT_THROTTLE_WAIT:
            rc = parse_num("--throttle-wait", optarg, 0, 3600, &v);
            c->send.throttle_wait_ms = v * 1000;
            break;
        case OPT_TIMEOUT:
            rc = parse_num("--timeout", optarg, 1, 3600, &v);
            c->send.request_timeout_ms = (long)v * 1000;
            break;
        case OPT_INSECURE:
            c->send.insecure = 1;
            break;
        case OPT_PROGRESS:
            c->progress = 1;
            break;
        case OPT_RESUME:
            c->restart = 0;
            break;
        case OPT_RESTART:
            c->restart = 1;
            break;
        case OPT_AUDIT:
            c->audit_path = optarg;
            break;
        case OPT_CA_FILE:
            if (access(optarg, R_OK) != 0)
                return usage_error("--ca-file %s: %s", optarg, strerror(errno));
            c->send.ca_file = optarg;
            break;
        case OPT_METRICS_PORT:
            rc = parse_num("--metrics-port", optarg, 0, 65535, &v);
            c->metrics_port = (int)v;
            break;
        case OPT_SHARD:
            rc = parse_shard(optarg, p);
            break;
        case OPT_GZIP:
            /* level 1: on event JSON about 6x smaller at ~270 MB/s per core;
             * level 6 gains a fifth more for half the speed */
            p->batch.gzip_level = 1;
            break;
        case 'v':
            c->verbose = 1;
            break;
        case OPT_INSERT_ID:
            if (strcmp(optarg, "auto") == 0)
                p->insert_ids = 1;
            else if (strcmp(optarg, "keep") == 0)
                p->insert_ids = 0;
            else
                return usage_error("--insert-id '%s': use auto or keep%s", optarg, "");
            break;
        case OPT_API_KEY:
            return usage_error("--api-key would show the key in 'ps' and shell history%s%s",
                               "; put it in AMPLITUDE_API_KEY or a file for --api-key-file", "");
        case 'h':
            fputs(usage_text, stdout);
            exit(EXIT_OK);
        case OPT_VERSION:
            printf("ampload %s (libcurl %s, zstd %s, jansson %s; JSON scanner: %s)\n",
                   AMPLOAD_VERSION, curl_version_info(CURLVERSION_NOW)->version,
                   ZSTD_versionString(), JANSSON_VERSION, al_json_simd());
            exit(EXIT_OK);
        case ':':
            return usage_error("option %s needs a value%s", argv[optind - 1], "");
        default:
            return usage_error("unknown option '%s'%s", argv[optind - 1], "");
        }
        if (rc != 0)
            return rc;
    }
    if (optind >= argc && c->check)
        return 0; /* check: inputs are optional */
    if (optind >= argc)
        return usage_error("no input files%s%s", " (give FILE... or '-' for standard input)", "");
    {
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
    }
    p->paths = (const char *const *)(argv + optind);
    p->npaths = (uint32_t)(argc - optind);
    if (p->shard_count > 1)
        snprintf(c->shard, sizeof(c->shard), "%" PRIu32 "/%" PRIu32, p->shard_index,
                 p->shard_count);
    if (c->state_dir == NULL)
        default_state_dir(c, argc - optind, argv + optind);
    return 0;
}

static int exit_code_for(al_err_t err)
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
        return EXIT_INPUT;
    case AL_ERR_CONFIG:
        return EXIT_CONFIG;
    default:
        return EXIT_INTERNAL;
    }
}

static uint32_t percentile(const cli_t *c, double p);
static const char *secret_key = ""; /* redacted from every message */

static void print_error(al_err_t err, const al_diag_t *d)
{
    char msg[1024];
    const char *hint = al_errhint(err);
    al_diag_format(err, d, msg, sizeof(msg));
    al_redact(msg, sizeof(msg), secret_key);
    fprintf(stderr, "ampload: %s\n", msg);
    if (hint[0] != '\0')
        fprintf(stderr, "  hint: %s\n", hint);
}

static int write_report(const cli_t *c, const al_stats_t *s, const al_input_t *inputs,
                        double elapsed)
{
    al_report_info_t info = {.elapsed_s = elapsed, .dry_run = c->dry_run};
    FILE *fp = al_fopen_private(c->report_path, 0);
    char esc[AL_JSON_ESCAPED_MAX(PATH_MAX + 32) + 1];
    int rc;

    if (fp == NULL) {
        fprintf(stderr, "ampload: --report %s: %s\n", c->report_path, strerror(errno));
        return -1;
    }
    al_stats_write_json(fp, s, &info, 1);
    esc[al_json_escape(esc, c->state_dir, strlen(c->state_dir))] = '\0';
    fprintf(fp, ",\n  \"state_dir\": \"%s\"", esc);
    esc[al_json_escape(esc, c->reject_buf, strlen(c->reject_buf))] = '\0';
    fprintf(fp, ",\n  \"reject_file\": %s%s%s", s->rejected_local + s->rejected_server ? "\"" : "",
            s->rejected_local + s->rejected_server ? esc : "null",
            s->rejected_local + s->rejected_server ? "\"" : "");
    esc[al_json_escape(esc, c->failed_buf, strlen(c->failed_buf))] = '\0';
    fprintf(fp, ",\n  \"failed_total\": %" PRIu64, c->failed_total);
    fprintf(fp, ",\n  \"failed_file\": %s%s%s", c->failed_total ? "\"" : "",
            c->failed_total ? esc : "null", c->failed_total ? "\"" : "");
    fprintf(fp,
            ",\n  \"latency_ms\": {\"p50\": %u, \"p95\": %u, \"p99\": %u, \"max\": %u, "
            "\"requests\": %zu}",
            percentile(c, 0.50), percentile(c, 0.95), percentile(c, 0.99), percentile(c, 1.0),
            c->nlat);
    fprintf(fp, ",\n  \"status_counts\": {");
    for (int st = 0, first = 1; st < 600; st++) {
        if (c->status_counts[st] == 0)
            continue;
        fprintf(fp, "%s\"%d\": %" PRIu64, first ? "" : ", ", st, c->status_counts[st]);
        first = 0;
    }
    fprintf(fp, "},\n  \"events_acked_per_second\": [");
    {
        size_t last = c->nsec;
        while (last > 0 && c->acked_per_s[last - 1] == 0)
            last--;
        for (size_t i = 0; i < last; i++)
            fprintf(fp, "%s%" PRIu64, i ? ", " : "", c->acked_per_s[i]);
    }
    fprintf(fp, "]");
    if (c->shard[0] != '\0')
        fprintf(fp, ",\n  \"shard\": \"%s\"", c->shard);
    else
        fprintf(fp, ",\n  \"shard\": null");
    fprintf(fp, ",\n  \"resumed\": %s,\n  \"interrupted\": %s", c->resumed ? "true" : "false",
            atomic_load(&((cli_t *)c)->stop) ? "true" : "false");
    if (!c->dry_run) {
        char uesc[AL_JSON_ESCAPED_MAX(sizeof(c->send.url)) + 1];
        uesc[al_json_escape(uesc, c->send.url, strlen(c->send.url))] = '\0';
        fprintf(fp, ",\n  \"endpoint\": \"%s\"", uesc);
    }
    fprintf(fp, ",\n  \"inputs\": [");
    for (uint32_t i = 0; i < c->pipe.npaths; i++) {
        const char *path = c->pipe.paths[i];
        char pesc[AL_JSON_NAME_MAX(PATH_MAX) + 1];
        size_t plen = strlen(path) < PATH_MAX ? strlen(path) : PATH_MAX;
        pesc[al_json_name(pesc, "file", path, plen)] = '\0';
        fprintf(fp,
                "%s\n    {%s, \"format\": \"%s\", \"bytes_read\": %" PRIu64 ", \"lines\": %" PRIu64
                ", \"error\": ",
                i ? "," : "", pesc, inputs[i].format == AL_FORMAT_ZSTD ? "zstd" : "plain",
                inputs[i].bytes_read, inputs[i].lines);
        if (inputs[i].err == AL_ERR_OK) {
            fprintf(fp, "null}");
        } else {
            char msg[1024];
            char mesc[AL_JSON_ESCAPED_MAX(sizeof(msg)) + 1];
            al_diag_format(inputs[i].err, &inputs[i].diag, msg, sizeof(msg));
            mesc[al_json_escape(mesc, msg, strlen(msg))] = '\0';
            fprintf(fp, "\"%s\"}", mesc);
        }
    }
    fprintf(fp, "\n  ]\n}\n");
    /* durable like the state files: a report read after a crash of the
     * machine is whole or absent */
    rc = ferror(fp) || fflush(fp) != 0 || fsync(fileno(fp)) != 0 ? -1 : 0;
    if (fclose(fp) != 0 || rc != 0) {
        fprintf(stderr, "ampload: --report %s: write error\n", c->report_path);
        return -1;
    }
    return 0;
}

/* Undelivered events are an error: reported even with -q, whichever run of
 * this state directory put them in the failed file. */
static void print_failed(const cli_t *c, const al_stats_t *s)
{
    if (c->failed_total == 0)
        return;
    if (s->failed == c->failed_total)
        fprintf(stderr, "ampload: %" PRIu64 " events could not be delivered; they are in %s\n",
                s->failed, c->failed_buf);
    else
        fprintf(stderr,
                "ampload: %" PRIu64 " events could not be delivered (%" PRIu64
                " in this run, the others in earlier runs of this state directory); they "
                "are in %s\n",
                c->failed_total, s->failed, c->failed_buf);
    fprintf(stderr,
            "  hint: send them again with: ampload %s (then remove the file, or this "
            "command keeps exiting 5)\n",
            c->failed_buf);
}

/* @return the number of complete lines in path (0 when it does not exist). */
static uint64_t count_lines(const char *path)
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

static void print_summary(const cli_t *c, const al_stats_t *s, double elapsed)
{
    if (c->dry_run) {
        fprintf(stderr,
                "ampload: dry run: %" PRIu64 " lines read: %" PRIu64 " valid events in %" PRIu64
                " batches, %" PRIu64 " rejected, %" PRIu64 " blank (%.2f s, %.0f lines/s)\n",
                s->lines_read, s->events_valid, s->batches_built, s->rejected_local,
                s->skipped - s->skipped_shard, elapsed,
                elapsed > 0 ? (double)s->lines_read / elapsed : 0.0);
    } else {
        double eps = elapsed > 0 ? (double)s->events_sent / elapsed : 0.0;
        fprintf(stderr, "ampload: done in %.2f s\n", elapsed);
        fprintf(stderr, "  %-22s %12" PRIu64 "\n", "lines read", s->lines_read);
        fprintf(stderr, "  %-22s %12" PRIu64 "   %.0f events/s, %.1f MB/s\n", "events sent",
                s->events_sent, eps, elapsed > 0 ? (double)s->bytes_sent / elapsed / 1e6 : 0.0);
        fprintf(stderr, "  %-22s %12" PRIu64 "\n", "rejected here", s->rejected_local);
        fprintf(stderr, "  %-22s %12" PRIu64 "\n", "rejected by the server", s->rejected_server);
        if (c->failed_total != s->failed)
            fprintf(stderr, "  %-22s %12" PRIu64 "   %" PRIu64 " in the failed file in all\n",
                    "failed", s->failed, c->failed_total);
        else
            fprintf(stderr, "  %-22s %12" PRIu64 "\n", "failed", s->failed);
        fprintf(stderr, "  %-22s %12" PRIu64 "   blank lines and lines done before a resume%s\n",
                "skipped", s->skipped, c->shard[0] ? ", or of other shards" : "");
        fprintf(stderr,
                "  %-22s %12" PRIu64 "   retries %" PRIu64 ", HTTP 429 %" PRIu64
                ", HTTP 5xx %" PRIu64 "\n",
                "requests", s->requests, s->retries, s->http_429, s->http_5xx);
        if (c->nlat > 0)
            fprintf(stderr, "  %-22s %12s   p50 %u ms, p95 %u ms, p99 %u ms\n", "latency", "",
                    percentile(c, 0.5), percentile(c, 0.95), percentile(c, 0.99));
    }
    if (c->shard[0] != '\0')
        fprintf(stderr, "  shard %s: %" PRIu64 " lines belong to other shards\n", c->shard,
                s->skipped_shard);
    if (s->rejected_local + s->rejected_server > 0) {
        fprintf(stderr, "  rejected lines are in %s:", c->reject_buf);
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
    if (!c->dry_run) {
        uint64_t resolved =
            s->events_sent + s->rejected_local + s->rejected_server + s->failed + s->skipped;
        if (s->lines_read > resolved)
            fprintf(stderr, "  %" PRIu64 " lines not resolved yet: %s\n", s->lines_read - resolved,
                    resume_hint(c));
    }
    print_failed(c, s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the live progress line --------------------------------------------- */

typedef struct {
    cli_t *c;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int plain; /* stderr is not a terminal: a plain line every 10 s, no control codes */
    double t0;
} progress_t;

static void human_duration(double secs, char *buf, size_t cap)
{
    unsigned long t = secs < 0 ? 0 : (unsigned long)secs;
    if (t >= 3600)
        snprintf(buf, cap, "%luh%02lum", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lus", t);
}

static void draw_progress(progress_t *p)
{
    al_live_t *l = &p->c->live;
    double el = now_s() - p->t0;
    uint64_t sent = atomic_load_explicit(&l->events_sent, memory_order_relaxed);
    uint64_t bytes = atomic_load_explicit(&l->bytes_sent, memory_order_relaxed);
    uint64_t done = al_live_done_bytes(l, 1);
    uint64_t total = atomic_load_explicit(&l->total_bytes, memory_order_relaxed);
    char eta[32] = "?";

    if (total > 0 && done > 0 && el > 0.5)
        human_duration((double)(total > done ? total - done : 0) / ((double)done / el), eta,
                       sizeof(eta));
    fprintf(stderr,
            "%ssent %" PRIu64 " events (%.0f ev/s, %.1f MB/s) | in flight %u/%u | "
            "retries %" PRIu64 " | 429s %" PRIu64 " | failed %" PRIu64 " | ETA %s%s",
            p->plain ? "ampload: " : "\r\033[K", sent, el > 0 ? (double)sent / el : 0.0,
            el > 0 ? (double)bytes / el / 1e6 : 0.0,
            (unsigned)atomic_load_explicit(&l->in_flight, memory_order_relaxed),
            (unsigned)atomic_load_explicit(&l->window, memory_order_relaxed),
            (uint64_t)atomic_load_explicit(&l->retries, memory_order_relaxed),
            (uint64_t)atomic_load_explicit(&l->http_429, memory_order_relaxed),
            (uint64_t)atomic_load_explicit(&l->failed, memory_order_relaxed), eta,
            p->plain ? "\n" : "");
    fflush(stderr);
}

static void *progress_main(void *arg)
{
    progress_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (p->plain) {
            ts.tv_sec += 10;
        } else {
            ts.tv_nsec += 250 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (!p->stop)
            draw_progress(p);
    }
    pthread_mutex_unlock(&p->lock);
    if (!p->plain) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    return NULL;
}

static int progress_start(progress_t *p, cli_t *c, int plain)
{
    memset(p, 0, sizeof(*p));
    p->c = c;
    p->plain = plain;
    p->t0 = now_s();
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->tid, NULL, progress_main, p) != 0)
        return -1;
    return 0;
}

static void progress_stop(progress_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->tid, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}

static double now_s(void);

/* ---- environment --------------------------------------------------------- */

/* AMPLOAD_* variables stand for options. They are checked like the options
 * (a bad value is an error, never silently ignored) and placed before the
 * command line's own arguments, so the command line wins. */
static const struct {
    const char *env, *flag;
    uint64_t lo, hi; /* hi == 0: a string */
} env_opts[] = {
    {"AMPLOAD_THREADS", "--threads", 1, AL_MAX_THREADS},
    {"AMPLOAD_CONCURRENCY", "--concurrency", 1, AL_MAX_CONCURRENCY},
    {"AMPLOAD_RATE", "--rate", 1, 1000000000},
    {"AMPLOAD_RETRY_TIME", "--retry-time", 0, 7 * 86400},
    {"AMPLOAD_BATCH_EVENTS", "--batch-events", 1, AL_MAX_BATCH_EVENTS},
    {"AMPLOAD_STATE", "--state", 0, 0},
    {"AMPLOAD_METRICS_PORT", "--metrics-port", 0, 65535},
    {"AMPLOAD_SHARD", "--shard", 0, 0},
};

static char **env_argv; /* lives as long as the process: paths point into it */

static void free_env_argv(void)
{
    free(env_argv);
}

/* @return 0 with *out_argv a new argument list, or an exit code. */
static int args_with_env(int argc, char **argv, int *out_argc, char ***out_argv)
{
    size_t n = sizeof(env_opts) / sizeof(env_opts[0]);
    char **v = calloc((size_t)argc + 2 * n + 1, sizeof(char *));
    int k = 0;
    if (v == NULL)
        return EXIT_INTERNAL;
    v[k++] = argv[0];
    for (size_t i = 0; i < n; i++) {
        const char *val = getenv(env_opts[i].env);
        uint64_t num;
        if (val == NULL || val[0] == '\0')
            continue;
        if (env_opts[i].hi != 0 &&
            parse_num(env_opts[i].env, val, env_opts[i].lo, env_opts[i].hi, &num) != 0) {
            free(v);
            return EXIT_USAGE;
        }
        v[k++] = (char *)env_opts[i].flag;
        v[k++] = (char *)val;
    }
    for (int i = 1; i < argc; i++)
        v[k++] = argv[i];
    env_argv = v;
    atexit(free_env_argv);
    *out_argc = k;
    *out_argv = v;
    return 0;
}

/* ---- per request: debug line, audit line, report figures ----------------- */

static void on_request(void *ctx, const al_request_info_t *in)
{
    cli_t *c = ctx;
    double now = now_s();
    if (c->verbose)
        fprintf(stderr,
                "ampload: POST %s batch %" PRIu64 " attempt %u: %u events, %" PRIu64
                " bytes -> %s%ld%s%s in %" PRIu64 " ms (%s)\n",
                c->send.url, in->batch_id, in->attempt, in->events, in->bytes,
                in->status ? "HTTP " : "", in->status, in->error ? " " : "",
                in->error ? in->error : "", in->latency_ms, in->outcome);
    if (c->audit != NULL)
        fprintf(c->audit,
                "{\"time_ms\":%" PRIu64 ",\"batch\":%" PRIu64 ",\"events\":%u,\"bytes\":%" PRIu64
                ",\"status\":%ld,\"latency_ms\":%" PRIu64
                ",\"attempt\":%u,\"outcome\":\"%s\"%s%s%s}\n",
                in->unix_ms, in->batch_id, in->events, in->bytes, in->status, in->latency_ms,
                in->attempt, in->outcome, in->error ? ",\"error\":\"" : "",
                in->error ? in->error : "", in->error ? "\"" : "");
    if (c->nlat == c->lat_cap) {
        size_t cap = c->lat_cap ? c->lat_cap * 2 : 4096;
        uint32_t *nl = realloc(c->latencies, cap * sizeof(*nl));
        if (nl != NULL) {
            c->latencies = nl;
            c->lat_cap = cap;
        }
    }
    if (c->nlat < c->lat_cap)
        c->latencies[c->nlat++] =
            (uint32_t)(in->latency_ms > UINT32_MAX ? UINT32_MAX : in->latency_ms);
    c->status_counts[in->status >= 0 && in->status < 600 ? in->status : 0]++;
    if (in->status >= 200 && in->status < 300) {
        size_t sec = (size_t)(now - c->t0);
        if (sec >= c->nsec) {
            size_t n = sec + 64;
            uint64_t *ns = realloc(c->acked_per_s, n * sizeof(*ns));
            if (ns != NULL) {
                memset(ns + c->nsec, 0, (n - c->nsec) * sizeof(*ns));
                c->acked_per_s = ns;
                c->nsec = n;
            }
        }
        if (sec < c->nsec)
            c->acked_per_s[sec] += in->events;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t percentile(const cli_t *c, double p)
{
    size_t i;
    if (c->nlat == 0)
        return 0;
    i = (size_t)(p * (double)(c->nlat - 1) + 0.5);
    return c->latencies[i];
}

/* ---- signals ------------------------------------------------------------ */

/* What to tell a user whose run stopped before the end. */
static const char *resume_hint(const cli_t *c)
{
    return c->from_stream ? "standard input or a pipe cannot be resumed: the lines not resolved "
                            "were read but not delivered; load what is left again, or load "
                            "from a file to be able to resume"
                          : "run the same command again to resume";
}

/* The first SIGINT/SIGTERM/SIGHUP asks the run to stop cleanly (drain, checkpoint);
 * a second one ends the process at once - the checkpoint on disk is still
 * valid, because it is only ever replaced atomically. */
static void *signal_main(void *arg)
{
    cli_t *c = arg;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigwait(&set, &sig);
    atomic_store(&c->stop, 1);
    fprintf(stderr,
            "\nampload: %s: finishing the requests in flight and saving the checkpoint "
            "(again to quit at once)\n",
            sig == SIGINT   ? "interrupted"
            : sig == SIGHUP ? "hung up"
                            : "terminated");
    sigwait(&set, &sig);
    fprintf(stderr, "ampload: stopped at once; %s\n", resume_hint(c));
    _exit(EXIT_INTERRUPTED);
    return NULL;
}

/* Before anything in the state directory is touched: refuses inputs given
 * twice or that the run would overwrite, creates the directory, takes its
 * lock (held until the process ends) and finishes or discards a rollback a
 * crash interrupted. @return 0 or an exit code. */
static int take_state_dir(cli_t *c)
{
    char lock_path[PATH_MAX + 32];
    const char *outputs[7];
    al_diag_t d;
    al_err_t err;

    snprintf(lock_path, sizeof(lock_path), "%s/lock", c->state_dir);
    outputs[0] = c->reject_buf;
    outputs[1] = c->failed_buf;
    outputs[2] = c->index_buf;
    outputs[3] = c->checkpoint_buf;
    outputs[4] = lock_path;
    outputs[5] = c->report_path;
    outputs[6] = c->audit_path;
    err = al_pipeline_check_paths(c->pipe.paths, c->pipe.npaths, outputs, 7, &d);
    if (err != AL_ERR_OK) {
        print_error(err, &d);
        return exit_code_for(err);
    }
    if (cli_make_dirs(c->state_dir, NULL) != 0) {
        fprintf(stderr, "ampload: cannot create state directory %s: %s\n", c->state_dir,
                strerror(errno));
        fprintf(stderr, "  hint: %s\n", al_errhint(AL_ERR_STATE_DIR));
        return EXIT_INTERNAL;
    }
    err = al_state_lock(c->state_dir, &c->lock, &d);
    if (err == AL_ERR_OK)
        err = al_ckpt_recover(c->checkpoint_buf, c->reject_buf, c->failed_buf, c->index_buf, &d);
    if (err != AL_ERR_OK) {
        print_error(err, &d);
        return exit_code_for(err);
    }
    return 0;
}

/* Decides between a fresh start and a resume. @return 0 or an exit code. */
static int prepare_resume(cli_t *c)
{
    al_diag_t d;
    al_err_t err;
    uint64_t done_lines = 0;

    if (c->from_stream)
        return 0; /* a stream cannot be resumed: no checkpoint */
    c->pipe.checkpoint_path = c->checkpoint_buf;
    if (c->restart) {
        unlink(c->checkpoint_buf);
        return 0;
    }
    c->marks = calloc(c->pipe.npaths, sizeof(*c->marks));
    if (c->marks == NULL)
        return EXIT_INTERNAL;
    err = al_ckpt_load(c->checkpoint_buf, c->pipe.paths, c->pipe.npaths,
                       c->shard[0] ? c->shard : NULL, c->marks, &d);
    if (err == AL_ERR_NOT_FOUND)
        return 0;
    if (err != AL_ERR_OK) {
        print_error(err, &d);
        fprintf(stderr, "  (checkpoint: %s)\n", c->checkpoint_buf);
        return exit_code_for(err);
    }
    err = al_ckpt_rollback(c->checkpoint_buf, c->reject_buf, c->failed_buf, c->index_buf,
                           c->pipe.paths, c->pipe.npaths, c->marks, &d);
    if (err != AL_ERR_OK) {
        print_error(err, &d);
        return EXIT_INTERNAL;
    }
    for (uint32_t i = 0; i < c->pipe.npaths; i++)
        done_lines += c->marks[i].line - 1;
    c->pipe.start = c->marks;
    c->pipe.resume_files = 1;
    c->resumed = 1;
    if (!c->quiet)
        fprintf(stderr, "ampload: resuming from %s: %" PRIu64 " lines already done\n",
                c->checkpoint_buf, done_lines);
    return 0;
}

int main(int argc, char **argv)
{
    static cli_t c; /* large; and its live counters outlive every thread */
    al_input_t *inputs;
    al_stats_t stats;
    al_diag_t diag;
    al_err_t err;
    const char *env_key;
    double t0, elapsed;
    progress_t progress;
    cli_metrics_t *metrics = NULL;
    int show_progress, rc;

    /* a closed pipe (ampload -v ... | head) or a file-size limit must fail
     * the write that hit it, which is handled, not end the run unreported */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    {
        int eargc;
        char **eargv;
        const char *dbg = getenv("AMPLITUDE_DEBUG");
        const char *simd = getenv("AMPLOAD_SIMD");
        if (simd != NULL && simd[0] != '\0' && al_json_use_simd(simd) != 0) {
            fprintf(stderr,
                    "ampload: AMPLOAD_SIMD: '%s' is not available here (auto, avx2, sse2 or "
                    "scalar, as the CPU allows)\n",
                    simd);
            return EXIT_USAGE;
        }
        if (argc > 1 && strcmp(argv[1], "check") == 0) {
            c.check = 1; /* `ampload check ...`: the rest are the usual options */
            argv[1] = argv[0];
            argv++;
            argc--;
        }
        rc = args_with_env(argc, argv, &eargc, &eargv);
        if (rc != 0)
            return rc;
        rc = parse_args(&c, eargc, eargv);
        if (rc != 0)
            return rc;
        if (dbg != NULL && dbg[0] != '\0') {
            if (strcmp(dbg, "1") == 0 || strcmp(dbg, "true") == 0)
                c.verbose = 1;
            else if (strcmp(dbg, "0") != 0 && strcmp(dbg, "false") != 0) {
                fprintf(stderr, "ampload: AMPLITUDE_DEBUG: '%s' is not 1 or 0\n", dbg);
                return EXIT_USAGE;
            }
        }
    }
    for (uint32_t i = 0; i < c.pipe.npaths; i++)
        if (al_input_is_stream(c.pipe.paths[i]))
            c.from_stream = 1;
    env_key = getenv("AMPLITUDE_API_KEY");
    if (c.api_key_file != NULL) {
        struct stat kst;
        rc = read_key_file(c.api_key_file, c.pipe.batch.api_key, sizeof(c.pipe.batch.api_key));
        if (rc != 0)
            return rc;
        if (stat(c.api_key_file, &kst) == 0 && (kst.st_mode & 077) != 0)
            fprintf(stderr,
                    "ampload: warning: %s can be read by other users (mode %03o)\n"
                    "  hint: chmod 600 %s\n",
                    c.api_key_file, (unsigned)(kst.st_mode & 0777), c.api_key_file);
    } else if (env_key != NULL && env_key[0] != '\0') {
        rc = take_key("AMPLITUDE_API_KEY", env_key, strlen(env_key), c.pipe.batch.api_key,
                      sizeof(c.pipe.batch.api_key));
        if (rc != 0)
            return rc;
    }
    secret_key = c.pipe.batch.api_key;
    c.send.secret = c.pipe.batch.api_key; /* redacted from the server's words */
    if (c.pipe.batch.api_key[0] != '\0') {
        /* every request body in memory holds the key: a crash must not
         * write it into a core file */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
    }
    if (c.send.insecure && !c.quiet)
        fprintf(stderr, "ampload: warning: --insecure: TLS certificates are not verified\n");
    if (c.check) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        cli_check_opts_t co = {
            .send = &c.send,
            .api_key = c.pipe.batch.api_key,
            .paths = c.pipe.paths,
            .npaths = c.pipe.npaths,
            .state_dir = c.state_dir,
            .shard = c.shard[0] ? c.shard : NULL,
            .gzip_level = c.pipe.batch.gzip_level,
            .color = isatty(1) && (nc == NULL || nc[0] == '\0') &&
                     !(term != NULL && strcmp(term, "dumb") == 0),
            .out = stdout,
        };
        return cli_check(&co);
    }
    if (!c.dry_run && c.pipe.batch.api_key[0] == '\0') {
        fprintf(stderr, "ampload: no API key\n"
                        "  hint: set AMPLITUDE_API_KEY, or put the key in a file for "
                        "--api-key-file (or use --dry-run to only validate)\n");
        return EXIT_CONFIG;
    }
    snprintf(c.reject_buf, sizeof(c.reject_buf), "%s/rejected.ndjson", c.state_dir);
    snprintf(c.failed_buf, sizeof(c.failed_buf), "%s/failed.ndjson", c.state_dir);
    snprintf(c.index_buf, sizeof(c.index_buf), "%s/failed.index", c.state_dir);
    snprintf(c.checkpoint_buf, sizeof(c.checkpoint_buf), "%s/checkpoint", c.state_dir);
    rc = take_state_dir(&c);
    if (rc != 0)
        return rc;
    c.pipe.reject_path = c.reject_buf;
    c.pipe.live = &c.live;
    if (!c.dry_run) {
        sigset_t sigs;
        pthread_t sig_tid;
        c.pipe.send = &c.send;
        c.pipe.failed_path = c.failed_buf;
        c.pipe.failed_index_path = c.index_buf;
        c.pipe.stop = &c.stop;
        c.send.stop = &c.stop;
        c.send.on_request = on_request;
        c.send.on_request_ctx = &c;
        if (c.audit_path != NULL) {
            c.audit = al_fopen_private(c.audit_path, 0);
            if (c.audit == NULL) {
                fprintf(stderr, "ampload: --audit %s: %s\n", c.audit_path, strerror(errno));
                return EXIT_USAGE;
            }
        }
        rc = prepare_resume(&c);
        if (rc != 0)
            return rc;
        /* every thread started from here on leaves these signals to signal_main */
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        if (pthread_create(&sig_tid, NULL, signal_main, &c) == 0)
            pthread_detach(sig_tid);
    }

    inputs = calloc(c.pipe.npaths, sizeof(*inputs));
    if (inputs == NULL) {
        fprintf(stderr, "ampload: out of memory\n");
        return EXIT_INTERNAL;
    }
    if (c.metrics_port >= 0) {
        cli_metrics_opts_t mo = {.live = &c.live,
                                 .endpoint = c.dry_run ? "" : c.send.url,
                                 .state_dir = c.state_dir,
                                 .sending = !c.dry_run,
                                 .t0 = now_s()};
        metrics = cli_metrics_start((unsigned)c.metrics_port, &mo);
        if (metrics == NULL) {
            free(inputs);
            return EXIT_USAGE;
        }
        if (!c.quiet || c.metrics_port == 0)
            fprintf(stderr, "ampload: metrics on http://127.0.0.1:%u/metrics and /status\n",
                    cli_metrics_port(metrics));
    }
    /* the live line on a terminal (or forced); otherwise a plain status line
     * every 10 s, for logs of long runs in cron or Kubernetes */
    show_progress = !c.dry_run && !c.quiet;
    if (show_progress &&
        progress_start(&progress, &c, !(c.progress == 1 || (c.progress == -1 && isatty(2)))) != 0)
        show_progress = 0;
    t0 = now_s();
    c.t0 = t0;
    err = al_pipeline_run(&c.pipe, inputs, &stats, &diag);
    elapsed = now_s() - t0;
    cli_metrics_finish(metrics, err == AL_ERR_INTERRUPTED ? "interrupted"
                                : err != AL_ERR_OK        ? "failed"
                                                          : "done");
    if (c.audit != NULL && fclose(c.audit) != 0)
        fprintf(stderr, "ampload: --audit %s: write error\n", c.audit_path);
    c.audit = NULL;
    if (c.nlat > 0)
        qsort(c.latencies, c.nlat, sizeof(*c.latencies), cmp_u32);
    if (show_progress)
        progress_stop(&progress);
    rc = EXIT_OK;
    if (err == AL_ERR_INTERRUPTED) {
        fprintf(stderr, "ampload: interrupted\n  hint: %s\n", resume_hint(&c));
        rc = exit_code_for(err);
    } else if (err != AL_ERR_OK) {
        print_error(err, &diag);
        rc = exit_code_for(err);
    }
    for (uint32_t i = 0; i < c.pipe.npaths; i++) {
        if (inputs[i].err != AL_ERR_OK && !(err != AL_ERR_OK && inputs[i].err == err)) {
            print_error(inputs[i].err, &inputs[i].diag);
            if (rc == EXIT_OK)
                rc = exit_code_for(inputs[i].err);
        } else if (err == AL_ERR_OK && inputs[i].bytes_read == 0 && !c.quiet) {
            fprintf(stderr, "ampload: warning: %s is empty\n", c.pipe.paths[i]);
        }
    }
    /* what the failed file holds now: this run's events and any left there
     * by earlier runs of this state directory (below the checkpoint) */
    c.failed_total = c.dry_run ? 0 : count_lines(c.failed_buf);
    if (rc == EXIT_OK && c.failed_total > 0)
        rc = EXIT_FAILED;
    /* Counts are worth showing whenever the run got as far as reading. */
    if (!c.quiet && stats.lines_read > 0)
        print_summary(&c, &stats, elapsed);
    else
        print_failed(&c, &stats);
    if (c.report_path != NULL && (err == AL_ERR_OK || stats.lines_read > 0) &&
        write_report(&c, &stats, inputs, elapsed) != 0 && rc == EXIT_OK)
        rc = EXIT_INTERNAL;
    cli_metrics_stop(metrics);
    free(inputs);
    free(c.marks);
    free(c.latencies);
    free(c.acked_per_s);
    al_state_unlock(c.lock);
    return rc;
}
