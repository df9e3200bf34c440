/* cli.h - what the parts of the ampload command share.
 *
 * The command is split by concern, the way curl splits src/tool_*.c
 * (docs/DESIGN.md has the same map):
 *   main.c        dispatch to a subcommand (ampload FILE... = ampload load)
 *   opt.c/.h      the option machinery: parsing, --help and the pages from a table
 *   optable.c     the option table of every command
 *   options.c     the load's, check's and identify's parse; cli_settle, what
 *                 they do first
 *   help.c        the prose of each command's --help; --version
 *   optdoc.c      ampload-optdoc: writes the table into the man pages and README
 *   keys.c        the API key: key file or environment, checks, redaction
 *   state.c/.h    the state directory: default name, lock, resume decision
 *   signals.c     SIGINT/SIGTERM/SIGHUP: drain, then stop at once
 *   progress.c/.h the live progress line
 *   reqlog.c/.h   per-request debug and audit lines, latency percentiles
 *   report.c      exit codes, error messages, summary table, JSON report
 *   metrics.c     the /metrics and /status endpoint
 *   cmd_load.c    `ampload load` (and `identify`): a run of the pipeline
 *   cmd_check.c   `ampload check`: the preflight checklist
 *   cmd_export.c  `ampload export`; the refusal of a load into its source
 *   cmd_report.c  `ampload report merge`
 *   inputs.c      zip archives opened up into inputs; the shard plan
 *   derive.c      identify --from amplitude-export: derived identifications
 *   dirs.c        mkdir -p and its undo; whether an output file can be written
 *   endpoint.c    the one rule of which URL a command sends to
 *   awscreds.c    objects in buckets: endpoint, region, AWS credentials
 *   run.h         what changes during a load (cli_run_t)
 * Settings (cli_settings_t) are fixed once parsing is done; what changes
 * during a run lives in the run's own struct (run.h's cli_run_t).
 * Only src/cli prints or decides exit codes.
 */
#ifndef AL_CLI_H
#define AL_CLI_H

#include "clock.h"
#include "opt.h"
#include "pipeline.h"
#include "send.h"
#include "stats.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1, /* out of memory, unwritable state directory, ... */
    EXIT_USAGE = 2,
    EXIT_INPUT = 3,       /* an input could not be read, or broke while being read */
    EXIT_CONFIG = 4,      /* no API key, or the server refused key, region or URL */
    EXIT_FAILED = 5,      /* some events could not be delivered: see the failed file */
    EXIT_INTERRUPTED = 6, /* stopped by SIGINT/SIGTERM/SIGHUP; the same command resumes */
};

/* Which command the options are for: CLI_MODE_* for cli_parse_options(),
 * and its bit in the option table's rows (CLI_CMD_* = 1 << CLI_MODE_*). */
enum {
    CLI_MODE_LOAD = 0,
    CLI_MODE_CHECK = 1,
    CLI_MODE_IDENTIFY = 2,
    CLI_MODE_EXPORT = 3,
    CLI_MODE_REPORT = 4,
};
enum {
    CLI_CMD_LOAD = 1u << CLI_MODE_LOAD,
    CLI_CMD_CHECK = 1u << CLI_MODE_CHECK,
    CLI_CMD_IDENTIFY = 1u << CLI_MODE_IDENTIFY,
    CLI_CMD_EXPORT = 1u << CLI_MODE_EXPORT,
    CLI_CMD_REPORT = 1u << CLI_MODE_REPORT,
};

/* @return the option table of every command (optable.c). */
const cli_optable_t *cli_options(void);

/* What the command line and the environment asked for. Filled by
 * cli_parse_options(), then read-only. */
typedef struct {
    int mode;                /* CLI_MODE_LOAD, _CHECK or _IDENTIFY */
    al_pipeline_opts_t pipe; /* paths point into argv */
    al_send_opts_t send;
    int dry_run;
    int quiet;
    int progress;          /* -1 auto (a TTY), 0 off, 1 forced */
    int verbose;           /* -v or AMPLITUDE_DEBUG=1: one line per request */
    int restart;           /* --restart: ignore and replace the checkpoint */
    int metrics_port;      /* --metrics-port: -1 = off, 0 = any free port */
    int check;             /* inputs are optional (`ampload check`) */
    int identify;          /* `ampload identify`: identifications to the Identify API */
    int users_from_export; /* identify --from amplitude-export (derive.c) */
    const char *state_dir;
    const char *report_path;
    const char *audit_path;
    const char *api_key_file;
    char shard[32];         /* --shard as "I/N", or "" */
    char shard_label[48];   /* what the checkpoint records: "I/N" by input, "I/N by device" */
    int shard_by_device;    /* --shard-by device: split the events, every copy reads all */
    const char *shard_arg;  /* --shard as given ("auto" is resolved after parsing) */
    int allow_same_project; /* --allow-same-project: an export back into its project */
    int max_event_set;      /* --max-event-bytes was given (else it follows --batch-bytes) */
    const char *endpoint_arg, *region_arg; /* --endpoint, --region as given, or NULL */
    const char *url_source;                /* what chose send.url (cli_resolve_url) */
    char state_buf[PATH_MAX];
    al_edits_t edits; /* --from, --rename, --drop, --set, --skip-user-properties-sync */
    /* objects in buckets (awscreds.c): --s3-endpoint as given, --s3-addressing
     * (0 auto, 1 path, 2 virtual), and what they make with the environment */
    const char *s3_endpoint_arg;
    int s3_addressing;
    al_s3_conf_t s3;
} cli_settings_t;

