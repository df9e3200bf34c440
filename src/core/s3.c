/* s3.c - listing and reading objects (s3.h).
 *
 * One request is one curl easy transfer, signed just before it leaves, so a
 * retry is signed anew (a signature holds for 15 minutes). What a failure
 * means is decided in one place (classify): the store's error code, when
 * its XML body has one, else the HTTP status, else the transport's. 403s
 * (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken)
 * and a 301 (the bucket is in another region, which the answer names) stop
 * at once with the code and message; 404 NoSuchBucket / NoSuchKey likewise;
 * 412 is the object changed since it was listed; 5xx, SlowDown, resets and
 * stalls are retried with full-jitter backoff until the budget is spent.
 */
#include "s3.h"

#include "clock.h"
#include "http.h"
#include "retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <expat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BODY_CAP (4u * 1024u * 1024u) /* a listing page or an error document */
/* The first part is small: opening an input sniffs its first bytes (format,
 * shape), and a preflight over thousands of objects must not fetch a full
 * part of each. */
#define FIRST_PART   (64u * 1024u)
#define BACKOFF_BASE 200u
#define BACKOFF_CAP  20000u

int al_s3_is_url(const char *path)
{
    return strncmp(path, "s3://", 5) == 0 || strncmp(path, "gs://", 5) == 0;
}

/* ---- names ------------------------------------------------------------------ */

typedef struct {
    char bucket[256];
    const char *key; /* into the URL */
    int gcs;
} where_t;

static al_err_t parse_url(const char *url, where_t *w, al_diag_t *diag)
{
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t n = slash != NULL ? (size_t)(slash - b) : strlen(b);
    memset(w, 0, sizeof(*w));
    w->gcs = url[0] == 'g';
    if (!al_s3_is_url(url) || n == 0 || n >= sizeof(w->bucket)) {
        al_diag_set(diag, url, 0);
        snprintf(diag->detail, sizeof(diag->detail),
                 "not an object URL: use s3://bucket/key, s3://bucket/prefix/ or "
                 "s3://bucket/prefix/*.json.gz");
        return AL_ERR_INVALID_ARG;
    }
    memcpy(w->bucket, b, n);
    w->key = slash != NULL ? slash + 1 : "";
    return AL_ERR_OK;
}

static const char *region_of(const al_s3_conf_t *c, const where_t *w)
{
    return c->region[0] != '\0' ? c->region : w->gcs ? "auto" : "us-east-1";
}

/* The scheme and host requests go to, and the path prefix before the key:
 * "/bucket" path-style, "" virtual-hosted. */
static void endpoint_of(const al_s3_conf_t *c, const where_t *w, char *scheme, size_t scap,
                        char *host, size_t hcap, char *prefix, size_t pcap)
{
    const char *e = c->endpoint;
    const char *sep;
    if (e[0] == '\0') {
        snprintf(scheme, scap, "https");
        if (w->gcs)
            snprintf(host, hcap, "%s.storage.googleapis.com", w->bucket);
        else
            snprintf(host, hcap, "%s.s3.%s.amazonaws.com", w->bucket, region_of(c, w));
        prefix[0] = '\0';
        return;
    }
    sep = strstr(e, "://");
    snprintf(scheme, scap, "%.*s", sep != NULL ? (int)(sep - e) : 5, sep != NULL ? e : "https");
    e = sep != NULL ? sep + 3 : e;
    if (c->path_style) {
        snprintf(host, hcap, "%.*s", (int)strcspn(e, "/"), e);
        snprintf(prefix, pcap, "/%s", w->bucket);
    } else {
        snprintf(host, hcap, "%s.%.*s", w->bucket, (int)strcspn(e, "/"), e);
        prefix[0] = '\0';
    }
}

/* ---- one request -------------------------------------------------------------- */

