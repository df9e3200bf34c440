/* http.h - a request to the /batch endpoint as the wire sees it, in one
 * place for the sender and `ampload check`, so the check sends exactly what
 * a run sends: the easy-handle settings (URL, timeouts, HTTP version, TLS,
 * keep-alive, user agent) and the headers.
 *
 * Thread-safety: any thread, on handles and lists the caller owns.
 */
#ifndef AL_HTTP_H
#define AL_HTTP_H

#include <curl/curl.h>

/* What every request to the endpoint shares, from the run's settings; the
 * sender's options map onto it in one place (al_send_http_conf, send.h).
 * Strings are borrowed. */
typedef struct {
    const char *url;
    long connect_timeout_ms;
    long request_timeout_ms;
    int insecure;        /* skip TLS verification (test servers only) */
    const char *ca_file; /* trust these CA certificates (PEM); NULL = the system's */
} al_http_conf_t;

/* Sets what every request to the endpoint shares on an easy handle: URL,
 * timeouts, HTTP version, TLS (al_http_tls_setup), keep-alive, user agent. */
void al_http_easy_setup(CURL *e, const al_http_conf_t *c);

/* Sets how the peer is trusted on an easy handle: its certificate and host
 * name verified against the system's CAs, or against ca_file (PEM) when not
 * NULL; neither when insecure (test servers only). Every request ampload
 * makes (the sender, `check`, the export's downloads) is set up by it. */
void al_http_tls_setup(CURL *e, int insecure, const char *ca_file);

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

/* @return 1 when curl's failure means no connection to the server was made
 * (its name did not resolve, the connect was refused, unreachable or timed
 * out; a proxy likewise). Before any connection has ever been made, that is
 * a wrong URL, region, proxy or network: a configuration error once it
 * lasts. connected_ms: CURLINFO_CONNECT_TIME_T of the transfer in ms
 * (a timeout counts only when no connection was made). */
int al_http_connect_error(CURLcode rc, long connected_ms);

/* Writes what went wrong with one attempt, in words for a user, into buf:
 * "cannot connect to HOST:PORT: connection refused", "cannot resolve host
 * name HOST", "HTTP 503", else curl's text. url names the endpoint (host
 * and port are taken from it); os_errno is CURLINFO_OS_ERRNO (0 = unknown).
 * A connect that timed out is described as CURLE_COULDNT_CONNECT with
 * ETIMEDOUT.
 * Thread-safety: any thread. @return buf. */
char *al_http_describe(char *buf, size_t cap, const char *url, long status, int curl_code,
                       long os_errno);

#endif
