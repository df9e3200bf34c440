/* statedir.h - the state directory as one object: its layout, its lock,
 * crash recovery and the decision between a fresh start and a resume.
 *
 * A state directory holds what makes a run resumable and exactly-once: the
 * checkpoint, the reject file, the failed file and its index, and for
 * identify the journal and the held file of identifications in doubt. Every
 * file name in it is spelled once, in statedir.c's layout table; the rest
 * of ampload asks this object for a path (al_state_path) and for the role
 * of a file in messages (al_state_role). A new file is one more row there.
 *
 * The order of a run's start is policy, and lives here:
 *   al_state_take    lock (one owner), then finish or discard a rollback a
 *                    crash interrupted (al_ckpt_recover)
 *   al_state_resume  read the checkpoint for these inputs (a changed input
 *                    or another shard's checkpoint is refused), roll the
 *                    record files back to it, then read the journal past
 *                    it (identify)
 * and nothing in the directory is read or written before the lock is held.
 * The identity of each input (fileid.h: a file's fingerprint) is recorded
 * and matched by the checkpoint module this object drives.
 *
 * The same layout serves an export's output directory (AL_STATE_LOCK,
 * AL_STATE_MANIFEST, AL_STATE_PART): one owner at a time there too.
 *
 * Thread-safety: set up and resumed by one thread before a run; during the
 * run the pipeline's threads only read it (paths, marks, journal set).
 */
#ifndef AL_STATEDIR_H
#define AL_STATEDIR_H

#include "checkpoint.h"
#include "error.h"
#include "journal.h"

#include <stdint.h>

/* The files of a state directory (and of an export's directory). */
typedef enum {
    AL_STATE_REJECT,         /* lines refused, with the reason (deadletter.h) */
    AL_STATE_FAILED,         /* events that could not be delivered, as sent */
    AL_STATE_FAILED_INDEX,   /* the failed file's origins */
    AL_STATE_CHECKPOINT,     /* where a resume starts (checkpoint.h) */
    AL_STATE_LOCK,           /* the owner's lock (privfile.h) */
    AL_STATE_JOURNAL,        /* identify: what was sent and acknowledged */
    AL_STATE_HELD,           /* identify: identifications in doubt */
    AL_STATE_HELD_INDEX,     /* their origins */
    AL_STATE_DERIVED,        /* identify --from amplitude-export: the identifications */
    AL_STATE_DERIVED_INPUTS, /* the export files they were derived from */
    AL_STATE_PROBE,          /* `check`: written, synced and removed */
    AL_STATE_MANIFEST,       /* an export's directory: what was downloaded */
    AL_STATE_PART,           /* an export's directory: the download under way */
    AL_STATE_NFILES
} al_state_file_t;

/* The files every run writes and keeps, which an input or an output of
 * the run (--report, --audit) must never be: AL_STATE_REJECT up to and
 * with AL_STATE_HELD_INDEX. (The derived identifications are the input of
 * the run that derives them.) */
#define AL_STATE_KEPT (AL_STATE_HELD_INDEX + 1)

typedef struct al_state al_state_t;

/* How a run uses the directory, for al_state_resume. */
typedef struct {
    /* the inputs: names, and the files holding them (NULL = names), as for
     * al_ckpt_load; n of each */
    const char *const *names;
    const char *const *files;
    uint32_t n;
    const char *shard; /* the run's "I/N" (--shard), or NULL */
    int stream;        /* an input is a stream: nothing can be resumed */
    int restart;       /* --restart: forget the checkpoint and the journal */
    int identify;      /* the journal is kept and read */
} al_resume_opts_t;

/* The file name (no directory) of f. Thread-safety: any thread. */
const char *al_state_name(al_state_file_t f);

/* What f is, for messages ("reject file"). Thread-safety: any thread. */
const char *al_state_role(al_state_file_t f);