/* `ampload export`'s options (cmd_export.c), filled through the table. */
typedef struct {
    const char *start, *end, *out_dir, *api_key_file, *secret_key_file, *audit_path;
    const char *endpoint, *region; /* as given, or NULL */
    const char *url_source;        /* what chose url (cli_resolve_url) */
    char url[1024];
    uint64_t window_hours, retry_time, timeout;
    const char *ca_file;
    int insecure, quiet, verbose;
} cli_export_args_t;

/* `ampload report merge`'s options (cmd_report.c). */
typedef struct {
    const char *out; /* -o FILE, or NULL: standard output */
} cli_report_args_t;

/* What cli_parse_options() found: go on, or print help / the version. */
enum { CLI_PARSED = 0, CLI_HELP = -1, CLI_VERSION = -2 };

/* Parses the environment (AMPLOAD_*, AMPLITUDE_BASE_URL, AMPLITUDE_DEBUG),
 * then argv[1..argc) over it, into s, for the command of mode (CLI_MODE_*);
 * the remaining arguments are the inputs (at least one unless checking).
 * Never exits. @return CLI_PARSED, CLI_HELP, CLI_VERSION, or an exit code
 * after printing the error. */
int cli_parse_options(cli_settings_t *s, int argc, char **argv, int mode);

/* What every subcommand does first: parses the options (printing help or
 * the version when asked), reads the API key, warns about --insecure.
 * @return 1 to go on; 0 to end with exit code *rc. */
int cli_settle(cli_settings_t *s, int argc, char **argv, int mode, int *rc);

/* help.c: the --help of the command of mode (CLI_MODE_*): its prose around
 * the table's option sections. */
void cli_help(FILE *out, int mode);

/* help.c: --version. */
void cli_version(FILE *out);

/* Reads the API key named by the settings (--api-key-file, else
 * AMPLITUDE_API_KEY) into s->pipe.batch.api_key, makes it the secret every
 * message is redacted of, and turns core dumps off once there is one.
 * @return 0 or an exit code after a message. */
int cli_load_key(cli_settings_t *s);

/* Reads a key from file (named by option opt in messages), else from the
 * environment variable env, into key[cap] ("" when neither gives one):
 * trimmed, checked, core dumps turned off once there is one.
 * @return 0 or an exit code after a message. */
int cli_read_secret(const char *opt, const char *file, const char *env, char *key, size_t cap);

/* @return the secret every message must be redacted of ("" if none). */
const char *cli_secret(void);

/* awscreds.c: when an input is an object URL, fills s->s3 (endpoint,
 * addressing, region, credentials from the environment and the shared AWS
 * files) and points s->pipe.s3 at it. @return 0 or an exit code after a
 * message. */
int cli_object_store(cli_settings_t *s);

/* ---- endpoint.c ------------------------------------------------------------ */

/* An API's URLs: each region's, and its path under AMPLITUDE_BASE_URL. */
typedef struct {
    const char *us, *eu; /* the documented URL of each region */
    const char *path;    /* e.g. "batch", "api/2/export" */
} cli_api_urls_t;

/* The one rule, for every command, of the URL a request goes to: an
 * explicit --endpoint wins, then --region, then AMPLITUDE_BASE_URL (a host,
 * the API's path added unless it ends with it), then the US default.
 * endpoint and region are the options' values or NULL. Writes the URL to
 * out[cap] and what chose it ("--endpoint", "--region",
 * "AMPLITUDE_BASE_URL", "the default") to *source, for messages. Unless
 * quiet, a source given but outranked is named on stderr ("note:
 * AMPLITUDE_BASE_URL is ignored: --region chooses the URL").
 * @return 0, or EXIT_USAGE after a message (a value that is no http(s)
 * URL, a region other than us or eu). */
