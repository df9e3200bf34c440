/* deadletter.h - the reject file: every line the loader refuses, with why.
 *
 * One JSON object per line:
 *   {"file":"in.ndjson","line":12,"offset":3456,"reason":"missing event_type","raw":"..."}
 * "line" is null (al_reject_t.line 0) when the run read only a byte range
 * of the input starting past its first line (shard.h): the offset is true.
 * "raw" is the original line (line ending removed), JSON-escaped, so the file
 * is itself valid NDJSON and a fixed line can be cut out and re-loaded. Lines
 * that are not valid UTF-8 cannot be held in a JSON string losslessly; they
 * carry "raw_base64" instead. A line too long to be held in memory carries its
 * first bytes, "length" (the full length) and "truncated":true.
 *
 * The failed file (valid events that could not be delivered) uses the same
 * machinery in AL_DL_RAW format: each record is just the event's original
 * line, so `ampload <state>/failed.ndjson` sends them again.
 *
 * Each thread writes through its own al_dl_writer_t, which gathers records in
 * a private buffer and appends it to the file under a lock when it fills, so
 * records are never interleaved and the lock is taken rarely.
 *
 * Thread-safety: al_deadletter_t is shared by all writers; each writer belongs
 * to one thread. Open/close on the owner thread, with no writer active.
 */
#ifndef AL_DEADLETTER_H
#define AL_DEADLETTER_H

#include "error.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct al_deadletter al_deadletter_t;

typedef struct {
    al_deadletter_t *dl; /* borrowed */
    char *buf;
    size_t len, cap;
    char *ibuf; /* origins index lines (failed file only) */
    size_t ilen, icap;
    /* The first failure (a record not gathered, or records gathered and not
     * appended): every later write and commit returns it, so that no record
     * after a lost one is taken for written, and its event resolved. */
    al_err_t err;
} al_dl_writer_t;

/* What one rejected line was and why. Pointers are borrowed for the call. */
typedef struct {
    uint32_t file_id; /* input number (for the failed file's origins index) */
    const char *file; /* input name as given by the user */
    uint64_t line;
    uint64_t offset;
    const char *reason;
    const char *raw; /* the line, or its first part when truncated */
    size_t raw_len;
    uint64_t full_len; /* > raw_len when the line was too long to keep whole */
} al_reject_t;

typedef enum {
    AL_DL_RECORDS, /* reject file: one JSON record per line, as above */
    AL_DL_RAW,     /* failed file: the event line itself, so it can be loaded again */
} al_dl_format_t;

/* Opens the file at path: truncated for a fresh run, or appended to when
 * resuming (append = 1). The file is created lazily: a run that writes
 * nothing leaves no empty file behind. index_path (AL_DL_RAW only, may be
 * NULL) receives one "file_id offset line" line per record, so a resume can
 * tell which input line each failed event came from.
 * @return AL_ERR_OK and *out; errors: NOMEM, WRITE. */
al_err_t al_deadletter_open(al_deadletter_t **out, const char *path, al_dl_format_t format,
                            int append, const char *index_path, al_diag_t *diag);

/* Attaches a per-thread writer to dl. */
void al_dl_writer_init(al_dl_writer_t *w, al_deadletter_t *dl);

/* Records one rejected line. @return AL_ERR_OK, or WRITE/NOMEM (diag filled);
 * after a failure, that failure again (the writer's err). */
al_err_t al_dl_write(al_dl_writer_t *w, const al_reject_t *rec, al_diag_t *diag);

/* Appends what the writer holds to the file and frees its buffer.
 * @return AL_ERR_OK or WRITE. */
al_err_t al_dl_writer_flush(al_dl_writer_t *w, al_diag_t *diag);

/* Appends what the writer holds to the file now, keeping its buffer. Once it
 * returns AL_ERR_OK the records survive the process being killed; it never
 * does after any write or commit of this writer failed.
 * @return AL_ERR_OK or WRITE. */
al_err_t al_dl_writer_commit(al_dl_writer_t *w, al_diag_t *diag);

/* Makes what was appended so far durable (fsync). NULL is ignored.
 * @return AL_ERR_OK or WRITE. */
al_err_t al_deadletter_sync(al_deadletter_t *dl, al_diag_t *diag);

/* Flushes the file to disk and closes it. @return AL_ERR_OK or WRITE. NULL ok. */
al_err_t al_deadletter_close(al_deadletter_t *dl, al_diag_t *diag);

/* ---- reading the files back, for a rollback ------------------------------ */

struct json_t;

/* @return 1 when a record's "key" (or "key_base64", for a name that is not
 * UTF-8) names exactly name, as al_json_name wrote it. */
int al_dl_name_is(const struct json_t *obj, const char *key, const char *name);

/* Which records a rollback keeps: those of the line at byte `offset` of
 * input number `input` (-1: not one of this run's inputs) for which it
 * returns 1. */
typedef int (*al_dl_keep_fn)(void *ctx, long input, uint64_t offset);

/* Copies to out the reject records of in that keep() keeps; inputs names
 * this run's inputs (matched byte for byte). A record torn by a crash ends
 * the copy: its line was never resolved. Write errors show in ferror(out). */
void al_dl_filter_rejects(FILE *in, FILE *out, const char *const *inputs, uint32_t n,
                          al_dl_keep_fn keep, void *ctx);

/* The same for the failed file ev and its origins index ix, read as pairs
 * (a pair torn by a crash ends both), into evo and ixo. */
void al_dl_filter_failed(FILE *ev, FILE *ix, FILE *evo, FILE *ixo, al_dl_keep_fn keep, void *ctx);

#endif
