/* batch.h - packs the raw bytes of valid events into /batch request bodies.
 *
 * A body is {"api_key":"K","events":[e1,e2,...],"options":{"min_id_length":N}}
 * where each e is the event's original text, copied once and never
 * re-serialised. For the Identify API (opts.form) the body is the JSON
 * array [e1,e2,...] and what goes on the wire is the form
 * api_key=K&identification=[...], percent-encoded by al_batch_finish(). A batch closes when one
 * more event would break either limit: max_events events, or max_bytes bytes for the whole body,
 * envelope included. An event is never split or dropped to fit: it starts the next batch.
 *
 * For each event the batch keeps where it sits in the body and where it came
 * from, so a later stage can drop, split or report single events.
 *
 * Ownership: a batch owns its body. Handing it to a queue or a sink transfers
 * it; whoever holds it last calls al_batch_free().
 * Thread-safety: a batch belongs to one thread at a time.
 */
#ifndef AL_BATCH_H
#define AL_BATCH_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define AL_MAX_BATCH_EVENTS 2000
#define AL_MAX_BATCH_BYTES  20000000u
/* Below the limit by enough to leave room for later per-event additions
 * (an injected insert_id is under 60 bytes; 2000 of them fit in the margin). */
#define AL_DEFAULT_BATCH_BYTES 19500000u
#define AL_MAX_API_KEY_BYTES   256

typedef struct {
    char api_key[AL_MAX_API_KEY_BYTES + 1]; /* written into every body; may be empty */
    uint32_t max_events;                    /* 1..AL_MAX_BATCH_EVENTS */
    size_t max_bytes;                       /* whole body, envelope included */
    uint32_t min_id_length;                 /* sent as options.min_id_length; 0 = no options */
    int gzip_level; /* 1..9: al_batch_finish() also gzips the body; 0 = off */
    int form;       /* Identify: the body is a JSON array, sent as a form */
} al_batch_opts_t;

/* Where one event of a batch came from. */
struct al_track;

/* al_origin_t.flags */
#define AL_ORIGIN_NON_IDEMPOTENT 1u /* an identification a resend would apply twice */
#define AL_ORIGIN_WAS_SENT       2u /* in flight when an earlier run stopped (journal.h) */

typedef struct {
    uint64_t line;          /* 1-based line number in its input */
    uint64_t offset;        /* byte offset of the line in its input */
    uint64_t uid;           /* al_id_hash() of user_id, 0 if none */
    uint64_t did;           /* al_id_hash() of device_id, 0 if none */
    struct al_track *track; /* the chunk's resolution counter, or NULL */
    uint32_t file_id;
    uint32_t flags; /* AL_ORIGIN_* */
} al_origin_t;

/* An edit to make while copying an event: bytes [at, at+cut) are replaced by
 * text[0..text_len). */
typedef struct {
    size_t at;
    size_t cut;
    const char *text;
    size_t text_len;
} al_inject_t;

typedef struct {
    char *body;
    size_t len; /* bytes used in body */
    size_t cap;
    size_t tail; /* bytes al_batch_finish() will append */
    uint32_t events;
    int finished;                       /* envelope closed; no more events */
    uint32_t off[AL_MAX_BATCH_EVENTS];  /* start of each event in body */
    uint32_t elen[AL_MAX_BATCH_EVENTS]; /* length of each event */
    al_origin_t origin[AL_MAX_BATCH_EVENTS];
    const al_batch_opts_t *opts; /* borrowed; must outlive the batch */
    /* With opts->gzip_level: the finished body gzip-compressed, what goes on
     * the wire (Content-Encoding: gzip); with opts->form: the form. gz_len
     * 0: send body as it is. */
    unsigned char *gz;
    size_t gz_len, gz_cap;
} al_batch_t;

/* Fills opts with the defaults (2000 events, AL_DEFAULT_BATCH_BYTES, min id 5). */
void al_batch_opts_init(al_batch_opts_t *opts);

/* @return the body size of a batch holding no events, i.e. the envelope. */
size_t al_batch_envelope_bytes(const al_batch_opts_t *opts);

/* @return a new empty batch, or NULL when out of memory. opts is borrowed. */
al_batch_t *al_batch_new(const al_batch_opts_t *opts);

/* Empties b for reuse, keeping its buffer. */
void al_batch_reset(al_batch_t *b);

/* @return 1 when an event of len bytes still fits in b under both limits. */
int al_batch_fits(const al_batch_t *b, size_t len);

/* Appends one event (copied). The caller checked al_batch_fits().
 * @return AL_ERR_OK, AL_ERR_NOMEM, or AL_ERR_INVALID_ARG when it does not fit. */
al_err_t al_batch_add(al_batch_t *b, const char *event, size_t len, const al_origin_t *origin);

/* Appends an event with one edit applied while copying (inj may be NULL).
 * Its size in the body is len - inj->cut + inj->text_len. Same rules as
 * al_batch_add(). */
al_err_t al_batch_add_edited(al_batch_t *b, const char *event, size_t len, const al_inject_t *inj,
                             const al_origin_t *origin);

/* Appends event i of src (its bytes and origin) to dst. Same rules as
 * al_batch_add(). */
al_err_t al_batch_add_from(al_batch_t *dst, const al_batch_t *src, uint32_t i);

/* Closes the envelope; body[0..len) is then the complete request body. With
 * opts->gzip_level it also compresses the body into gz (when compression
 * fails for want of memory, gz_len stays 0 and the body goes as it is).
 * With opts->form it writes the form into gz. @return AL_ERR_OK, or NOMEM
 * when the form could not be written (the batch cannot be sent). */
al_err_t al_batch_finish(al_batch_t *b);

/* @return the bytes to send for a finished batch (gz when compressed, else
 * body) and their length in *len. */
const void *al_batch_wire(const al_batch_t *b, size_t *len);

/* Frees b and its body, or keeps it for the next al_batch_new() (a small
 * pool shared by all threads). NULL is ignored. Any thread. */
void al_batch_free(al_batch_t *b);

/* Frees the batches kept for reuse (at the end of a run). */
void al_batch_pool_drain(void);

#endif