/* Lays out the state directory dir (borrowed; must outlive the object).
 * Nothing is touched. @return AL_ERR_OK and *out (free with al_state_free);
 * STATE_DIR when dir is too long for its file names; NOMEM. */
al_err_t al_state_new(const char *dir, al_state_t **out, al_diag_t *diag);

/* Releases the lock (if held) and frees everything. NULL is ignored. */
void al_state_free(al_state_t *st);

/* The directory, and the full path of its file f. Thread-safety: any. */
const char *al_state_dir(const al_state_t *st);
const char *al_state_path(const al_state_t *st, al_state_file_t f);

/* The paths and roles of the files a run keeps (AL_STATE_KEPT of each,
 * into paths[] and roles[]), for al_pipeline_check_paths and for checking
 * --report and --audit. @return AL_STATE_KEPT. */
uint32_t al_state_kept(const al_state_t *st, const char **paths, const char **roles);

/* Takes the directory's lock (which must exist), without waiting; held
 * until al_state_free. Nothing else is read or written.
 * @return AL_ERR_OK; LOCKED (diag's detail names the holder); STATE_DIR. */
al_err_t al_state_lock(al_state_t *st, al_diag_t *diag);

/* al_state_lock, then finishes a rollback a crash interrupted or removes
 * its leftovers: what every run does before it reads anything here.
 * @return AL_ERR_OK, or the error of either step. */
al_err_t al_state_take(al_state_t *st, al_diag_t *diag);

/* Writes, syncs and removes AL_STATE_PROBE: the directory can hold the
 * run's files. Call with the lock held. @return AL_ERR_OK, or WRITE with
 * errno in diag. */
al_err_t al_state_probe(const al_state_t *st, al_diag_t *diag);

/* Reads the checkpoint for these inputs into marks[o->n] without changing
 * anything: `check` uses it to say what a run would do.
 * @return as al_ckpt_load: OK, NOT_FOUND, CHECKPOINT_MISMATCH, _CORRUPT. */
al_err_t al_state_read_marks(const al_state_t *st, const al_resume_opts_t *o, al_mark_t *marks,
                             al_diag_t *diag);

/* Decides between a fresh start and a resume, after al_state_take:
 * - a stream: no checkpoint is kept (al_state_checkpointing() is 0);
 * - restart: the checkpoint and the journal are removed; a fresh start;
 * - no checkpoint: a fresh start (identify still reads the journal: a run
 *   killed before its first checkpoint may have had identifications
 *   acknowledged or in flight);
 * - else the marks are read (a changed input, another shard's checkpoint
 *   or a corrupt one is refused), the reject, failed and held files rolled
 *   back to them, and (identify) the journal past them read.
 * o is copied; its arrays must outlive the object.
 * @return AL_ERR_OK; INVALID_ARG when the lock is not held (al_state_take
 * first); CHECKPOINT_MISMATCH, CHECKPOINT_CORRUPT, JOURNAL_CORRUPT (diag
 * says which); IO, WRITE or NOMEM. *in_checkpoint
 * (may be NULL) is set to 1 when the error is the checkpoint's own (it
 * cannot be read or does not fit these inputs: the user's to decide),
 * 0 when a later step failed. */
al_err_t al_state_resume(al_state_t *st, const al_resume_opts_t *o, int *in_checkpoint,
                         al_diag_t *diag);

/* After al_state_resume: */
/* the run keeps a checkpoint (and, identify, a journal): 0 for a stream,
 * and before al_state_resume (a dry run) */
int al_state_checkpointing(const al_state_t *st);
/* it resumes: the record files are appended to, the inputs start at the
 * marks */
int al_state_resumed(const al_state_t *st);
/* per input where it starts (NULL for a fresh start) */
const al_mark_t *al_state_marks(const al_state_t *st);
/* lines below the marks: done by earlier runs */
uint64_t al_state_lines_done(const al_state_t *st);
/* identify: what the journal knows past the marks, or NULL */
const al_jset_t *al_state_journal(const al_state_t *st);

#endif
