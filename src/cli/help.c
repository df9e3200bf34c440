/* help.c - the text of --help and --version. The --help text is kept by
 * hand, laid out for reading, and checked word for word by the golden test;
 * every option in it is a row of options.c's table. */
#include "cli.h"

#include "../core/json.h"

#include <curl/curl.h>
#include <jansson.h>
#include <zstd.h>

static const char usage_text[] =
    "Usage: ampload [load] [options] FILE...\n"
    "       ampload check [options] [FILE...]\n"
    "       ampload export --start YYYYMMDDTHH --end YYYYMMDDTHH -o DIR [options]\n"
    "       ampload identify [options] FILE...\n"
    "Load NDJSON events (plain, zstd, gzip, or zip archives of those such as\n"
    "Amplitude's exports; '-' = stdin) into Amplitude's Batch Event Upload API.\n"
    "'check' verifies endpoint, TLS, key, inputs and state directory without\n"
    "sending any event, and prints a checklist. 'export' downloads Amplitude's\n"
    "Export API into zstd files ('ampload export --help'). 'identify' loads user\n"
    "properties into the Identify API ('ampload identify --help').\n"
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
    "Edits (top-level fields, before validation; repeatable):\n"
    "  --from amplitude-export  the lines are Amplitude export rows: map them to\n"
    "                        /batch events ($insert_id, event_time as UTC, ...)\n"
    "  --rename OLD=NEW      rename a field\n"
    "  --drop FIELD          remove a field\n"
    "  --set FIELD=JSON      set a field to a JSON value (--set 'job=\"x\"')\n"
    "  --skip-user-properties-sync  add \"$skip_user_properties_sync\":true\n"
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
    "first failure (4 endpoint, TLS or key; 3 input; 2 checkpoint, or a state dir\n"
    "in use; 1 state dir not usable).\n"
    "\n"
    "Examples:\n"
    "  AMPLITUDE_API_KEY=... ampload events.ndjson   load one file\n"
    "  ampload check --region eu events.ndjson        preflight before a backfill\n"
    "  ampload --dry-run day-*.zst                     validate, see what would be sent\n"
    "  zstdcat a.zst | ampload --region eu -           read standard input\n";

static const char identify_text[] =
    "Usage: ampload identify [options] FILE...\n"
    "Load NDJSON identifications (user properties: one JSON object per line with\n"
    "user_id and/or device_id and user_properties, plain or operations such as\n"
    "$set, $add, $append) into Amplitude's Identify API, as form POSTs of\n"
    "--batch-size identifications. Inputs, state directory, checkpoint, reject and\n"
    "failed files, progress, report and exit codes are those of the load\n"
    "('ampload --help').\n"
    "\n"
    "Identify deduplicates nothing, and $add, $append, $prepend, $preInsert,\n"
    "$postInsert and $remove change data when applied twice. An identification\n"
    "whose fate is unknown (a 5xx, a connection lost after the request left, or\n"
    "in flight when a run was killed) is sent again only when all its operations\n"
    "are idempotent; the others go to non-idempotent.ndjson in the state\n"
    "directory (counted in the report as non_idempotent_held), for you to check.\n"
    "A resume never resends an acknowledged identification.\n"
    "\n"
    "Identify:\n"
    "  --endpoint URL        default https://api2.amplitude.com/identify\n"
    "  --region us|eu        the documented host of each region\n"
    "  --batch-size N        identifications per request, 1..2000 (default 1000)\n"
    "  --resend-non-idempotent  resend identifications in doubt even when a\n"
    "                        second application would change data\n"
    "\n"
    "  --throttle-wait SECONDS  pause for ids Amplitude throttled (default 15)\n"
    "  --from amplitude-export  the inputs are export rows: send one $set\n"
    "                        identification per user, from the user's latest row\n"
    "\n"
    "Also: --api-key-file, --concurrency, --rate, --retry-time, --timeout,\n"
    "--ca-file, --insecure,\n"
    "--dry-run, --threads, --state, --resume, --restart, --report, -q, --progress,\n"
    "-v, --audit, --metrics-port, --shard, --min-id-length, --max-event-bytes,\n"
    "--batch-bytes (default 6500000), --chunk-bytes; see 'ampload --help'.\n"
    "\n"
    "Example:\n"
    "  AMPLITUDE_API_KEY=... ampload identify --region eu users.ndjson\n";

void cli_help(FILE *out)
{
    fputs(usage_text, out);
}

void cli_identify_help(FILE *out)
{
    fputs(identify_text, out);
}

void cli_version(FILE *out)
{
    fprintf(out, "ampload %s (libcurl %s, zstd %s, jansson %s; JSON scanner: %s)\n",
            AMPLOAD_VERSION, curl_version_info(CURLVERSION_NOW)->version, ZSTD_versionString(),
            JANSSON_VERSION, al_json_simd());
}
