/* cmd_load.c - `ampload load` (and plain `ampload FILE...`): one run of the
 * pipeline, from the settings to the exit code.
 *
 * The steps, in order: the key; the state directory taken (paths checked,
 * lock, recovery); the resume decision; signals, metrics and the progress
 * line; the run; then the error messages, the failed file's total, the
 * summary and the report. Nothing in the state directory is touched before
 * the lock is held.
 */
#include "progress.h"
#include "run.h"

#include "reader.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Opens the audit file, decides the resume, starts the signal thread: what
 * a run that sends needs besides a dry run. @return 0 or an exit code. */
static int prepare_sending(cli_run_t *r, FILE **audit)
{
    const cli_settings_t *s = r->set;
    r->pipe.send = &r->send;
    r->pipe.stop = &r->stop;
    r->send.stop = &r->stop;
    /* a run with a checkpoint leaves what a configuration error stopped
     * unresolved, for the same command to send after the fix */
    r->send.resumable = !r->from_stream;
    r->send.rate_burst = r->pipe.batch.max_events;
    r->send.on_request = cli_reqlog_on_request;
    r->send.on_request_ctx = &r->log;
    r->log.verbose = s->verbose;
    r->log.url = r->send.url;
    if (s->audit_path != NULL) {
        *audit = al_fopen_private(s->audit_path, 0);
        if (*audit == NULL) {
            fprintf(stderr, "ampload: --audit %s: %s\n", s->audit_path, strerror(errno));
            return EXIT_USAGE;
        }
        r->log.audit = *audit;
    }
    return cli_prepare_resume(r);
}

/* Serves --metrics-port for the run. @return 0 or an exit code. */
static int start_metrics(cli_run_t *r, cli_metrics_t **out)
{
    const cli_settings_t *s = r->set;
    cli_metrics_opts_t mo = {.live = &r->live,
                             .endpoint = s->dry_run ? "" : r->send.url,
                             .state_dir = s->state_dir,
                             .sending = !s->dry_run,
                             .t0 = al_mono_s()};
    *out = NULL;
    if (s->metrics_port < 0)
        return 0;
    *out = cli_metrics_start((unsigned)s->metrics_port, &mo);
    if (*out == NULL)
        return EXIT_USAGE;
    if (!s->quiet || s->metrics_port == 0)
        fprintf(stderr, "ampload: metrics on http://127.0.0.1:%u/metrics and /status\n",
                cli_metrics_port(*out));
    return 0;
}

/* @return 1 when input i was to be read from its first byte: not finished
 * or begun by an earlier run (a resume), and not another shard's. Only then
 * does reading nothing mean the input is empty. */
static int read_from_start(const cli_run_t *r, uint32_t i)
{
    const al_mark_t *marks = al_state_marks(r->state); /* NULL unless resumed */
    if (marks != NULL && (marks[i].done || marks[i].offset > 0))
        return 0;
    return r->parts == NULL || (r->parts[i].take && r->parts[i].start == 0);
}

/* An input of which every line was refused: most likely not events at
 * all (the wrong file, another format), whatever the other inputs did. */
static void print_all_rejected(const cli_run_t *r, const al_input_t *in, const char *name)
{
    al_diag_t d;
    al_diag_set(&d, name, 0);
    snprintf(d.detail, sizeof(d.detail), "%" PRIu64 " line%s; the first, line %" PRIu64 ": %s",
             in->rejected, in->rejected == 1 ? "" : "s", in->first_rejected_line, in->first_reason);
    cli_print_error(AL_ERR_ALL_REJECTED, &d);
    if (r->set->quiet) /* else the summary says where */
        fprintf(stderr, "  rejected lines are in %s\n", al_state_path(r->state, AL_STATE_REJECT));
}

/* The messages of a finished run. @return its exit code. */
static int finish(cli_run_t *r, al_err_t err, const al_diag_t *diag, const al_stats_t *stats,
                  const al_input_t *inputs, double elapsed)
{
    const cli_settings_t *s = r->set;
    int rc = EXIT_OK;

    r->inputs = inputs;
    if (err == AL_ERR_INTERRUPTED) {
        fprintf(stderr, "ampload: interrupted\n  hint: %s\n", cli_resume_hint(r));
        rc = cli_exit_code(err);
    } else if (err != AL_ERR_OK) {
        cli_print_error(err, diag);
        rc = cli_exit_code(err);
        if (err == AL_ERR_CONFIG || err == AL_ERR_UNREACHABLE)
            fprintf(stderr,
                    "  the URL %s is from %s (the rule: --endpoint, else --region, else "
                    "AMPLITUDE_BASE_URL, else the US default)\n",
                    r->send.url, s->url_source);
    }
    for (uint32_t i = 0; i < r->pipe.npaths; i++) {
        if (inputs[i].err != AL_ERR_OK && !(err != AL_ERR_OK && inputs[i].err == err)) {
            cli_print_error(inputs[i].err, &inputs[i].diag);
            if (rc == EXIT_OK)
                rc = cli_exit_code(inputs[i].err);
        } else if (err == AL_ERR_OK && inputs[i].bytes_read == 0 && !s->quiet &&
                   read_from_start(r, i)) {
            fprintf(stderr, "ampload: warning: %s is empty\n", r->pipe.paths[i]);
        } else if (al_input_all_rejected(&inputs[i])) {
            print_all_rejected(r, &inputs[i], r->pipe.paths[i]);
            if (rc == EXIT_OK)
                rc = cli_exit_code(AL_ERR_ALL_REJECTED);
        }
    }
    /* what the failed file holds now: this run's events and any left there
     * by earlier runs of this state directory (below the checkpoint) */
    r->failed_total = s->dry_run ? 0 : cli_count_lines(al_state_path(r->state, AL_STATE_FAILED));
    r->held_total =
        s->dry_run || !s->identify ? 0 : cli_count_lines(al_state_path(r->state, AL_STATE_HELD));
    if (rc == EXIT_OK && (r->failed_total > 0 || r->held_total > 0))
        rc = EXIT_FAILED;
    /* The counts are shown for every run that got as far as the pipeline,
     * even one that read nothing (its inputs done before a resume) */
    if (!s->quiet)
        cli_print_summary(r, stats, elapsed);
    else
        cli_print_failed(r, stats);
    if (s->report_path != NULL && (err == AL_ERR_OK || stats->lines_read > 0) &&
        cli_write_report(r, stats, inputs, elapsed) != 0 && rc == EXIT_OK)
        rc = EXIT_INTERNAL;
    return rc;
}

