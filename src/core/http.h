/* http.h - a request to the /batch endpoint as the wire sees it, in one
 * place for the sender and `ampload check`, so the check sends exactly what
 * a run sends: the easy-handle settings (URL, timeouts, HTTP version, TLS,
 * keep-alive, user agent) and the headers.
 *
 * Thread-safety: any thread, on handles and lists the caller owns.
 */
#ifndef AL_HTTP_H
#define AL_HTTP_H

#include "send.h"

#include <curl/curl.h>

/* Sets what every request to the endpoint shares on an easy handle. */
void al_http_easy_setup(CURL *e, const al_send_opts_t *o);

/* What a request body is. */
enum { AL_BODY_JSON = 0, AL_BODY_GZIP = 1, AL_BODY_FORM = 2 };

/* @return the request headers for a body of that kind: Content-Type
 * application/json (with Content-Encoding: gzip for AL_BODY_GZIP) or
 * application/x-www-form-urlencoded (Identify), and no
 * "Expect: 100-continue" (the bodies are large and the extra round trip buys
 * nothing). NULL when out of memory; free with curl_slist_free_all. */
struct curl_slist *al_http_headers(int body);

/* @return 1 when a transfer failed on TLS (handshake, certificate, CA file):
 * a configuration error that retrying cannot mend. The sender stops on it;
 * `ampload check` reports it as the TLS check. */
int al_http_tls_error(CURLcode rc);

#endif
