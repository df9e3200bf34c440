/* reqkind_identify.c - POST /identify as a request kind (reqkind.h): a form
 * body (api_key=...&identification=[...]), never gzipped; answers read by
 * al_response_parse_identify(). Identify deduplicates nothing, so an
 * identification whose fate is unknown matters: the sender journals every
 * request and holds the non-idempotent ones in doubt. */
#include "http.h"
#include "reqkind.h"

const al_req_kind_t al_req_identify = {
    .name = "identify",
    .body = AL_BODY_FORM,
    .may_gzip = 0,
    .parse = al_response_parse_identify,
    .fate_matters = 1,
};
