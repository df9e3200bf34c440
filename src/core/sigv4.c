/* sigv4.c - AWS Signature Version 4, S3's variant (sigv4.h).
 *
 * The steps are AWS's: a canonical request (method, encoded path, sorted
 * encoded query, lowercase sorted headers, the signed header names, the
 * payload hash), its SHA-256 in a string to sign with the date and the
 * credential scope, and an HMAC-SHA256 chain from "AWS4" + secret over the
 * date, region, service and "aws4_request" that signs it. The encoding is
 * done here, once, and handed back for the URL, so what is signed is what
 * is sent (libcurl's own CURLOPT_AWS_SIGV4 is not used: it signs the URL as
 * given, and older releases canonicalised queries differently from S3).
 */
#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAIRS 64
#define CANONICAL_CAP                                                                              \
    (sizeof(((al_sigv4_out_t *)0)->path) + sizeof(((al_sigv4_out_t *)0)->query) + 8192)

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void al_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
    to_hex(md, 32, hex);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

size_t al_sigv4_encode(const char *s, size_t n, int keep_slash, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            if (k + 1 < cap)
                out[k] = (char)c;
            k++;
        } else {
            if (k + 3 < cap) {
                out[k] = '%';
                out[k + 1] = "0123456789ABCDEF"[c >> 4];
                out[k + 2] = "0123456789ABCDEF"[c & 15];
            }
            k += 3;
        }
    }
    if (cap > 0)
        out[k < cap ? k : cap - 1] = '\0';
    return k;
}

/* An appending writer over a fixed buffer; a write that does not fit marks
 * it full, and nothing after counts. */
typedef struct {
    char *p;
    size_t cap, len;
    int full;
} buf_t;

