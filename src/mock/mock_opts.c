/* mock_opts.c - ampload-mock's option table (opt.h), the same machinery
 * as ampload's: one row per option with its type, range, default and help,
 * from which its --help, its man page's OPTIONS and the README's table of
 * the mock's options are made. */
#include "mock_opts.h"

#include <stdio.h>
#include <string.h>

#define A(f) CLI_OPT_FIELD(mock_args_t, f)

#define SERVER "Server"
#define FAULTS "Answers and faults (/batch, /identify)"
#define EXPORT "Projects and the Export API"

static int want_help(void *t, const char *name, const cli_optval_t *v)
{
    (void)t, (void)name, (void)v;
    return -1;
}

static const cli_opt_t rows[] = {
    {.name = "port",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 65535,
     A(port),
     .section = SERVER,
     .help = "port to listen on; 0 picks a free one",
     .deflt = "0"},
    {.name = "tls-cert",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "FILE",
     A(tls_cert),
     .section = SERVER,
     .help = "serve HTTPS with this PEM certificate (and --tls-key)",
     .more = "for tests of TLS verification and `--ca-file`"},
    {.name = "tls-key",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "FILE",
     A(tls_key),
     .section = SERVER,
     .help = "the certificate's PEM private key"},
    {.name = "sink",
     .cmds = 1,
     .type = OPT_FLAG,
     A(sink),
     .section = SERVER,
     .help = "only count requests and bytes (throughput benchmarks); /identify answers "
             "success. Reads no body, so it takes none of the options that need one (--api-key, "
             "--max-body, --eps-per-id, --daily-quota, --reject-event-type, "
             "--first-invalid-only, --no-gzip, --echo-key, --record, --record-dir, --export); "
             "--fail-rate, --fail-status, --drop-rate, --latency-ms, --retry-after, --bogus-200 "
             "apply"},
    {.name = "seed",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 1e18,
     A(seed),
     .section = SERVER,
     .help = "seed of the fault sequence",
     .deflt = "0"},
    {.name = "exit-after",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "S",
     .lo = 0,
     .hi = 1e7,
     A(exit_after),
     .section = SERVER,
     .help = "stop by itself after S seconds",
     .deflt = "on SIGINT/SIGTERM"},
    {.name = "record",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "FILE",
     A(record),
     .section = SERVER,
     .help = "write every accepted event (and applied identification) to FILE (one JSON per "
             "line)",
     .more = "duplicates are not written"},
    {.name = "record-dir",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "DIR",
     A(store.record_dir),
     .section = SERVER,
     .help = "the same per project (API key): DIR/<app>.ndjson, <app> the project number its "
             "exports carry"},

    {.name = "api-key",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "KEY",
     A(api_key),
     .section = FAULTS,
     .help = "accept only this api_key; others get 400 `Invalid API key`",
     .deflt = "any non-empty key",
     .more = "a missing key always gets 400 `missing_field`"},
    {.name = "max-body",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "BYTES",
     .lo = 1,
     .hi = 1e12,
     A(max_body),
     .section = FAULTS,
     .help = "answer 413 above this body size, after inflating a gzip body",
     .deflt = "20000000",
     .more = "a body that is not gzip but says so gets 400 `Invalid JSON request body`, another "
             "Content-Encoding 415"},
    {.name = "eps-per-id",
     .cmds = 1,
     .type = OPT_REAL,
     .meta = "N",
     .lo = 0,
     .hi = 1e9,
     A(eps_per_id),
     .section = FAULTS,
     .help = "429 with throttled_users/throttled_devices/throttled_events for ids above N "
             "events/s",
     .deflt = "off"},
    {.name = "eps-window",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "S",
     .lo = 1,
     .hi = 86400,
     A(eps_window),
     .section = FAULTS,
     .help = "window for --eps-per-id, seconds",
     .deflt = "30"},
    {.name = "daily-quota",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 1e15,
     A(daily_quota),
     .section = FAULTS,
     .help = "429 with exceeded_daily_quota_users/_devices for ids above N accepted events",
     .deflt = "off"},
    {.name = "fail-rate",
     .cmds = 1,
     .type = OPT_REAL,
     .meta = "R",
     .lo = 0,
     .hi = 1,
     A(fail_rate),
     .section = FAULTS,
     .help = "share of requests answered 500/502/503/504",
     .deflt = "0",
     .more = "500, 502 and 504 ingest the batch half of the time first, as Amplitude "
             "may"},
    {.name = "fail-status",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 400,
     .hi = 599,
     A(fail_status),
     .section = FAULTS,
     .help = "answer injected failures with N only (e.g. 503)"},
    {.name = "drop-rate",
     .cmds = 1,
     .type = OPT_REAL,
     .meta = "R",
     .lo = 0,
     .hi = 1,
     A(drop_rate),
     .section = FAULTS,
     .help = "share of connections closed without an answer",
     .deflt = "0"},
    {.name = "latency-ms",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 600000,
     A(latency_ms),
     .section = FAULTS,
     .help = "delay before each answer",
     .deflt = "0"},
    {.name = "retry-after",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "S",
     .lo = 0,
     .hi = 86400,
     A(retry_after),
     .section = FAULTS,
     .help = "send Retry-After: S with 429 and 503"},
    {.name = "reject-event-type",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "T",
     A(reject_event_type),
     .section = FAULTS,
     .help = "400 events_with_invalid_fields for events of type T",
     .more = "a server-side rule the loader cannot know"},
    {.name = "first-invalid-only",
     .cmds = 1,
     .type = OPT_FLAG,
     A(first_invalid_only),
     .section = FAULTS,
     .help = "list only the first invalid event of a 400",
     .more = "as one Amplitude document says it may"},
    {.name = "no-gzip",
     .cmds = 1,
     .type = OPT_FLAG,
     A(no_gzip),
     .section = FAULTS,
     .help = "ignore Content-Encoding, like a server without gzip support",
     .more = "a compressed body is then invalid JSON"},
    {.name = "bogus-200",
     .cmds = 1,
     .type = OPT_WORD,
     .meta = "html|empty|code400",
     A(bogus),
     .section = FAULTS,
     .help = "answer every /batch and /identify with HTTP 200 and a body that is not "
             "Amplitude's (html: a captive portal's page, empty, or code400: "
             "{\"code\":400,...}); ingests nothing"},
    {.name = "echo-key",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "PAD",
     .lo = 0,
     .hi = 1000,
     A(echo_key_pad),
     .scale = 1,
     .section = FAULTS,
     .help = "a wrong key's error repeats the whole key after PAD bytes, and the right one (a "
             "careless server's)"},

    {.name = "export",
     .cmds = 1,
     .type = OPT_FLAG,
     A(store.keep),
     .section = EXPORT,
     .help = "keep accepted events per project and serve GET "
             "/api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH (Basic auth key:secret): a zip of "
             "gzipped rows in the export shape, one member per hour and 1000 rows, end hour "
             "included, 404 when empty; --fail-rate, --fail-status, --drop-rate apply to it"},
    {.name = "secret-key",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "KEY",
     A(store.secret_key),
     .section = EXPORT,
     .help = "the export's secret key",
     .deflt = "any non-empty one"},
    {.name = "upload-time",
     .cmds = 1,
     .type = OPT_CHOICE,
     .meta = "now|event",
     A(store.upload_from_event),
     .section = EXPORT,
     .help = "an event's upload hour, which export windows select on: the clock (now), or the "
             "event's own time (event)",
     .deflt = "now"},
    {.name = "export-max-events",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 1,
     .hi = 1e15,
     A(store.max_events),
     .section = EXPORT,
     .help = "400 (Amplitude's over 4 GB) for a window above N rows"},
    {.name = "export-504-first",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 1e15,
     A(export_504_first),
     .section = EXPORT,
     .help = "answer 504 to the first N export requests"},
    {.name = "export-504-hour",
     .cmds = 1,
     .type = OPT_TEXT,
     .meta = "YYYYMMDDTHH",
     A(export_504_hour),
     .section = EXPORT,
     .help = "answer 504 to every export window holding that hour (an hour that keeps timing "
             "out)"},
    {.name = "export-empty-zip",
     .cmds = 1,
     .type = OPT_UINT,
     .meta = "N",
     .lo = 0,
     .hi = 1e15,
     A(export_empty_zip),
     .section = EXPORT,
     .help = "the first N export answers of 200 carry an empty zip",
     .more = "SIGUSR1 turns the three export faults off: the server is healed"},

    {.name = "help",
     .short_name = 'h',
     .cmds = 1,
     .type = OPT_FLAG,
     .fn = want_help,
     .section = "General",
     .help = "this text"},
};

