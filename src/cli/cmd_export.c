/* cmd_export.c - `ampload export`: a range of Amplitude's Export API into a
 * directory of zstd files and a manifest (core/export_job.h does the work).
 *
 * Its options are its own (a different job from a load: a range, an output
 * directory, two keys): the export's rows of options.c's table. The keys come from files or the
 * environment only, never the command line, and are never printed: curl sends them as Basic auth.
 */
#include "cli.h"

#include "export_job.h"
#include "reader.h"
#include "privfile.h"
#include "statedir.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define US_EXPORT "https://amplitude.com/api/2/export"
#define EU_EXPORT "https://analytics.eu.amplitude.com/api/2/export"

typedef cli_export_args_t export_args_t;

static int export_usage_error(const char *fmt, const char *a)
{
    return cli_opt_error(cli_options(), CLI_CMD_EXPORT, fmt, a);
}

/* @return -1 to go on, or an exit code. */
static int parse_export(export_args_t *a, int argc, char **argv)
{
    int first = argc, rc = cli_opt_parse(cli_options(), CLI_CMD_EXPORT, a, argc, argv, &first);
    if (rc == CLI_HELP) {
        cli_help(stdout, CLI_MODE_EXPORT);
        return EXIT_OK;
    }
    if (rc != 0)
        return rc;
    if (first < argc)
        return export_usage_error("unexpected argument '%s' (export reads no files)", argv[first]);
    if (a->start == NULL || a->end == NULL || a->out_dir == NULL)
        return export_usage_error("%s", "--start, --end and -o DIR are required");
    return -1;
}

/* ---- what the user sees --------------------------------------------------- */

typedef struct {
    const export_args_t *a;
    const al_export_stats_t *st;
    uint64_t bytes; /* of the download under way */
    FILE *audit;    /* --audit, or NULL */
    int over_4gb;   /* an hour failed as over the Export API's 4 GB */
} view_t;

static void window_text(const al_exp_event_t *e, char *out)
{
    char a[12], b[12];
    al_export_hour_text(e->start, a);
    al_export_hour_text(e->end, b);
    snprintf(out, 32, "%s-%s", a, b);
}

static void on_event(void *ctx, const al_exp_event_t *e)
{
    view_t *v = ctx;
    char w[32];
    if (e->kind == AL_EXP_PROGRESS) {
        v->bytes = e->bytes;
        if (!v->a->quiet && isatty(2))
            fprintf(stderr, "\r  window %" PRIu64 " of %" PRIu64 ": %.1f MB downloaded   ",
                    v->st->window, v->st->windows, (double)e->bytes / 1e6);
        return;
    }
    window_text(e, w);
    if (!v->a->quiet && isatty(2) && v->bytes > 0)
        fprintf(stderr, "\r%40s\r", "");
    v->bytes = 0;
    switch (e->kind) {
    case AL_EXP_REQUEST:
        if (v->audit != NULL) {
            fprintf(
                v->audit,
                "{\"time\":%lld,\"window\":\"%s\",\"attempt\":%u,\"status\":%ld,\"bytes\":%" PRIu64
                ",\"ms\":%" PRIu64 "}\n",
                (long long)time(NULL), w, e->attempt, e->status, e->bytes, e->ms);
            fflush(v->audit);
        }
        if (v->a->verbose) {
            char answer[32] = "no answer";
            if (e->status != 0)
                snprintf(answer, sizeof(answer), "HTTP %ld", e->status);
            fprintf(stderr,
                    "ampload export: %s attempt %u: %s, %" PRIu64 " bytes, %" PRIu64 " ms%s%s\n", w,
                    e->attempt, answer, e->bytes, e->ms, e->detail ? ": " : "",
                    e->detail ? e->detail : "");
        }
        break;
    case AL_EXP_RETRY:
        /* a failure to be retried: say why, so that no wait is silent */
        if (!v->a->quiet)
            fprintf(stderr, "ampload export: %s attempt %u failed: %s\n", w, e->attempt,
                    e->detail != NULL && e->detail[0] != '\0' ? e->detail : "no answer");
        break;
    case AL_EXP_WINDOW_DONE:
        if (!v->a->quiet)
            fprintf(stderr,
                    "ampload export: %s: %" PRIu64 " rows, %.1f MB (window %" PRIu64 " of %" PRIu64
                    ", hours done %" PRIu64 " of %" PRIu64 ")\n",
                    w, e->rows, (double)e->bytes / 1e6, v->st->window, v->st->windows,
                    v->st->hours_done, v->st->hours);
        break;
    case AL_EXP_WINDOW_EMPTY:
        if (!v->a->quiet)
            fprintf(stderr,
                    "ampload export: %s: empty (404) (window %" PRIu64 " of %" PRIu64
                    ", hours done %" PRIu64 " of %" PRIu64 ")\n",
                    w, v->st->window, v->st->windows, v->st->hours_done, v->st->hours);
        break;
    case AL_EXP_WINDOW_SKIP:
        if (v->a->verbose)
            fprintf(stderr, "ampload export: %s: done before\n", w);
        break;
    case AL_EXP_WINDOW_SPLIT:
        if (!v->a->quiet)
            fprintf(stderr, "ampload export: %s: HTTP %ld (%s): halved\n", w, e->status,
                    e->status == 400 ? "over 4 GB" : "too slow");
        break;
    case AL_EXP_WINDOW_FAILED:
        fprintf(stderr, "ampload export: %s failed: %s\n", w, e->detail);
        v->over_4gb |= e->detail != NULL && strstr(e->detail, "4 GB") != NULL;
        break;
    default:
        break;
    }
}

