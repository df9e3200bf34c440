/* http.c - the easy-handle settings and headers every /batch request
 * shares (http.h). */
#include "http.h"

void al_http_easy_setup(CURL *e, const al_send_opts_t *o)
{
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ampload/" AMPLOAD_VERSION);
}

int al_http_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return 1;
    default:
        return 0;
    }
}

struct curl_slist *al_http_headers(int body)
{
    struct curl_slist *h = curl_slist_append(
        NULL, body == AL_BODY_FORM ? "Content-Type: application/x-www-form-urlencoded"
                                   : "Content-Type: application/json");
    struct curl_slist *more;
    const char *rest[] = {body == AL_BODY_GZIP ? "Content-Encoding: gzip" : NULL, "Expect:"};
    for (size_t i = 0; h != NULL && i < 2; i++) {
        if (rest[i] == NULL)
            continue;
        more = curl_slist_append(h, rest[i]);
        if (more == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = more;
    }
    return h;
}
