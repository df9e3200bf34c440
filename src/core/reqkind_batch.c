/* reqkind_batch.c - POST /batch as a request kind (reqkind.h): a JSON body,
 * gzipped when asked; Amplitude's answers read by al_response_parse(); a
 * resend in doubt is harmless, since every event carries its insert_id. */
#include "http.h"
#include "reqkind.h"

const al_req_kind_t al_req_batch = {
    .name = "batch",
    .body = AL_BODY_JSON,
    .may_gzip = 1,
    .parse = al_response_parse,
    .fate_matters = 0,
};