static atomic_int stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop, 1);
}

/* The errors that stop an export, in its own words: its output directory
 * is -o DIR, not a state directory. @return the exit code. */
static int export_error(const export_args_t *a, al_err_t err, const al_diag_t *d)
{
    char msg[1024];
    switch (err) {
    case AL_ERR_UNREACHABLE:
        /* never connected since the start: the detail says why */
        fprintf(stderr, "ampload export: %s\n", d->detail);
        fprintf(stderr,
                "  hint: check the URL %s (from %s), the network, a proxy or firewall; "
                "the export stops when no connection could be made for 30 s\n",
                a->url, a->url_source);
        return EXIT_CONFIG;
    case AL_ERR_CONFIG:
        /* 401/403: the detail says which */
        fprintf(stderr, "ampload export: %s\n", d->detail);
        fprintf(stderr,
                "  hint: check the API key, the secret key and the region; the URL is %s "
                "(from %s)\n",
                a->url, a->url_source);
        return EXIT_CONFIG;
    case AL_ERR_WRITE:
        fprintf(stderr,
                "ampload export: cannot write %s: %s\n  hint: free space in %s (or fix its "
                "permissions), then run the same command again to resume\n",
                d->path, strerror(d->sys_errno ? d->sys_errno : EIO), a->out_dir);
        return EXIT_INTERNAL;
    case AL_ERR_INVALID_ARG:
        fprintf(stderr,
                "ampload export: %s: %s\n  hint: give this project's export another output "
                "directory (-o DIR)\n",
                d->path, d->detail);
        return EXIT_USAGE;
    case AL_ERR_LOCKED:
        fprintf(stderr,
                "ampload export: %s is in use by another export%s%s%s\n  hint: wait for that "
                "export to end, or give this one another output directory (-o DIR)\n",
                a->out_dir, d->detail[0] ? " (" : "", d->detail, d->detail[0] ? ")" : "");
        return EXIT_USAGE;
    default:
        al_diag_format(err, d, msg, sizeof(msg));
        fprintf(stderr, "ampload export: %s\n", msg);
        if (al_errhint(err)[0] != '\0')
            fprintf(stderr, "  hint: %s\n", al_errhint(err));
        return cli_exit_code(err);
    }
}