static const cli_optable_t table = {"ampload-mock", rows, sizeof(rows) / sizeof(rows[0]), NULL, 0};

static const char intro[] =
    "Usage: ampload-mock [options]\n"
    "A local Amplitude-compatible /batch and /identify server for tests and benchmarks\n"
    "(127.0.0.1 only). POST /identify takes the form api_key=...&identification=...,\n"
    "applies each identification's operations to its user's properties (GET /users\n"
    "shows them), answers 200 success, 400 missing_event, 429 per id as /batch does,\n"
    "and takes --fail-rate, --fail-status, --drop-rate, --latency-ms, --record.\n"
    "\n";

static const char outro[] = "Prints 'ampload-mock listening on http://127.0.0.1:PORT' when ready.\n"
                            "GET /stats returns the counters as JSON.\n";

const cli_optable_t *mock_options(void)
{
    return &table;
}

int mock_parse_args(mock_args_t *a, int argc, char **argv)
{
    int first = argc, rc;
    memset(a, 0, sizeof(*a));
    a->max_body = MOCK_DEFAULT_MAX_BODY;
    a->eps_window = 30;
    a->echo_key_pad = -1;
    rc = cli_opt_parse(&table, 1, a, argc, argv, &first);
    if (rc == -1) {
        fputs(intro, stdout);
        cli_opt_help(stdout, &table, 1);
        fputc('\n', stdout);
        fputs(outro, stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (first < argc)
        return cli_opt_error(&table, 1, "unexpected argument '%s' (the mock reads no files)",
                             argv[first]);
    return -1;
}