static void put(buf_t *b, const char *s)
{
    size_t n = strlen(s);
    if (b->full || b->len + n + 1 > b->cap) {
        b->full = 1;
        return;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void put_encoded(buf_t *b, const char *s, int keep_slash)
{
    size_t need;
    if (b->full)
        return;
    need = al_sigv4_encode(s, strlen(s), keep_slash, b->p + b->len, b->cap - b->len);
    if (b->len + need + 1 > b->cap)
        b->full = 1;
    else
        b->len += need;
}

typedef struct {
    char *name, *value; /* encoded (query) or lowercase trimmed (headers) */
} pair_t;

static int pair_cmp(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static char *encoded(const char *s)
{
    size_t need = al_sigv4_encode(s, strlen(s), 0, NULL, 0) + 1;
    char *out = malloc(need);
    if (out != NULL)
        al_sigv4_encode(s, strlen(s), 0, out, need);
    return out;
}

/* The canonical query: names and values encoded, sorted. @return 0, or -1
 * (too many, out of memory, or it does not fit). */
static int canonical_query(const char *const *q, buf_t *out)
{
    pair_t v[MAX_PAIRS];
    size_t n = 0;
    int rc = 0;
    for (; q != NULL && q[0] != NULL && q[1] != NULL; q += 2) {
        if (n == MAX_PAIRS)
            goto fail;
        v[n].name = encoded(q[0]);
        v[n].value = encoded(q[1]);
        n++;
        if (v[n - 1].name == NULL || v[n - 1].value == NULL)
            goto fail;
    }
    qsort(v, n, sizeof(v[0]), pair_cmp);
    for (size_t i = 0; i < n; i++) {
        put(out, i > 0 ? "&" : "");
        put(out, v[i].name);
        put(out, "=");
        put(out, v[i].value);
    }
    goto out;
fail:
    rc = -1;
out:
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    return rc != 0 || out->full ? -1 : 0;
}

/* Header names and values as SigV4 wants them: the fixed ones, the
 * request's, sorted by name. Values are borrowed. @return the count. */
static size_t signed_headers(const al_sigv4_req_t *r, const al_aws_creds_t *c,
                             const al_sigv4_out_t *o, pair_t *h)
{
    size_t n = 0;
    h[n++] = (pair_t){"host", (char *)r->host};
    h[n++] = (pair_t){"x-amz-content-sha256", (char *)o->content_sha256};
    h[n++] = (pair_t){"x-amz-date", (char *)o->amz_date};
    if (c->session_token[0] != '\0')
        h[n++] = (pair_t){"x-amz-security-token", (char *)c->session_token};
    for (const char *const *x = r->headers;
         x != NULL && x[0] != NULL && x[1] != NULL && n < MAX_PAIRS; x += 2)
        h[n++] = (pair_t){(char *)x[0], (char *)x[1]};
    qsort(h, n, sizeof(h[0]), pair_cmp);
    return n;
}

static void signing_key(const al_aws_creds_t *c, const char *date, const al_sigv4_req_t *r,
                        unsigned char key[32])
{
    char k0[sizeof(c->secret_access_key) + 4];
    snprintf(k0, sizeof(k0), "AWS4%s", c->secret_access_key);
    hmac(k0, strlen(k0), date, key);
    hmac(key, 32, r->region, key);
    hmac(key, 32, r->service, key);
    hmac(key, 32, "aws4_request", key);
    OPENSSL_cleanse(k0, sizeof(k0));
}

al_err_t al_sigv4_sign(const al_sigv4_req_t *r, const al_aws_creds_t *c, al_sigv4_out_t *out,
                       al_diag_t *diag)
{
    char names[1024], date[9], scope[256], sts[512], hash[65];
    buf_t path = {out->path, sizeof(out->path), 0, 0};
    buf_t query = {out->query, sizeof(out->query), 0, 0};
    buf_t cr = {NULL, CANONICAL_CAP, 0, 0}, sh = {names, sizeof(names), 0, 0};
    pair_t h[MAX_PAIRS];
    unsigned char key[32], sig[32];
    struct tm tm;
    size_t nh;

    out->path[0] = out->query[0] = '\0';
    gmtime_r(&r->now, &tm);
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    if (r->payload_sha256 != NULL)
        snprintf(out->content_sha256, sizeof(out->content_sha256), "%s", r->payload_sha256);
    else
        al_sha256_hex("", 0, out->content_sha256);
    put_encoded(&path, r->path[0] != '\0' ? r->path : "/", 1);
    if (path.full || canonical_query(r->query, &query) != 0) {
        al_diag_set(diag, "", 0);
        snprintf(diag->detail, sizeof(diag->detail), "the request's %s is too long to sign",
                 path.full ? "object key" : "query");
        return AL_ERR_INVALID_ARG;
    }
    nh = signed_headers(r, c, out, h);
    cr.p = malloc(CANONICAL_CAP);
    if (cr.p == NULL)
        return AL_ERR_NOMEM;
    put(&cr, r->method);
    put(&cr, "\n");
    put(&cr, out->path);
    put(&cr, "\n");
    put(&cr, out->query);
    put(&cr, "\n");
    for (size_t i = 0; i < nh; i++) {
        put(&cr, h[i].name);
        put(&cr, ":");
        put(&cr, h[i].value);
        put(&cr, "\n");
        put(&sh, i > 0 ? ";" : "");
        put(&sh, h[i].name);
    }
    put(&cr, "\n");
    put(&cr, names);
    put(&cr, "\n");
    put(&cr, out->content_sha256);
    if (cr.full || sh.full) {
        free(cr.p);
        al_diag_set(diag, "", 0);
        snprintf(diag->detail, sizeof(diag->detail), "the request's headers are too long to sign");
        return AL_ERR_INVALID_ARG;
    }
    al_sha256_hex(cr.p, cr.len, hash);
    free(cr.p);
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, r->region, r->service);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date, scope, hash);
    signing_key(c, date, r, key);
    hmac(key, 32, sts, sig);
    OPENSSL_cleanse(key, sizeof(key));
    to_hex(sig, 32, hash);
    snprintf(out->authorization, sizeof(out->authorization),
             "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s", c->access_key_id,
             scope, names, hash);
    return AL_ERR_OK;
}
