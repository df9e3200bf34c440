/* response.h - what an Amplitude /batch response means for each event.
 *
 * al_response_parse() turns a status code and a (small) JSON body into one
 * decision for the request and, where the server named them, a mark for
 * each event of the batch. The rules are those of the official SDKs
 * (amplitude-api.md), extended for long backfills:
 *   2xx with Amplitude's body OK: every event is acknowledged. The body must
 *                             be {"code":200,...} (or carry events_ingested):
 *                             a captive portal, a proxy's page, an empty body
 *                             or {"code":400} under HTTP 200 is CONFIG, since
 *                             nothing says the events were ingested.
 *   400 + missing_field, or error "Invalid API key..."
 *                             CONFIG: a configuration error; stop the run.
 *   400 + index lists         DROP (indices that are not positions in the
 *                             batch, even beyond int64, are ignored): the listed events are refused
 * by the server (reject file), the rest is resent at once. 400 without indices       UNDELIVERABLE:
 * the request cannot succeed as is; its events go to the failed file. 401, 403, 404, other 4xx
 * CONFIG (wrong key, region, firewall or URL). 413                       TOO_LARGE: split the batch
 * in half and resend. 429                       THROTTLED: events of ids over their daily quota are
 * marked QUOTA (failed file); events listed in throttled_events are marked THROTTLED (wait); the
 * rest is resent at once. Without lists the whole batch waits. 408, 5xx                  RETRY with
 * backoff. Malformed bodies never crash the parse: they simply carry no lists.
 *
 * Thread-safety: pure functions over caller-owned structs.
 */
#ifndef AL_RESPONSE_H
#define AL_RESPONSE_H

#include "batch.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    AL_RESP_OK,
    AL_RESP_DROP,
    AL_RESP_UNDELIVERABLE,
    AL_RESP_CONFIG,
    AL_RESP_TOO_LARGE,
    AL_RESP_THROTTLED,
    AL_RESP_RETRY,
} al_resp_kind_t;

/* Per-event marks. Values 1..AL_RESP_MAX_REASONS index reasons[] (refused). */
#define AL_MARK_NONE        0
#define AL_MARK_THROTTLED   0xFF
#define AL_MARK_QUOTA       0xFE
#define AL_RESP_MAX_REASONS 32

typedef struct {
    long status;
    al_resp_kind_t kind;
    char error[256];        /* the server's "error" text (or what was wrong
                               with a 2xx), secret redacted, "" if none */
    char missing_field[64]; /* 400 missing_field, "" if none */
    uint32_t nevents;       /* events in the request */
    uint32_t refused;       /* events marked with a reason */
    uint32_t throttled;     /* events marked THROTTLED */
    uint8_t mark[AL_MAX_BATCH_EVENTS];
    char reasons[AL_RESP_MAX_REASONS][96]; /* "server: invalid time", ... */
    uint32_t nreasons;
    /* Ids named by a 429, as al_id_hash() values (heap; freed by al_response_free). */
    uint64_t *quota_ids;
    size_t nquota;
    uint64_t *throttled_ids;
    size_t nthrottled;
} al_response_t;

/* Interprets one response for a request of nevents events. body may be NULL.
 * Every copy of secret (the API key; NULL for none) in the server's text is
 * redacted before the text is cut to fit r->error.
 * Quota marks need the batch's id hashes, so the caller applies them with
 * al_response_mark_quota(). @return AL_ERR_OK or NOMEM. */
al_err_t al_response_parse(al_response_t *r, long status, const char *body, size_t len,
                           uint32_t nevents, const char *secret);

/* The same for an Identify answer (nidents identifications): 2xx is OK only
 * with the body "success" (else CONFIG, as a captive portal's 200 would
 * be); 400 "missing_event" (plain text) is UNDELIVERABLE, its text in
 * r->error; a 400 with "Invalid API key" or missing_field is CONFIG; 413,
 * 429 (with /batch's lists when the body has them), 408, 5xx and the other
 * 4xx as for /batch. @return AL_ERR_OK or NOMEM. */
al_err_t al_response_parse_identify(al_response_t *r, long status, const char *body, size_t len,
                                    uint32_t nidents, const char *secret);

/* Marks QUOTA every event of b whose user or device is in r->quota_ids.
 * @return how many events it marked. */
uint32_t al_response_mark_quota(al_response_t *r, const al_batch_t *b);

/* @return 1 when r says the API key was refused or missing: a 400 with
 * error "Invalid API key..." or missing_field "api_key". */
int al_response_key_refused(const al_response_t *r);

/* @return 1 when r says the server did not read a gzip body (gzipped set):
 * 415, or a 400 "Invalid JSON..." that names no event - the JSON ampload
 * sends is valid, so the server did not inflate it. */
int al_response_not_inflated(const al_response_t *r, int gzipped);

/* Frees the id lists. */
void al_response_free(al_response_t *r);

/* @return a short name for kind ("retry"), static storage. */
const char *al_resp_kind_name(al_resp_kind_t kind);

#endif