int cli_resolve_url(char *out, size_t cap, const char *endpoint, const char *region,
                    const cli_api_urls_t *api, int quiet, const char **source);

/* cmd_export.c: with --from amplitude-export, an input that is one of the
 * files an export keeps beside its rows (its manifest, its lock file) is no
 * rows. @return 1 and the message in msg[cap] for the first such input. */
int cli_export_file_msg(const char *const *paths, uint32_t n, char *msg, size_t cap);

/* cmd_export.c: files an export wrote with this API key (their manifest,
 * beside them or in their zip archive, says so) would go back into their
 * own project. @return 1 and the message in msg[cap] for the first such
 * input; 0 when key is empty (a dry run without one). */
int cli_same_project_msg(const char *const *paths, uint32_t n, const char *key, char *msg,
                         size_t cap);

/* cmd_export.c: the refusals above for a load --from amplitude-export, a
 * dry run too (it says what the run would do), before anything is made or
 * sent. @return 0, or after the message EXIT_USAGE (an export's own file
 * given as an input) or EXIT_INPUT (the same project, unless
 * --allow-same-project). */
int cli_refuse_export_inputs(const cli_settings_t *s);

/* ---- report.c ------------------------------------------------------------ */

/* @return the documented exit code for err. */
int cli_exit_code(al_err_t err);

/* Prints "ampload: <message>" and its hint, the secret redacted. */
void cli_print_error(al_err_t err, const al_diag_t *d);

/* @return the number of complete lines in path (0 when it does not exist). */
uint64_t cli_count_lines(const char *path);

/* ---- dirs.c ------------------------------------------------------------- */

/* mkdir -p with mode 0700. *created (may be NULL) gets how many directories
 * this call made: always the last ones of the path. @return 0 or -1 with errno. */
int cli_make_dirs(const char *path, int *created);

/* dirs.c: @return 1 when an output file at path could be written (its
 * directory exists and is writable, the path is not a directory); else
 * prints why as "PROG: OPT PATH: ..." and returns 0. Called before the
 * first request, so a typo costs nothing. */
int cli_output_path_ok(const char *prog, const char *opt, const char *path);

/* Refuses an output file (--report, --audit) that is one of files, the
 * run's own (state files, the key file, the other output): the same inode,
 * or the same name in the same directory for one not made yet. Prints why,
 * naming roles[i]. @return 1 when path is none of them, else 0. */
int cli_output_not_taken(const char *prog, const char *opt, const char *path,
                         const char *const *files, const char *const *roles, size_t n);

/* Removes the last `created` directories of path again (if still empty). */
void cli_remove_created_dirs(const char *path, int created);

/* ---- the subcommands ------------------------------------------------------ */

/* `ampload load [options] FILE...` (and `ampload [options] FILE...`).
 * argv[0] is the program name. @return the exit code. */
int cmd_load(int argc, char **argv);

/* `ampload identify [options] FILE...`: the load's run, for the Identify
 * API (cmd_load.c). @return the exit code. */
int cmd_identify(int argc, char **argv);

/* `ampload check [options] [FILE...]`. @return the exit code. */
int cmd_check(int argc, char **argv);

/* cmd_report.c: `ampload report merge`. @return the exit code. */
int cmd_report(int argc, char **argv);

/* cmd_export.c: `ampload export`. @return the exit code. */
int cmd_export(int argc, char **argv);

/* ---- metrics.c ------------------------------------------------------------ */

/* What the metrics endpoint shows besides the live counters. */
typedef struct {
    al_live_t *live;
    const char *endpoint; /* the URL events go to */
    const char *state_dir;
    int sending; /* 0 in a dry run */
    double t0;   /* al_mono_s() at the start of the run */
} cli_metrics_opts_t;

typedef struct cli_metrics cli_metrics_t;

/* Serves GET /metrics (Prometheus text format) and GET /status (JSON) on
 * 127.0.0.1:port from a thread of its own until cli_metrics_stop().
 * Port 0 picks a free port. @return the server, or NULL with a message on
 * stderr (port in use). */
cli_metrics_t *cli_metrics_start(unsigned port, const cli_metrics_opts_t *o);

/* @return the port it listens on (the chosen one when started with 0). */
unsigned cli_metrics_port(const cli_metrics_t *m);

/* Marks the run finished (state "done" or "interrupted"), so a last scrape
 * sees the final figures. */
void cli_metrics_finish(cli_metrics_t *m, const char *state);

/* Stops serving and frees. NULL is ignored. */
void cli_metrics_stop(cli_metrics_t *m);

#endif