typedef struct {
    char *body; /* the answer's body, up to BODY_CAP (listings, errors) */
    size_t len;
    /* an object's part: bytes go to dst instead, up to dcap */
    char *dst;
    size_t dcap, dlen;
    char etag[128];
    char region[64]; /* x-amz-bucket-region */
    uint64_t total;  /* from Content-Range */
    char retry_after[64];
    atomic_int *stop; /* set: the transfer gives up at once; may be NULL */
} answer_t;

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const answer_t *a = ctx;
    (void)dt, (void)dn, (void)ut, (void)un;
    return a->stop != NULL && atomic_load(a->stop); /* non-zero aborts */
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    answer_t *a = ctx;
    size_t len = size * n;
    if (a->dst != NULL && a->dcap > 0) {
        if (a->dlen + len > a->dcap)
            return 0; /* more than asked for: a store that ignored Range */
        memcpy(a->dst + a->dlen, p, len);
        a->dlen += len;
        return len;
    }
    if (a->len + len > BODY_CAP)
        return 0;
    char *nb = realloc(a->body, a->len + len + 1);
    if (nb == NULL)
        return 0;
    a->body = nb;
    memcpy(a->body + a->len, p, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    snprintf(out, cap, "%.*s", (int)n, line);
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    answer_t *a = ctx;
    size_t len = size * n;
    char range[128] = "";
    header_value(p, len, "ETag", a->etag, sizeof(a->etag));
    header_value(p, len, "x-amz-bucket-region", a->region, sizeof(a->region));
    header_value(p, len, "Retry-After", a->retry_after, sizeof(a->retry_after));
    header_value(p, len, "Content-Range", range, sizeof(range));
    if (range[0] != '\0') {
        const char *slash = strchr(range, '/');
        if (slash != NULL && slash[1] != '*')
            a->total = strtoull(slash + 1, NULL, 10);
    }
    return len;
}

typedef struct {
    const char *path;         /* not encoded: "/bucket/key" or "/key" */
    const char *const *query; /* pairs, or NULL */
    const char *range;        /* "bytes=0-99", or NULL */
    const char *if_match;     /* an ETag, or NULL */
} request_t;

/* Sends one signed GET. @return the curl code; *status the HTTP status. */
static CURLcode perform(CURL *e, const al_s3_conf_t *c, const where_t *w, const request_t *rq,
                        answer_t *a, long *status, al_diag_t *diag)
{
    char scheme[16], host[512], prefix[300], url[12288], path[3072];
    const char *headers[5] = {NULL};
    struct curl_slist *h = NULL;
    al_sigv4_out_t *sig = malloc(sizeof(*sig));
    al_sigv4_req_t r = {.method = "GET",
                        .region = region_of(c, w),
                        .service = "s3",
                        .query = rq->query,
                        .now = time(NULL)};
    char line[4200];
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    size_t nh = 0;

    *status = 0;
    if (sig == NULL)
        return rc;
    endpoint_of(c, w, scheme, sizeof(scheme), host, sizeof(host), prefix, sizeof(prefix));
    snprintf(path, sizeof(path), "%s%s", prefix, rq->path);
    if (rq->range != NULL) {
        headers[nh++] = "range";
        headers[nh++] = rq->range;
    }
    r.host = host;
    r.path = path;
    r.headers = nh > 0 ? headers : NULL;
    if (al_sigv4_sign(&r, &c->creds, sig, diag) != AL_ERR_OK) {
        free(sig);
        return CURLE_URL_MALFORMAT;
    }
    snprintf(url, sizeof(url), "%s://%s%s%s%s", scheme, host, sig->path,
             sig->query[0] != '\0' ? "?" : "", sig->query);
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (c->stall_ms > 0 ? c->stall_ms : 60000) / 1000 + 1);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ampload/" AMPLOAD_VERSION);
    al_http_tls_setup(e, c->insecure, c->ca_file);
    if (c->creds.access_key_id[0] != '\0') {
        snprintf(line, sizeof(line), "Authorization: %s", sig->authorization);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof(line), "x-amz-date: %s", sig->amz_date);
        h = curl_slist_append(h, line);
        if (c->creds.session_token[0] != '\0') {
            snprintf(line, sizeof(line), "x-amz-security-token: %s", c->creds.session_token);
            h = curl_slist_append(h, line);
        }
    }
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sig->content_sha256);
    h = curl_slist_append(h, line);
    if (rq->range != NULL) {
        snprintf(line, sizeof(line), "Range: %s", rq->range);
        h = curl_slist_append(h, line);
    }
    if (rq->if_match != NULL) {
        snprintf(line, sizeof(line), "If-Match: %s", rq->if_match);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    explicit_bzero(line, sizeof(line));
    free(sig);
    return rc;
}

