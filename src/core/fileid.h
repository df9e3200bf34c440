/* fileid.h - the fingerprint of an input file: what says a file is the same
 * file.
 *
 * Two modules read it: the checkpoint, which refuses to resume an input
 * that changed, and insertid, which seeds each input's insert_ids with it
 * (less the time, so a copy of the file is the same input). It sits in the
 * input layer, below both (docs/DESIGN.md, "Layers").
 *
 * Thread-safety: any thread; no shared state.
 */
#ifndef AL_FILEID_H
#define AL_FILEID_H

#include "error.h"

#include <stdint.h>

/* A file's size, modification time and the XXH3-64 of its first and last
 * 64 KiB (reads 128 KiB at most). */
typedef struct {
    int regular; /* a regular file; else (a FIFO, a device) the rest is 0 */
    uint64_t size;
    int64_t mtime_ns;
    uint64_t head, tail;
} al_file_identity_t;

/* Takes the identity of the file at path; a FIFO is opened without waiting
 * for a writer and gets regular = 0. An object URL (s3.h) has the identity
 * its listing noted: its size, the hash of its ETag as head, of its URL as
 * tail, no time. Thread-safety: any thread.
 * @return AL_ERR_OK, or IO (diag names the file and carries errno; for an
 * object never noted, says so). */
al_err_t al_file_identity(const char *path, al_file_identity_t *id, al_diag_t *diag);

/* Notes what a listing says of an object (its URL, size and ETag), for
 * al_file_identity. Kept for the life of the process. Thread-safety: any
 * thread. @return AL_ERR_OK or NOMEM. */
al_err_t al_file_identity_note(const char *url, uint64_t size, const char *etag);

#endif
