/* checkpoint.h - where a run can resume: per input, the byte offset below
 * which every line is resolved.
 *
 * Lines resolve out of order - batches finish in any order, retries take
 * minutes - so the resume point is a low-water mark. Each chunk the reader
 * hands out gets a track: a counter of what is still open in it (one hold
 * while a parser works on the chunk, plus one per event handed to the
 * sender). Parsers and the sender only ever add to and subtract from that
 * counter; the checkpointer walks each input's tracks in file order and
 * moves the mark past every leading track that reached zero.
 *
 * A line counts as resolved only once its outcome is durable: acknowledged
 * by the server, or its record appended to the reject or failed file. So the
 * records of lines below the mark are always in those files, and records of
 * lines at or past the mark may or may not be; al_ckpt_rollback() removes the
 * latter before a resume processes those lines again, so each line lands in
 * those files exactly once.
 *
 * The checkpoint file is JSON, replaced atomically (temp file, fsync,
 * rename, fsync of the directory): a crash leaves the old one or the new one,
 * never a torn one. It records each input's identity (path, size, mtime and
 * hashes of its first and last 64 KiB) so a changed input is refused.
 *
 * Thread-safety: al_track_* from any thread. al_ckpt_track/input_done from
 * the reader thread, al_ckpt_save from one thread at a time; they share a
 * lock. Load and rollback before the run starts.
 */
#ifndef AL_CHECKPOINT_H
#define AL_CHECKPOINT_H

#include "deadletter.h"
#include "error.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct al_track {
    struct al_track *next;   /* next chunk of the same input (checkpoint's list) */
    _Atomic int64_t pending; /* hold while parsing + events not yet resolved */
    _Atomic int64_t acked;   /* events of the chunk the server acknowledged */
    uint64_t end;            /* input offset just past the chunk */
    uint64_t next_line;      /* number of the first line after the chunk */
    uint32_t file_id;
} al_track_t;

/* Where an input resumes. line is the number of the first line to read. */
typedef struct {
    uint64_t offset;
    uint64_t line;
    int done; /* the whole input is resolved */
    /* Events at or past the mark that the server had already acknowledged
     * (chunks resolved out of order): a resume sends them again - with the
     * same insert_ids, so Amplitude keeps one copy - and reports how many,
     * so the runs' totals add up. */
    uint64_t acked_past;
} al_mark_t;

typedef struct al_ckpt al_ckpt_t;

/* @return a track for one chunk ending at `end`, holding 1 (the parse). */
al_track_t *al_track_new(uint32_t file_id, uint64_t end, uint64_t next_line);

/* n more events of the track are in flight. Any thread. */
void al_track_add(al_track_t *t, int64_t n);

/* n events (or the parse hold) of the track are resolved. Any thread. After
 * the count reaches zero the checkpointer may free the track. */
void al_track_resolve(al_track_t *t, int64_t n);

/* n events of the track were acknowledged; call before resolving them.
 * Any thread. */
void al_track_acked(al_track_t *t, int64_t n);

/* Starts checkpointing the given inputs into path. paths name the inputs;
 * files (NULL = paths) are the files holding them, whose identity is taken
 * (a zip member's is its archive's, shared by consecutive members). shard is the run's
 * "I/N" (--shard), or NULL; it is recorded, since a mark covers only that
 * shard's lines. start (may be NULL) is where each input resumes.
 * @return AL_ERR_OK, NOMEM or IO (identity). */
al_err_t al_ckpt_new(al_ckpt_t **out, const char *path, const char *const *paths,
                     const char *const *files, uint32_t n, const char *shard,
                     const al_mark_t *start, al_diag_t *diag);

/* Appends the next track of its input. Tracks of one input come in order. */
void al_ckpt_track(al_ckpt_t *ck, al_track_t *t);

/* The reader reached the end of input file_id (at `end`, next line `line`). */
void al_ckpt_input_done(al_ckpt_t *ck, uint32_t file_id, uint64_t end, uint64_t line);

/* Advances the marks, makes the nfiles record files durable (the reject,
 * failed and held files; entries may be NULL), and replaces the checkpoint
 * file. @return AL_ERR_OK or WRITE. */
al_err_t al_ckpt_save(al_ckpt_t *ck, al_deadletter_t *const *files, uint32_t nfiles,
                      al_diag_t *diag);

/* Copies the current marks into marks[n]. */
void al_ckpt_marks(al_ckpt_t *ck, al_mark_t *marks);

/* Events of each input acknowledged since al_ckpt_new() (al_track_acked),
 * into acked[n]. */
void al_ckpt_acked(al_ckpt_t *ck, uint64_t *acked);

/* Frees the checkpointer and any tracks it still holds. NULL is ignored. */
void al_ckpt_free(al_ckpt_t *ck);

/* Reads the checkpoint at path for these inputs (paths and files as for
 * al_ckpt_new) and shard ("I/N" or NULL).
 * @return AL_ERR_OK with marks filled; NOT_FOUND when there is none;
 * CHECKPOINT_MISMATCH when it belongs to other inputs or another shard, or
 * an input changed (diag names the input and what changed); CHECKPOINT_CORRUPT. */
al_err_t al_ckpt_load(const char *path, const char *const *paths, const char *const *files,
                      uint32_t n, const char *shard, al_mark_t *marks, al_diag_t *diag);

/* The record files of a state directory (any may be NULL): the reject
 * file, the failed file and its origins index, and the held file of
 * identifications in doubt (send.h) and its index. */
typedef struct {
    const char *reject, *failed, *failed_index, *held, *held_index;
} al_state_files_t;

/* Before a resume: removes from the reject file the records of lines at or
 * past each input's mark, and likewise from the failed and held files and
 * their origins indexes, as one step: a crash at any point leaves either
 * all the old files or all the new ones (finished by al_ckpt_recover at the
 * next start). The commit marker is <ckpt_path>.rollback. Missing files are
 * fine. The caller holds the state directory's lock.
 * @return AL_ERR_OK, IO or WRITE. */
al_err_t al_ckpt_rollback(const char *ckpt_path, const al_state_files_t *files,
                          const char *const *paths, uint32_t n, const al_mark_t *marks,
                          al_diag_t *diag);

/* At every start, before anything reads or writes the state files: finishes
 * a rollback that a crash interrupted after its commit marker, or removes
 * the leftovers of one interrupted before it. The caller holds the lock.
 * @return AL_ERR_OK or WRITE. */
al_err_t al_ckpt_recover(const char *ckpt_path, const al_state_files_t *files, al_diag_t *diag);

#endif
