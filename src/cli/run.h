/* run.h - the state of one `ampload load` run, apart from its settings.
 *
 * The settings (cli_settings_t) say what was asked; this says what is
 * happening: the state directory's files and lock, the live counters, the
 * stop flag the signal thread sets, the request log.
 *
 * Thread-safety: `live` and `stop` are shared with the pipeline's threads
 * (atomics); `log` belongs to the sender thread during the run; the rest to
 * the main thread.
 */
#ifndef AL_CLI_RUN_H
#define AL_CLI_RUN_H

#include "checkpoint.h"
#include "journal.h"
#include "sources.h"
#include "statedir.h"
#include "cli.h"
#include "reqlog.h"

#include <stdatomic.h>

typedef struct {
    const cli_settings_t *set;
    al_pipeline_opts_t pipe;  /* the settings' copy, with this run's files */
    al_sources_t sources;     /* the inputs, zip archives opened up; pipe.paths are their names */
    al_sources_t derived_src; /* identify --from amplitude-export: the derived input (derive.c) */
    al_part_t *parts;         /* --shard by input: this copy's part of each input */
    al_send_opts_t send;
    al_live_t live;
    atomic_int stop;
    al_state_lock_t *lock; /* the state directory is ours while this is held */
    al_mark_t *marks;      /* where a resumed run starts, or NULL */
    int resumed;
    int from_stream;       /* an input is '-' or a pipe: nothing can be resumed */
    uint64_t failed_total; /* events in the failed file after the run, any run's */
    uint64_t held_total;   /* identify: identifications in the held file, any run's */
    char reject_buf[PATH_MAX + 32];
    char failed_buf[PATH_MAX + 32];
    char index_buf[PATH_MAX + 32];
    char checkpoint_buf[PATH_MAX + 32];
    char held_buf[PATH_MAX + 32];       /* identify: identifications in doubt */
    char held_index_buf[PATH_MAX + 32]; /* their origins */
    char journal_buf[PATH_MAX + 32];    /* identify: sent and acknowledged */
    al_jset_t *jset;                    /* identify resume: the journal past the marks */
    char derived_buf[PATH_MAX + 32];    /* identify --from amplitude-export: the identifications */
    const char *derived[1];             /* the run's one input then */
    cli_reqlog_t log;
    const al_input_t *inputs; /* what happened to each input, once the run is over */
} cli_run_t;

/* state.c: the record files of the state directory, as the checkpoint
 * rolls them back. */
al_state_files_t cli_state_files(const cli_run_t *r);

/* state.c: before anything in the state directory is touched - refuses
 * inputs given twice or that the run would overwrite, creates the directory,
 * takes its lock (held until the process ends) and finishes or discards a
 * rollback a crash interrupted. Fills the file names. @return 0 or an exit
 * code after a message. */
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

/* state.c: decides between a fresh start and a resume, and rolls the reject,
 * failed and held files back to the checkpoint (and, for identify, reads
 * the journal past it). @return 0 or an exit code. */
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
