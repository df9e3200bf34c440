/* journal.h - what was sent to the Identify API and what it acknowledged,
 * so a resume neither resends an acknowledged identification nor resends
 * blindly one whose fate is unknown.
 *
 * Identify has no insert_id: the server deduplicates nothing, so the
 * checkpoint's low-water mark (checkpoint.h) is not enough. Past the mark
 * some identifications were acknowledged (later ones finish before earlier
 * ones) and some were in flight when the run stopped. The sender notes, per
 * identification (its input and byte offset):
 *   SENT   before a request carrying it starts (written and fdatasync'd
 *          before the request can leave: a crash after that may have
 *          applied it);
 *   ACKED  once the server answered 200 "success", before its line counts
 *          as resolved;
 *   CLEAR  when the server answered without applying it (a 4xx) or the
 *          request never left (no connection).
 * Read back in order, each identification past the mark is then
 * acknowledged (skip it), in doubt (SENT last: it may have been applied), or
 * unknown to the journal (never sent).
 *
 * The file is a sequence of 16-byte records with a check byte; a record torn
 * by a crash ends the journal (its request had not started: SENT is written
 * before). al_jset_load() rewrites the file with only the records still
 * needed (past the marks), so it does not grow across resumes; within one
 * run it grows by about 32 bytes per identification.
 *
 * Thread-safety: an al_journal_t belongs to the sender thread. An al_jset_t
 * is read-only once loaded: any thread.
 */
#ifndef AL_JOURNAL_H
#define AL_JOURNAL_H

#include "batch.h"
#include "checkpoint.h"
#include "error.h"

#include <stdint.h>

#define AL_JOURNAL_SENT  'S'
#define AL_JOURNAL_ACKED 'A'
#define AL_JOURNAL_CLEAR 'C'

typedef struct al_journal al_journal_t;

/* Opens (creating, mode 0600) the journal at path for appending.
 * @return AL_ERR_OK, NOMEM or WRITE. */
al_err_t al_journal_open(al_journal_t **out, const char *path, al_diag_t *diag);

/* Notes one record of type for every identification of b (buffered). */
void al_journal_note(al_journal_t *j, char type, const al_batch_t *b);

/* Writes what is buffered; with sync, also makes it durable (fdatasync).
 * @return AL_ERR_OK or WRITE. */
al_err_t al_journal_flush(al_journal_t *j, int sync, al_diag_t *diag);

/* Flushes and closes. NULL is ignored. @return AL_ERR_OK or WRITE. */
al_err_t al_journal_close(al_journal_t *j, al_diag_t *diag);

/* What a resume knows about the identifications past the marks. */
typedef struct al_jset al_jset_t;

/* Reads the journal at path, keeping what concerns lines at or past each
 * of the n inputs' marks, and rewrites the file with only that (temp file,
 * fsync, rename). A missing file gives an empty set.
 * @return AL_ERR_OK with *out set; NOMEM, IO or WRITE. */
al_err_t al_jset_load(const char *path, const al_mark_t *marks, uint32_t n, al_jset_t **out,
                      al_diag_t *diag);

/* @return AL_JOURNAL_ACKED, AL_JOURNAL_SENT (in doubt) or 0 (never sent, or
 * answered without being applied) for the line at offset of input file_id. */
int al_jset_state(const al_jset_t *s, uint32_t file_id, uint64_t offset);

/* @return how many identifications the set knows as acknowledged / in doubt. */
uint64_t al_jset_count(const al_jset_t *s, int state);

void al_jset_free(al_jset_t *s);

#endif
