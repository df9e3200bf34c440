/* http.c - the easy-handle settings and headers every /batch request
 * shares (http.h). */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void al_http_tls_setup(CURL *e, int insecure, const char *ca_file)
{
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
    if (ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
}

void al_http_easy_setup(CURL *e, const al_http_conf_t *c)
{
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    al_http_tls_setup(e, c->insecure, c->ca_file);
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

int al_http_connect_error(CURLcode rc, long connected_ms)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return 1;
    case CURLE_OPERATION_TIMEDOUT:
        return connected_ms <= 0;
    default:
        return 0;
    }
}

/* Copies the URL's host (and port, the scheme's when none is given) into
 * host/port. @return 0, or -1 when the URL has no host. */
static int url_host(const char *url, char *host, size_t hcap, char *port, size_t pcap)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL;
    int rc = -1;
    if (u == NULL)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        snprintf(host, hcap, "%s", h);
        snprintf(port, pcap, "%s", p);
        rc = 0;
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

char *al_http_describe(char *buf, size_t cap, const char *url, long status, int curl_code,
                       long os_errno)
{
    CURLcode rc = (CURLcode)curl_code;
    char host[256] = "", port[16] = "", why[128];
    if (cap == 0)
        return buf;
    if (rc == CURLE_OK) {
        snprintf(buf, cap, "HTTP %ld", status);
        return buf;
    }
    if (url == NULL || url_host(url, host, sizeof(host), port, sizeof(port)) != 0)
        snprintf(host, sizeof(host), "the endpoint");
    if (rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(buf, cap, "cannot resolve host name %s", host);
        return buf;
    }
    if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
        snprintf(buf, cap, "cannot resolve the proxy's host name (check https_proxy)");
        return buf;
    }
    if (rc == CURLE_COULDNT_CONNECT) {
        if (os_errno != 0)
            snprintf(why, sizeof(why), "%s", strerror((int)os_errno));
        else
            snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
        why[0] = (char)tolower((unsigned char)why[0]);
        snprintf(buf, cap, "cannot connect to %s%s%s: %s", host, port[0] ? ":" : "", port, why);
        return buf;
    }
    snprintf(buf, cap, "%s", curl_easy_strerror(rc));
    if (cap > 1)
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}
