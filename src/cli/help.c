/* help.c - the prose of each command's --help, and --version. The options
 * between the prose are the option table's (opt.h: cli_opt_help), so a
 * range, a default or an option cannot differ between --help, the man
 * page and the README; the golden test checks the whole text word for word.
 */
#include "cli.h"

#include "json.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>
#include <zstd.h>

static const char load_intro[] =
    "Usage: ampload [load] [options] FILE...\n"
    "       ampload check [options] [FILE...]\n"
    "       ampload export --start YYYYMMDDTHH --end YYYYMMDDTHH -o DIR [options]\n"
    "       ampload identify [options] FILE...\n"
    "       ampload report merge [-o FILE] REPORT.json...\n"
    "Load NDJSON events (plain, zstd, gzip, or zip archives of those such as\n"
    "Amplitude's exports; '-' = stdin) into Amplitude's Batch Event Upload API.\n"
    "'check' verifies endpoint, TLS, key, inputs and state directory without\n"
    "sending any event, and prints a checklist. 'export' downloads Amplitude's\n"
    "Export API into zstd files ('ampload export --help'). 'identify' loads user\n"
    "properties into the Identify API ('ampload identify --help'). 'report merge'\n"
    "adds up the reports of the copies of a --shard job ('ampload report --help').\n"
    "\n";

/* the environment, the table's variables in the middle */
static const char load_env[] =
    "Environment: AMPLITUDE_API_KEY, AMPLITUDE_BASE_URL, AMPLITUDE_DEBUG, and %s for the "
    "options of the same name. NO_COLOR turns off the colours of 'ampload check'. Options on "
    "the command line win over the environment.";

static const char load_outro[] =
    "Exit codes: 0 success (rejected lines are in the reject file), 1 internal\n"
    "error, 2 usage error (also: an input given twice or that is an output, a\n"
    "state directory in use by another run), 3 input error (missing, unreadable,\n"
    "corrupt or changed while read; not NDJSON: a JSON array, pretty-printed\n"
    "JSON, CSV or TSV; or every line of an input rejected), 4 configuration\n"
    "error (no API key; key, region or URL refused; a 2xx answer that is not\n"
    "Amplitude's), 5 events could not be delivered (the failed file of the state\n"
    "directory holds some, from this run or an earlier one), 6 interrupted\n"
    "(SIGINT/SIGTERM/SIGHUP; run the same command again to resume).\n"
    "'ampload check' exits 0 when every check passed, else with the code of the\n"
    "first failure (4 endpoint, TLS or key; 3 input; 2 checkpoint, or a state dir\n"
    "in use; 1 state dir not usable).\n"
    "\n"
    "Examples:\n"
    "  AMPLITUDE_API_KEY=... ampload events.ndjson   load one file\n"
    "  ampload check --region eu events.ndjson        preflight before a backfill\n"
    "  ampload --dry-run day-*.zst                     validate, see what would be sent\n"
    "  zstdcat a.zst | ampload --region eu -           read standard input\n";

static const char identify_intro[] =
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
    "\n";

static const char identify_outro[] =
    "Example:\n"
    "  AMPLITUDE_API_KEY=... ampload identify --region eu users.ndjson\n";

static const char check_intro[] =
    "Usage: ampload check [options] [FILE...]\n"
    "Checks, without sending a single event, what a load with the same options\n"
    "needs, and prints a checklist (a mark per check: passed, failed with a hint\n"
    "on the next line, or not applicable):\n"
    "  endpoint, TLS, API key  one POST of an event without ids, which Amplitude\n"
    "                        refuses after checking the key (nothing is ingested)\n"
    "  gzip                  with --gzip: whether the server reads gzip bodies\n"
    "  input                 each FILE opened and its first 64 KiB read as a run\n"
    "                        would (streams are not read ahead)\n"
    "  state dir             created if needed, locked, written to and synced\n"
    "  checkpoint            whether a run would resume, and where\n"
    "\n";

static const char check_outro[] =
    "It takes every other option of the load too ('ampload --help'), so the\n"
    "command line of a load can be checked as it is. The environment is the\n"
    "load's; NO_COLOR turns off the colours.\n"
    "\n"
    "Exit codes: 0 when every check passed, else the code of the first failure:\n"
    "4 endpoint, TLS or key; 3 an input; 2 the checkpoint, or a state directory\n"
    "in use by another run; 1 a state directory that cannot be used.\n"
    "\n"
    "Example:\n"
    "  AMPLITUDE_API_KEY=... ampload check --region eu day-*.zst\n";

static const char export_intro[] =
    "Usage: ampload export --start YYYYMMDDTHH --end YYYYMMDDTHH -o DIR [options]\n"
    "Downloads Amplitude's Export API for the range (both hours included) into DIR:\n"
    "one <start>-<end>.ndjson.zst per window and manifest.ndjson. Run it again to\n"
    "resume. Keys: AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY, or the files below.\n"
    "\n";

static const char export_outro[] =
    "Exit codes: 0 every window done or empty, 2 usage or the directory in use,\n"
    "4 keys or region refused or the endpoint never reached, 5 some windows failed\n"
    "(run again, or see the hint), 6 interrupted (run again), 1 internal (the\n"
    "output directory).\n";

static const char report_intro[] =
    "Usage: ampload report merge [-o FILE] REPORT.json...\n"
    "Merge the --report files of the N copies of a job run with --shard I/N into\n"
    "one report: checks that every shard 0..N-1 is there exactly once, that the\n"
    "copies' parts cover each input exactly once (by input) or wholly (by device),\n"
    "sums the counts and checks lines_read = events_sent + rejected_local +\n"
    "rejected_server + failed + non_idempotent_held + skipped over the sum.\n"
    "\n";

static const char report_outro[] =
    "Exit codes: 0 the job's accounting holds; 5 it holds and some events failed\n"
    "(or identifications are held); 3 a shard is missing or doubled, the reports\n"
    "are of different jobs, an input is not covered exactly once, a copy did not\n"
    "finish (interrupted, or lines read but not resolved: run that shard's command\n"
    "again, then merge), or the sum does not balance; then no merged report is\n"
    "written; 2 usage error.\n";

/* The prose of each command, by CLI_MODE_*. */
static const struct {
    const char *intro, *outro;
    int env; /* a paragraph on the environment before the outro */
} texts[] = {
    [CLI_MODE_LOAD] = {load_intro, load_outro, 1},
    [CLI_MODE_CHECK] = {check_intro, check_outro, 0},
    [CLI_MODE_IDENTIFY] = {identify_intro, identify_outro, 1},
    [CLI_MODE_EXPORT] = {export_intro, export_outro, 0},
    [CLI_MODE_REPORT] = {report_intro, report_outro, 0},
};

void cli_help(FILE *out, int mode)
{
    const cli_optable_t *t = cli_options();
    unsigned cmd = 1u << mode;
    fputs(texts[mode].intro, out);
    cli_opt_help(out, t, cmd);
    fputc('\n', out);
    if (texts[mode].env) {
        char vars[512], para[1024];
        cli_opt_env_list(vars, sizeof(vars), t, cmd);
        snprintf(para, sizeof(para), load_env, vars);
        cli_opt_paragraph(out, para);
        fputc('\n', out);
    }
    fputs(texts[mode].outro, out);
}

void cli_version(FILE *out)
{
    fprintf(out, "ampload %s (libcurl %s, zstd %s, jansson %s; JSON scanner: %s)\n",
            AMPLOAD_VERSION, curl_version_info(CURLVERSION_NOW)->version, ZSTD_versionString(),
            JANSSON_VERSION, al_json_simd());
}
