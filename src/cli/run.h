/* run.h - the state of one `ampload load` run, apart from its settings.
 *
 * The settings (cli_settings_t) say what was asked; this says what is
 * happening: the state directory (core/statedir.h), the live counters, the
 * stop flag the signal thread sets, the request log.
 *
 * Thread-safety: `live` and `stop` are shared with the pipeline's threads
 * (atomics); `log` belongs to the sender thread during the run; the rest to
 * the main thread.
 */
#ifndef AL_CLI_RUN_H
#define AL_CLI_RUN_H

#include "cli.h"
#include "privfile.h"
#include "reqlog.h"
#include "sources.h"
#include "statedir.h"

#include <stdatomic.h>

typedef struct {
    const cli_settings_t *set;
    al_pipeline_opts_t pipe;  /* the settings' copy, with this run's state and inputs */
    al_sources_t sources;     /* the inputs, zip archives opened up; pipe.paths are their names */
    al_sources_t derived_src; /* identify --from amplitude-export: the derived input (derive.c) */
    al_part_t *parts;         /* --shard by input: this copy's part of each input */
    al_send_opts_t send;
    al_live_t live;
    atomic_int stop;
    al_state_t *state;      /* the state directory, ours (locked) once taken */
    int from_stream;        /* an input is '-' or a pipe: nothing can be resumed */
    uint64_t failed_total;  /* events in the failed file after the run, any run's */
    uint64_t held_total;    /* identify: identifications in the held file, any run's */
    const char *derived[1]; /* identify --from amplitude-export: the run's one input */
    cli_reqlog_t log;
    const al_input_t *inputs; /* what happened to each input, once the run is over */
} cli_run_t;

/* state.c: before anything in the state directory is touched - lays it
 * out (r->state), refuses inputs given twice or that the run would
 * overwrite, creates the directory, takes it (al_state_take: the lock,
 * held until al_state_free, and recovery). @return 0 or an exit code after
 * a message. */
int cli_take_state_dir(cli_run_t *r);

/* state.c: --report and --audit can be written (their directory exists)
 * and name none of the files the run keeps - a state file, the key file,
 * each other - which writing them would destroy. Call after
 * cli_take_state_dir(), before anything is sent. @return 1, or 0 after
 * saying why. */
int cli_outputs_ok(const cli_run_t *r);

/* inputs.c: opens zip archives up into their members (r->sources), which
 * from then on are the run's inputs. @return 0 or an exit code after a
 * message. */
int cli_expand_inputs(cli_run_t *r);

/* derive.c: for `identify --from amplitude-export`, derives one
 * identification per user from the export rows into the state directory
 * (or keeps the file a resumed run derived from the same inputs) and makes
 * it the run's one input. @return 0 or an exit code after a message. */
int cli_derive_users(cli_run_t *r);

/* inputs.c: --shard I/N by input: plans this copy's part of the inputs
 * (core/shard.h); by device, only names the shard for the checkpoint.
 * @return 0 or an exit code after a message. */
int cli_plan_shard(cli_run_t *r);

/* state.c: decides between a fresh start and a resume (al_state_resume:
 * the record files rolled back to the checkpoint, identify's journal read
 * past it) and says which. @return 0 or an exit code after a message. */
int cli_prepare_resume(cli_run_t *r);

/* signals.c: from now on SIGINT, SIGTERM and SIGHUP are taken by a thread
 * of their own: the first sets r->stop (drain, checkpoint), the second ends
 * the process at once. Call before starting any other thread. */
void cli_signals_start(cli_run_t *r);

/* report.c: what to tell a user whose run stopped before the end. */
const char *cli_resume_hint(const cli_run_t *r);

/* report.c: the summary table (stderr), undelivered events (even with -q),
 * and the JSON report (--report). cli_write_report @return 0 or -1. */
void cli_print_summary(const cli_run_t *r, const al_stats_t *s, double elapsed);
void cli_print_failed(const cli_run_t *r, const al_stats_t *s);
int cli_write_report(const cli_run_t *r, const al_stats_t *s, const al_input_t *inputs,
                     double elapsed);

#endif
