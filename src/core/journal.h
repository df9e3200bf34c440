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
 * The file is a header and then 16-byte records, each with a check byte.
 * The header says how many bytes of the file were durable at the last
 * fdatasync (rewritten in place after each one, so it never claims more
 * than is durable). Only what lies past that length can have been torn by
 * a crash (kill -9: an incomplete last record; power loss: unsynced pages
 * lost, zeroed or out of order): the first bad record there ends the
 * journal. Nothing there is the SENT of a request that left (a request
 * leaves after the fdatasync that made its SENT durable), and a lost ACKED
 * or CLEAR only puts an identification back in doubt. Anything else —
 * a bad record within the durable length, a file shorter than that length,
 * a file that does not start with a header — is damage that a resume must
 * not guess around (it would resend what was applied): al_jset_load()
 * refuses it and leaves the file as it is. Otherwise al_jset_load()
 * rewrites the file with only the records still needed (past the marks),
 * so it does not grow across resumes; within one run it grows by about 32
 * bytes per identification.
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

/* Opens (creating, mode 0600) the journal at path for appending: a new
 * file, or one al_jset_load() has just rewritten.
 * @return AL_ERR_OK, NOMEM, WRITE, or JOURNAL_CORRUPT when the file is not
 * whole records. */
al_err_t al_journal_open(al_journal_t **out, const char *path, al_diag_t *diag);

/* Notes one record of type for every identification of b (buffered). */
void al_journal_note(al_journal_t *j, char type, const al_batch_t *b);

/* Writes what is buffered; with sync, also makes it durable (fdatasync)
 * and then records the durable length in the header.
 * @return AL_ERR_OK or WRITE. */
al_err_t al_journal_flush(al_journal_t *j, int sync, al_diag_t *diag);

/* Flushes and closes. NULL is ignored. @return AL_ERR_OK or WRITE. */
al_err_t al_journal_close(al_journal_t *j, al_diag_t *diag);

/* What a resume knows about the identifications past the marks. */
typedef struct al_jset al_jset_t;

/* Reads the journal at path, keeping what concerns lines at or past each
 * of the n inputs' marks, and rewrites the file with only that (temp file,
 * fsync, rename). A missing or empty file gives an empty set, unless a
 * mark's acked_past says identifications past it were acknowledged (their
 * durable SENT records are gone: JOURNAL_CORRUPT); a torn tail is dropped.
 * @return AL_ERR_OK with *out set; JOURNAL_CORRUPT (diag: the path, the byte
 * offset of the damage and what it is; the file is left untouched); NOMEM,
 * IO or WRITE. */
al_err_t al_jset_load(const char *path, const al_mark_t *marks, uint32_t n, al_jset_t **out,
                      al_diag_t *diag);

/* @return AL_JOURNAL_ACKED, AL_JOURNAL_SENT (in doubt) or 0 (never sent, or
 * answered without being applied) for the line at offset of input file_id. */
int al_jset_state(const al_jset_t *s, uint32_t file_id, uint64_t offset);

/* @return how many identifications the set knows as acknowledged / in doubt. */
uint64_t al_jset_count(const al_jset_t *s, int state);

void al_jset_free(al_jset_t *s);

#endif