/* ---- the store's error document ------------------------------------------------ */

typedef struct {
    char code[64], message[256], region[64];
    char *cur; /* the leaf being read, or NULL */
    size_t cur_cap;
} errdoc_t;

static void XMLCALL err_start(void *ctx, const XML_Char *name, const XML_Char **atts)
{
    errdoc_t *d = ctx;
    (void)atts;
    d->cur = NULL;
    if (strcmp(name, "Code") == 0)
        d->cur = d->code, d->cur_cap = sizeof(d->code);
    else if (strcmp(name, "Message") == 0)
        d->cur = d->message, d->cur_cap = sizeof(d->message);
    else if (strcmp(name, "Region") == 0)
        d->cur = d->region, d->cur_cap = sizeof(d->region);
}

static void XMLCALL err_end(void *ctx, const XML_Char *name)
{
    (void)name;
    ((errdoc_t *)ctx)->cur = NULL;
}

static void XMLCALL err_text(void *ctx, const XML_Char *s, int len)
{
    errdoc_t *d = ctx;
    size_t have;
    if (d->cur == NULL)
        return;
    have = strlen(d->cur);
    snprintf(d->cur + have, d->cur_cap - have, "%.*s", len, s);
}

static void read_error(const answer_t *a, errdoc_t *d)
{
    XML_Parser p = XML_ParserCreate(NULL);
    memset(d, 0, sizeof(*d));
    if (p == NULL || a->body == NULL)
        goto out;
    XML_SetUserData(p, d);
    XML_SetElementHandler(p, err_start, err_end);
    XML_SetCharacterDataHandler(p, err_text);
    XML_Parse(p, a->body, (int)a->len, 1);
out:
    if (p != NULL)
        XML_ParserFree(p);
}

/* What a finished request means. @return AL_ERR_OK (a 2xx), a final error
 * (diag filled), or -1: retry it. */
