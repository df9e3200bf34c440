/* reqkind.h - what differs between the kinds of request the sender makes.
 *
 * The sender (send.c) moves batches, windows, retries and verdicts; what a
 * request *is* lives here, one implementation per API, each in its own
 * file: /batch events (reqkind_batch.c) and /identify identifications
 * (reqkind_identify.c). A kind says how its body goes on the wire, how an
 * answer is read, and whether an answer that leaves a request's fate
 * unknown matters: /batch events carry insert_ids, so a resend is harmless;
 * identifications do not, so the sender holds the non-idempotent ones in
 * doubt and notes every request in the journal (journal.h). A new API (a
 * benchmark's synthetic requests, say) is one more such table.
 *
 * Thread-safety: the tables are constant; the functions are pure or write
 * only what they are given.
 */
#ifndef AL_REQKIND_H
#define AL_REQKIND_H

#include "batch.h"
#include "error.h"
#include "journal.h"
#include "response.h"

typedef struct al_req_kind {
    const char *name; /* "batch", "identify": the API's path, for messages */
    int body;         /* AL_BODY_JSON or AL_BODY_FORM (http.h): the request headers */
    int may_gzip;     /* a batch's gzipped body may go (Content-Encoding: gzip) */
    /* Reads an answer (response.h's rules for this API) into r.
     * @return AL_ERR_OK or NOMEM. */
    al_err_t (*parse)(al_response_t *r, long status, const char *body, size_t len, uint32_t events,
                      const char *secret);
    /* 1: an answer that leaves a request's fate unknown (a 5xx, a connection
     * lost after it left, a 2xx nobody can read) puts its non-idempotent
     * items in doubt, and the journal records every request. 0: a resend
     * is harmless (insert_ids), nothing is journaled. */
    int fate_matters;
} al_req_kind_t;

/* POST /batch: JSON bodies (gzip allowed), al_response_parse(). */
extern const al_req_kind_t al_req_batch;

/* POST /identify: form bodies, al_response_parse_identify(), fate matters. */
extern const al_req_kind_t al_req_identify;

#endif