/* Runs the pipeline with the progress line and metrics around it. */
static int run(cli_run_t *r, FILE *audit)
{
    const cli_settings_t *s = r->set;
    al_input_t *inputs = calloc(r->pipe.npaths, sizeof(*inputs));
    cli_metrics_t *metrics = NULL;
    cli_progress_t progress;
    al_stats_t stats;
    al_diag_t diag;
    al_err_t err;
    double t0, elapsed;
    int show_progress, rc;

    if (inputs == NULL) {
        fprintf(stderr, "ampload: out of memory\n");
        return EXIT_INTERNAL;
    }
    rc = start_metrics(r, &metrics);
    if (rc != 0) {
        free(inputs);
        return rc;
    }
    /* the live line on a terminal (or forced); otherwise a plain status line
     * every 10 s, for logs of long runs in cron or Kubernetes */
    show_progress = !s->dry_run && !s->quiet;
    if (show_progress &&
        cli_progress_start(&progress, &r->live, r->send.url,
                           !(s->progress == 1 || (s->progress == -1 && isatty(2)))) != 0)
        show_progress = 0;
    t0 = al_mono_s();
    r->log.t0 = t0;
    err = al_pipeline_run(&r->pipe, inputs, &stats, &diag);
    elapsed = al_mono_s() - t0;
    cli_metrics_finish(metrics, err == AL_ERR_INTERRUPTED ? "interrupted"
                                : err != AL_ERR_OK        ? "failed"
                                                          : "done");
    if (audit != NULL && fclose(audit) != 0)
        fprintf(stderr, "ampload: --audit %s: write error\n", s->audit_path);
    r->log.audit = NULL;
    cli_reqlog_finish(&r->log);
    if (show_progress)
        cli_progress_stop(&progress);
    rc = finish(r, err, &diag, &stats, inputs, elapsed);
    cli_metrics_stop(metrics);
    free(inputs);
    return rc;
}

/* The run of `load` or `identify` (mode). */
static int load_run(int argc, char **argv, int mode)
{
    static cli_settings_t set; /* large; paths and names in it outlive every thread */
    static cli_run_t r;        /* and its live counters too */
    FILE *audit = NULL;
    int rc;

    if (!cli_settle(&set, argc, argv, mode, &rc))
        return rc;
    if (!set.dry_run && set.pipe.batch.api_key[0] == '\0') {
        fprintf(stderr, "ampload: no API key\n"
                        "  hint: set AMPLITUDE_API_KEY, or put the key in a file for "
                        "--api-key-file (or use --dry-run to only validate)\n");
        return EXIT_CONFIG;
    }
    if ((rc = cli_refuse_export_inputs(&set)) != 0)
        return rc;
    r.set = &set;
    r.pipe = set.pipe;
    r.send = set.send;
    for (uint32_t i = 0; i < r.pipe.npaths; i++)
        if (al_input_is_stream(r.pipe.paths[i]))
            r.from_stream = 1;
    rc = cli_take_state_dir(&r);
    /* after the state directory is made (a report may go inside it) and
     * before anything is sent */
    if (rc == 0 && !cli_outputs_ok(&r))
        rc = EXIT_USAGE;
    if (rc == 0)
        rc = cli_expand_inputs(&r);
    if (rc == 0 && set.users_from_export)
        rc = cli_derive_users(&r);
    if (rc == 0)
        rc = cli_plan_shard(&r);
    if (rc != 0)
        return rc;
    r.pipe.state = r.state;
    r.pipe.live = &r.live;
    if (!set.dry_run) {
        rc = prepare_sending(&r, &audit);
        if (rc != 0)
            return rc;
        cli_signals_start(&r);
    }
    rc = run(&r, audit);
    free(r.parts);
    al_sources_free(&r.derived_src);
    al_sources_free(&r.sources);
    cli_reqlog_free(&r.log);
    al_state_free(r.state);
    return rc;
}

int cmd_load(int argc, char **argv)
{
    return load_run(argc, argv, CLI_MODE_LOAD);
}

int cmd_identify(int argc, char **argv)
{
    return load_run(argc, argv, CLI_MODE_IDENTIFY);
}