static int classify(CURLcode rc, long status, const answer_t *a, const char *what, al_diag_t *diag)
{
    errdoc_t d;
    if (rc == CURLE_OK && status >= 200 && status < 300)
        return AL_ERR_OK;
    al_diag_set(diag, what, 0);
    if (rc != CURLE_OK) {
        snprintf(diag->detail, sizeof(diag->detail), "%s", curl_easy_strerror(rc));
        return rc == CURLE_URL_MALFORMAT ? AL_ERR_INVALID_ARG : -1;
    }
    read_error(a, &d);
    if (status == 301 || strcmp(d.code, "PermanentRedirect") == 0 ||
        strcmp(d.code, "AuthorizationHeaderMalformed") == 0) {
        const char *region = d.region[0] != '\0' ? d.region : a->region;
        snprintf(diag->detail, sizeof(diag->detail),
                 "%s: the bucket is in another region%s%s: set AWS_REGION%s%s",
                 d.code[0] != '\0' ? d.code : "HTTP 301", region[0] != '\0' ? " (" : "", region,
                 region[0] != '\0' ? "=" : "", region[0] != '\0' ? region : "");
        if (region[0] != '\0')
            snprintf(diag->detail + strlen(diag->detail),
                     sizeof(diag->detail) - strlen(diag->detail), ")");
        return AL_ERR_OBJECT_ACCESS;
    }
    snprintf(diag->detail, sizeof(diag->detail), "%.63s%s%.150s (HTTP %ld)",
             d.code[0] != '\0' ? d.code : "no error code", d.message[0] != '\0' ? ": " : "",
             d.message, status);
    if (status == 412)
        return AL_ERR_INPUT_CHANGED;
    if (status == 404)
        return AL_ERR_OBJECT_MISSING;
    if (status == 408 || status == 429 || status >= 500 || strcmp(d.code, "SlowDown") == 0)
        return -1;
    return AL_ERR_OBJECT_ACCESS;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Runs rq until it succeeds, fails for good, or the budget is spent;
 * before each attempt a->dlen bytes of a part are kept (a broken part goes
 * on from there: rq->range is rebuilt by the caller's `again`). */
typedef void (*again_fn)(void *ctx, request_t *rq);

static al_err_t run(CURL *e, const al_s3_conf_t *c, const where_t *w, request_t *rq, answer_t *a,
                    again_fn again, void *ctx, const char *what, atomic_int *stop, al_diag_t *diag)
{
    uint64_t budget = c->retry_time_ms > 0 ? c->retry_time_ms : 600000;
    double t0 = al_mono_s();
    al_rng_t rng;
    al_rng_seed(&rng, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)a);
    a->stop = stop;
    for (uint32_t attempt = 1;; attempt++) {
        long status;
        CURLcode rc;
        int verdict;
        uint64_t wait;
        a->len = 0;
        a->etag[0] = a->retry_after[0] = '\0';
        rc = perform(e, c, w, rq, a, &status, diag);
        if (stop != NULL && atomic_load(stop))
            return AL_ERR_INTERRUPTED;
        verdict = classify(rc, status, a, what, diag);
        if (verdict >= 0)
            return (al_err_t)verdict;
        wait = al_backoff_delay_ms(attempt, BACKOFF_BASE, BACKOFF_CAP,
                                   al_retry_after_ms(a->retry_after, (int64_t)time(NULL)), &rng);
        if ((al_mono_s() - t0) * 1000.0 + (double)wait > (double)budget) {
            snprintf(diag->detail + strlen(diag->detail),
                     sizeof(diag->detail) - strlen(diag->detail), "; retried for %.0f s",
                     al_mono_s() - t0);
            return AL_ERR_IO;
        }
        for (uint64_t slept = 0; slept < wait && !(stop != NULL && atomic_load(stop)); slept += 100)
            sleep_ms(wait - slept < 100 ? wait - slept : 100);
        if (stop != NULL && atomic_load(stop))
            return AL_ERR_INTERRUPTED;
        if (again != NULL)
            again(ctx, rq);
    }
}

/* ---- listing ---------------------------------------------------------------- */

/* Does key match pattern? '*' and '?' stay within a "folder", '**' crosses
 * them. */
static int glob_match(const char *p, const char *k)
{
    for (; *p != '\0'; p++, k++) {
        if (p[0] == '*' && p[1] == '*') {
            for (p += 2; *p == '*'; p++)
                ;
            for (;; k++) {
                if (glob_match(p, k))
                    return 1;
                if (*k == '\0')
                    return 0;
            }
        }
        if (*p == '*') {
            for (;; k++) {
                if (glob_match(p + 1, k))
                    return 1;
                if (*k == '\0' || *k == '/')
                    return 0;
            }
        }
        if (*k == '\0' || (*p == '?' ? *k == '/' : *p != *k))
            return 0;
    }
    return *k == '\0';
}

typedef struct {
    /* what the caller asked for */
    const char *key;     /* the URL's key part */
    size_t literal;      /* its length before the first '*' or '?' */
    int pattern, prefix; /* a glob; a prefix (ends with '/', or a folder) */
    int (*fn)(void *ctx, const al_s3_entry_t *e);
    void *ctx;
    uint64_t matched;
    int stop;
    /* the page being parsed */
    char leaf[2048];
    size_t leaf_len;
    int in_contents;
    char ekey[1100], etag[128];
    uint64_t esize;
    int truncated;
    char token[1100];
} listing_t;

static void XMLCALL list_start(void *ctx, const XML_Char *name, const XML_Char **atts)
{
    listing_t *l = ctx;
    (void)atts;
    l->leaf_len = 0;
    l->leaf[0] = '\0';
    if (strcmp(name, "Contents") == 0) {
        l->in_contents = 1;
        l->ekey[0] = l->etag[0] = '\0';
        l->esize = 0;
    }
}

static void XMLCALL list_text(void *ctx, const XML_Char *s, int len)
{
    listing_t *l = ctx;
    if (l->leaf_len + (size_t)len + 1 > sizeof(l->leaf))
        return;
    memcpy(l->leaf + l->leaf_len, s, (size_t)len);
    l->leaf_len += (size_t)len;
    l->leaf[l->leaf_len] = '\0';
}

/* An object of the listing: is it one the URL names? */
static void list_entry(listing_t *l)
{
    al_s3_entry_t e = {l->ekey, l->esize, l->etag};
    size_t n = strlen(l->key);
    if (l->stop || l->ekey[0] == '\0')
        return; /* no key: nothing to read */
    if (strncmp(l->ekey, l->key, l->literal) != 0)
        return; /* outside the prefix asked for: not the store's to add */
    if (l->pattern) {
        if (!glob_match(l->key, l->ekey))
            return;
    } else if (!l->prefix) {
        if (strcmp(l->ekey, l->key) == 0) {
            l->stop = 1; /* the object itself: the only one */
        } else if (strncmp(l->ekey, l->key, n) != 0 || l->ekey[n] != '/') {
            return;
        } else if (l->matched == 0) {
            l->prefix = 1; /* no object of that name: a folder of them */
        }
    }
    if (l->ekey[strlen(l->ekey) - 1] == '/' && l->esize == 0)
        return; /* a "folder" placeholder, not an object */
    l->matched++;
    if (l->fn(l->ctx, &e) != 0)
        l->stop = 1;
}

static void XMLCALL list_end(void *ctx, const XML_Char *name)
{
    listing_t *l = ctx;
    if (l->in_contents && strcmp(name, "Key") == 0)
        snprintf(l->ekey, sizeof(l->ekey), "%.1099s", l->leaf);
    else if (l->in_contents && strcmp(name, "ETag") == 0)
        snprintf(l->etag, sizeof(l->etag), "%.127s", l->leaf);
    else if (l->in_contents && strcmp(name, "Size") == 0)
        l->esize = strtoull(l->leaf, NULL, 10);
    else if (strcmp(name, "Contents") == 0) {
        l->in_contents = 0;
        list_entry(l);
    } else if (strcmp(name, "IsTruncated") == 0)
        l->truncated = strcmp(l->leaf, "true") == 0;
    else if (strcmp(name, "NextContinuationToken") == 0)
        snprintf(l->token, sizeof(l->token), "%.1099s", l->leaf);
}

/* Parses one page into l. @return 0, or -1 when it is not a listing. */
static int parse_page(listing_t *l, const answer_t *a)
{
    XML_Parser p = XML_ParserCreate(NULL);
    int ok;
    if (p == NULL)
        return -1;
    l->truncated = 0;
    l->token[0] = '\0';
    XML_SetUserData(p, l);
    XML_SetElementHandler(p, list_start, list_end);
    XML_SetCharacterDataHandler(p, list_text);
    ok = a->body != NULL && XML_Parse(p, a->body, (int)a->len, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    return ok ? 0 : -1;
}

int al_s3_parse_listing(const char *xml, size_t n, const char *key,
                        int (*fn)(void *ctx, const al_s3_entry_t *e), void *ctx, int *truncated,
                        char *token, size_t cap)
{
    listing_t *l = calloc(1, sizeof(*l));
    answer_t a = {.body = (char *)xml, .len = n};
    int rc = -1;
    if (l == NULL || n > BODY_CAP)
        goto out;
    l->key = key;
    l->literal = strcspn(key, "*?");
    l->pattern = key[l->literal] != '\0';
    l->prefix = !l->pattern && (key[0] == '\0' || key[strlen(key) - 1] == '/');
    l->fn = fn;
    l->ctx = ctx;
    rc = parse_page(l, &a);
    *truncated = l->truncated;
    snprintf(token, cap, "%s", l->token);
out:
    free(l);
    return rc;
}

void al_s3_parse_error(const char *xml, size_t n, char *code, size_t ccap, char *message,
                       size_t mcap)
{
    errdoc_t d;
    answer_t a = {.body = (char *)xml, .len = n};
    read_error(&a, &d);
    snprintf(code, ccap, "%s", d.code);
    snprintf(message, mcap, "%s", d.message);
}

al_err_t al_s3_list(const al_s3_conf_t *c, const char *url,
                    int (*fn)(void *ctx, const al_s3_entry_t *e), void *ctx, al_diag_t *diag)
{
    listing_t *l = calloc(1, sizeof(*l));
    answer_t a = {0};
    where_t w;
    char prefix[1100], max_keys[16];
    CURL *e = NULL;
    al_err_t err = parse_url(url, &w, diag);

    if (err != AL_ERR_OK || l == NULL)
        goto out;
    e = curl_easy_init();
    if (e == NULL) {
        err = AL_ERR_NOMEM;
        goto out;
    }
    l->key = w.key;
    l->literal = strcspn(w.key, "*?");
    l->pattern = w.key[l->literal] != '\0';
    l->prefix = !l->pattern && (w.key[0] == '\0' || w.key[strlen(w.key) - 1] == '/');
    l->fn = fn;
    l->ctx = ctx;
    snprintf(prefix, sizeof(prefix), "%.*s", (int)l->literal, w.key);
    snprintf(max_keys, sizeof(max_keys), "%u", c->max_keys > 0 ? c->max_keys : 1000);
    do {
        const char *q[] = {"list-type",
                           "2",
                           "max-keys",
                           max_keys,
                           "prefix",
                           prefix,
                           l->token[0] != '\0' ? "continuation-token" : NULL,
                           l->token,
                           NULL};
        request_t rq = {"/", q, NULL, NULL};
        err = run(e, c, &w, &rq, &a, NULL, NULL, url, NULL, diag);
        if (err == AL_ERR_OK && parse_page(l, &a) != 0) {
            al_diag_set(diag, url, 0);
            snprintf(diag->detail, sizeof(diag->detail),
                     "the answer to a listing is not a ListObjectsV2 result");
            err = AL_ERR_OBJECT_ACCESS;
        }
    } while (err == AL_ERR_OK && l->truncated && l->token[0] != '\0' && !l->stop);
    if (err == AL_ERR_OK && l->matched == 0) {
        al_diag_set(diag, url, 0);
        snprintf(diag->detail, sizeof(diag->detail), "%s",
                 l->pattern  ? "no object matches the pattern"
                 : l->prefix ? "no object under this prefix"
                             : "no such object");
        err = AL_ERR_OBJECT_MISSING;
    }
out:
    if (e != NULL)
        curl_easy_cleanup(e);
    free(a.body);
    free(l);
    return err;
}

/* ---- reading an object ---------------------------------------------------------- */

/* One object being read. The first part is fetched by the reader itself
 * (opening an input only sniffs it); from the second on, a thread of the
 * object's own fetches part k+1 into `next` while the reader consumes part
 * k from `buf`, so the store's latency is paid once per part in the
 * background: two parts of memory at most. The fetch side (curl handle,
 * pos, total, etag, fetched) belongs to the thread once it runs; what the
 * reader sees of it crosses under `lock` with each part. */
struct al_s3_object {
    const al_s3_conf_t *conf; /* borrowed */
    where_t where;
    char url[1200];
    char path[1100]; /* "/key" */
    char etag[128];  /* "" until the first answer (or the listing's) */
    CURL *easy;
    uint64_t pos;   /* the object offset of the next byte to fetch */
    uint64_t start; /* where reading began */
    uint64_t total; /* the object's size, once an answer said; UINT64_MAX unknown */
    uint64_t fetched;
    /* the reader's side */
    char *buf; /* the part being consumed */
    size_t blen, boff;
    int eof;
    al_err_t err; /* sticky */
    al_diag_t err_diag;
    uint64_t seen_total, seen_fetched; /* as of the last part handed over */
    /* the hand-over */
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *next;      /* the part being fetched, or fetched */
    size_t next_len; /* 0 with next_err OK: the end of the object */
    int next_ready;  /* next holds a part (or the end, or an error) for the reader */
    al_err_t next_err;
    al_diag_t next_diag;
    atomic_int stop; /* closing: the thread's transfer and backoff give up */
};

al_err_t al_s3_open(const al_s3_conf_t *c, const char *url, const char *etag, uint64_t offset,
                    al_s3_object_t **out, al_diag_t *diag)
{
    al_s3_object_t *o = calloc(1, sizeof(*o));
    al_err_t err;
    *out = NULL;
    if (o == NULL)
        return AL_ERR_NOMEM;
    err = parse_url(url, &o->where, diag);
    if (err == AL_ERR_OK && (o->where.key[0] == '\0' || strlen(o->where.key) >= 1024)) {
        al_diag_set(diag, url, 0);
        snprintf(diag->detail, sizeof(diag->detail), "not one object: give s3://bucket/key");
        err = AL_ERR_INVALID_ARG;
    }
    if (err == AL_ERR_OK) {
        o->buf = malloc(AL_S3_PART_BYTES);
        o->easy = curl_easy_init();
        err = o->buf != NULL && o->easy != NULL ? AL_ERR_OK : AL_ERR_NOMEM;
    }
    if (err != AL_ERR_OK) {
        al_s3_close(o);
        return err;
    }
    o->conf = c;
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    snprintf(o->url, sizeof(o->url), "%s", url);
    snprintf(o->path, sizeof(o->path), "/%s", o->where.key);
    snprintf(o->etag, sizeof(o->etag), "%s", etag != NULL ? etag : "");
    o->pos = o->start = offset;
    o->total = o->seen_total = UINT64_MAX;
    *out = o;
    return AL_ERR_OK;
}

typedef struct {
    al_s3_object_t *o;
    answer_t *a;
    char range[64];
} part_t;

/* A part broke off: ask for the rest of it, from the byte where it stopped. */
static void part_again(void *ctx, request_t *rq)
{
    part_t *p = ctx;
    snprintf(p->range, sizeof(p->range), "bytes=%llu-%llu",
             (unsigned long long)(p->o->pos + p->a->dlen),
             (unsigned long long)(p->o->pos + p->a->dcap - 1));
    rq->range = p->range;
    rq->if_match = p->o->etag[0] != '\0' ? p->o->etag : NULL;
}

/* Fetches the next part into dst (len 0 at the end of the object).
 * @return AL_ERR_OK or the error (diag filled). */
static al_err_t fetch_into(al_s3_object_t *o, char *dst, size_t *len, al_diag_t *diag)
{
    answer_t a = {0};
    part_t p = {o, &a, ""};
    request_t rq = {o->path, NULL, NULL, NULL};
    al_err_t err;

    *len = 0;
    if (o->total != UINT64_MAX && o->pos >= o->total)
        return AL_ERR_OK;
    a.dst = dst;
    a.dcap = o->fetched == 0 && o->pos == o->start ? FIRST_PART : AL_S3_PART_BYTES;
    part_again(&p, &rq);
    err = run(o->easy, o->conf, &o->where, &rq, &a, part_again, &p, o->url, &o->stop, diag);
    o->fetched += a.dlen;
    free(a.body);
    if (err == AL_ERR_OBJECT_ACCESS && strstr(diag->detail, "InvalidRange") != NULL) {
        o->total = o->pos; /* asked from its end: an empty object, or read to its end */
        return AL_ERR_OK;
    }
    if (err != AL_ERR_OK)
        return err;
    if (o->etag[0] == '\0') {
        snprintf(o->etag, sizeof(o->etag), "%s", a.etag);
    } else if (a.etag[0] != '\0' && strcmp(a.etag, o->etag) != 0) {
        /* a store that does not honour If-Match: the ETag tells */
        al_diag_set(diag, o->url, 0);
        snprintf(diag->detail, sizeof(diag->detail),
                 "the object was replaced while it was read (ETag %.60s, listed as %.60s)", a.etag,
                 o->etag);
        return AL_ERR_INPUT_CHANGED;
    }
    if (a.total > 0 || o->total == UINT64_MAX)
        o->total = a.total; /* no Content-Range: the whole object came */
    *len = a.dlen;
    o->pos += a.dlen;
    return AL_ERR_OK;
}

/* The fetch thread: fills `next` whenever the reader has taken it. */
static void *fetcher(void *arg)
{
    al_s3_object_t *o = arg;
    for (;;) {
        size_t len;
        al_diag_t d;
        al_err_t err;
        pthread_mutex_lock(&o->lock);
        while (o->next_ready && !atomic_load(&o->stop))
            pthread_cond_wait(&o->cond, &o->lock);
        pthread_mutex_unlock(&o->lock);
        if (atomic_load(&o->stop))
            return NULL;
        memset(&d, 0, sizeof(d));
        err = fetch_into(o, o->next, &len, &d);
        pthread_mutex_lock(&o->lock);
        o->next_len = len;
        o->next_err = err;
        o->next_diag = d;
        o->next_ready = 1;
        pthread_cond_broadcast(&o->cond);
        pthread_mutex_unlock(&o->lock);
        if (err != AL_ERR_OK || len == 0)
            return NULL; /* the end, or a failure: nothing more to fetch */
    }
}

/* The next part into buf: the first by the reader itself, the others from
 * the thread (started after the first). @return AL_ERR_OK (blen 0 at the
 * end) or the error. */
static al_err_t next_part(al_s3_object_t *o, al_diag_t *diag)
{
    char *t;
    al_err_t err;
    o->boff = o->blen = 0;
    if (!o->started) {
        err = fetch_into(o, o->buf, &o->blen, diag);
        o->seen_total = o->total;
        o->seen_fetched = o->fetched;
        if (err != AL_ERR_OK || o->blen == 0)
            return err;
        o->next = malloc(AL_S3_PART_BYTES);
        if (o->next == NULL)
            return AL_ERR_NOMEM;
        if (pthread_create(&o->thread, NULL, fetcher, o) != 0)
            return AL_ERR_THREAD;
        o->started = 1;
        return AL_ERR_OK;
    }
    pthread_mutex_lock(&o->lock);
    while (!o->next_ready)
        pthread_cond_wait(&o->cond, &o->lock);
    /* the thread waits for the hand-over: what it knows is the reader's to read */
    o->seen_total = o->total;
    o->seen_fetched = o->fetched;
    t = o->buf; /* the consumed part becomes the one to fill */
    o->buf = o->next;
    o->next = t;
    o->blen = o->next_len;
    err = o->next_err;
    if (err != AL_ERR_OK)
        *diag = o->next_diag;
    o->next_ready = err != AL_ERR_OK || o->blen == 0; /* the thread has ended */
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    return err;
}

ssize_t al_s3_read(al_s3_object_t *o, void *dst, size_t cap, al_err_t *err, al_diag_t *diag)
{
    size_t n;
    if (o->err != AL_ERR_OK) {
        *err = o->err;
        *diag = o->err_diag;
        return -1;
    }
    if (o->boff == o->blen) {
        al_err_t e = o->eof ? AL_ERR_OK : next_part(o, &o->err_diag);
        if (e != AL_ERR_OK) {
            if (e == AL_ERR_INPUT_CHANGED && strstr(o->err_diag.detail, "replaced") == NULL)
                snprintf(o->err_diag.detail, sizeof(o->err_diag.detail),
                         "the object was replaced while it was read (its ETag no longer "
                         "matches %.60s)",
                         o->etag);
            o->err = e;
            *err = e;
            *diag = o->err_diag;
            return -1;
        }
        if (o->blen == 0) {
            o->eof = 1;
            return 0;
        }
    }
    n = o->blen - o->boff < cap ? o->blen - o->boff : cap;
    memcpy(dst, o->buf + o->boff, n);
    o->boff += n;
    return (ssize_t)n;
}

uint64_t al_s3_size(const al_s3_object_t *o)
{
    return o->seen_total == UINT64_MAX ? 0 : o->seen_total;
}

uint64_t al_s3_fetched(const al_s3_object_t *o)
{
    return o->seen_fetched;
}

void al_s3_close(al_s3_object_t *o)
{
    if (o == NULL)
        return;
    if (o->started) {
        pthread_mutex_lock(&o->lock);
        atomic_store(&o->stop, 1);
        pthread_cond_broadcast(&o->cond);
        pthread_mutex_unlock(&o->lock);
        pthread_join(o->thread, NULL);
    }
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
    if (o->easy != NULL)
        curl_easy_cleanup(o->easy);
    free(o->buf);
    free(o->next);
    free(o);
}