static int summary(const view_t *v, const al_export_stats_t *st, al_err_t err, const al_diag_t *d)
{
    const export_args_t *a = v->a;
    if (err == AL_ERR_INTERRUPTED) {
        fprintf(stderr, "ampload export: interrupted\n  hint: run the same command again to "
                        "resume\n");
        return EXIT_INTERRUPTED;
    }
    if (err != AL_ERR_OK)
        return export_error(a, err, d);
    if (!a->quiet)
        fprintf(stderr,
                "ampload export: %" PRIu64 " windows: %" PRIu64 " done, %" PRIu64 " empty, %" PRIu64
                " done before, %" PRIu64 " failed (%" PRIu64 " halvings); %" PRIu64
                " rows, %.1f MB downloaded, %.1f MB written to %s\n",
                st->windows, st->done, st->empty, st->skipped, st->failed, st->splits, st->rows,
                (double)st->bytes_in / 1e6, (double)st->bytes_out / 1e6, a->out_dir);
    if (st->failed > 0) {
        fprintf(stderr, "  hint: run the same command again to retry them%s\n",
                v->over_4gb ? "; an hour over 4 GB needs Amplitude's S3 export (Amazon S3 "
                              "destination)"
                            : "");
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
    static char key[1024], secret[1024];
    /* the API may build a large export for minutes before its first byte */
    export_args_t a = {.window_hours = 24, .retry_time = 600, .timeout = 900};
    al_export_opts_t o = {0};
    al_export_stats_t st;
    al_state_t *dir = NULL; /* the output directory: its lock and files */
    view_t view = {&a, &st, 0, NULL, 0};
    const cli_api_urls_t api = {US_EXPORT, EU_EXPORT, "api/2/export"};
    struct sigaction sa;
    al_diag_t d;
    al_err_t err;
    int rc = parse_export(&a, argc, argv);

    if (rc >= 0)
        return rc;
    rc = cli_resolve_url(a.url, sizeof(a.url), a.endpoint, a.region, &api, a.quiet, &a.url_source);
    if (rc != 0)
        return rc;
    if (!al_export_parse_hour(a.start, &o.start) || !al_export_parse_hour(a.end, &o.end))
        return export_usage_error("%s", "--start and --end are hours as YYYYMMDDTHH (UTC), "
                                        "e.g. 20260101T00");
    if (o.end < o.start)
        return export_usage_error("--end %s is before --start", a.end);
    if (o.end - o.start + 1 > 365 * 24)
        return export_usage_error("%s", "the range is over 365 days, the Export API's limit");
    rc = cli_read_secret("--api-key-file", a.api_key_file, "AMPLITUDE_API_KEY", key, sizeof(key));
    if (rc == 0)
        rc = cli_read_secret("--secret-key-file", a.secret_key_file, "AMPLITUDE_SECRET_KEY", secret,
                             sizeof(secret));
    if (rc != 0)
        return rc;
    if (key[0] == '\0' || secret[0] == '\0') {
        fprintf(stderr,
                "ampload export: no %s\n  hint: set AMPLITUDE_API_KEY and "
                "AMPLITUDE_SECRET_KEY, or give --api-key-file and --secret-key-file\n",
                key[0] == '\0' ? "API key" : "secret key");
        return EXIT_CONFIG;
    }
    if (cli_make_dirs(a.out_dir, NULL) != 0) {
        fprintf(stderr, "ampload export: cannot create %s: %s\n", a.out_dir, strerror(errno));
        return EXIT_INTERNAL;
    }
    err = al_state_new(a.out_dir, &dir, &d);
    if (err == AL_ERR_OK)
        err = al_state_lock(dir, &d);
    if (err != AL_ERR_OK) {
        al_state_free(dir);
        return export_error(&a, err, &d);
    }
    if (a.audit_path != NULL && (view.audit = al_fopen_private(a.audit_path, 1)) == NULL) {
        fprintf(stderr, "ampload export: --audit %s: %s\n", a.audit_path, strerror(errno));
        al_state_free(dir);
        return EXIT_USAGE;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    o.url = a.url;
    o.api_key = key;
    o.secret_key = secret;
    o.out_dir = a.out_dir;
    o.window_hours = (uint32_t)a.window_hours;
    o.connect_timeout_ms = 10000;
    o.stall_timeout_s = (long)a.timeout;
    o.retry_time_s = (uint32_t)a.retry_time;
    o.insecure = a.insecure;
    o.ca_file = a.ca_file;
    o.stop = &stop;
    o.on_event = on_event;
    o.ctx = &view;
    err = al_export_run(&o, &st, &d);
    rc = summary(&view, &st, err, &d);
    if (view.audit != NULL && fclose(view.audit) != 0)
        fprintf(stderr, "ampload export: --audit %s: write error\n", a.audit_path);
    al_state_free(dir);
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(key, sizeof(key));
    return rc;
}

int cli_export_file_msg(const char *const *paths, uint32_t n, char *msg, size_t cap)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *what = al_export_own_file(paths[i]);
        const char *slash = strrchr(paths[i], '/');
        int dir = slash != NULL ? (int)(slash - paths[i]) + 1 : 0;
        if (what == NULL)
            continue;
        snprintf(msg, cap, "%.1024s is %s, not rows: leave it out, e.g. %.*s*.ndjson.zst", paths[i],
                 what, dir > 1024 ? 1024 : dir, paths[i]);
        return 1;
    }
    return 0;
}

int cli_same_project_msg(const char *const *paths, uint32_t n, const char *key, char *msg,
                         size_t cap)
{
    char manifest[4096];
    al_diag_t d;
    if (key == NULL || key[0] == '\0')
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (al_input_is_stream(paths[i]) ||
            !al_export_same_project(paths[i], key, manifest, sizeof(manifest)))
            continue;
        al_diag_set(&d, paths[i], 0);
        snprintf(d.detail, sizeof(d.detail), "%.200s records this API key's project", manifest);
        al_diag_format(AL_ERR_SAME_PROJECT, &d, msg, cap);
        return 1;
    }
    return 0;
}

int cli_refuse_export_inputs(const cli_settings_t *s)
{
    char msg[2200];
    if (!s->edits.from_export)
        return 0;
    if (!s->allow_same_project && cli_same_project_msg(s->pipe.paths, s->pipe.npaths,
                                                       s->pipe.batch.api_key, msg, sizeof(msg))) {
        fprintf(stderr, "ampload: %s\n  hint: %s\n", msg, al_errhint(AL_ERR_SAME_PROJECT));
        return cli_exit_code(AL_ERR_SAME_PROJECT);
    }
    if (cli_export_file_msg(s->pipe.paths, s->pipe.npaths, msg, sizeof(msg))) {
        fprintf(stderr, "ampload: %s\n", msg);
        return EXIT_USAGE;
    }
    return 0;
}
