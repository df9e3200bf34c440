/* sigv4.h - AWS Signature Version 4 for S3 requests, over OpenSSL.
 *
 * One function turns a request (method, host, object path, query
 * parameters, headers to sign) and credentials into what goes on the wire:
 * the path and query encoded as S3 canonicalises them, and the headers
 * x-amz-date, x-amz-content-sha256, x-amz-security-token (temporary
 * credentials) and Authorization. The URL a request is sent to is built
 * from the same encoded path and query that were signed, so the two cannot
 * disagree - the usual cause of SignatureDoesNotMatch on keys with '#',
 * '+', spaces or non-ASCII bytes.
 *
 * S3's rules, which differ from the other services': the path is encoded
 * once (not twice), '/' kept; query names and values are encoded with '/'
 * as %2F and sorted by name, then value; x-amz-content-sha256 is sent and
 * signed (a GET's empty payload hash), which some S3-compatible servers
 * require.
 *
 * Secrets: the secret access key and the session token are read, never
 * copied into anything but the signature's HMAC and the token header.
 *
 * Thread-safety: any thread; no state.
 */
#ifndef AL_SIGV4_H
#define AL_SIGV4_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Credentials for signing: a key id and secret, and a session token for
 * temporary credentials ("" when none). */
typedef struct {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096];
    int64_t expires; /* unix seconds when temporary credentials end; 0 = never */
} al_aws_creds_t;

typedef struct {
    const char *method;  /* "GET" */
    const char *host;    /* as the Host header carries it: "bucket.s3.eu-west-1.amazonaws.com",
                          * "127.0.0.1:4568" */
    const char *path;    /* the absolute path, not encoded: "/bucket/2020-01-25_17#1.json.gz" */
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
    /* query parameters as name, value pairs, not encoded, ended by NULL
     * (a value may be ""); NULL = none */
    const char *const *query;
    /* more headers to sign, as lowercase name, value pairs, ended by NULL
     * (e.g. "range", "bytes=0-9"); NULL = none */
    const char *const *headers;
    const char *payload_sha256; /* hex SHA-256 of the body; NULL = of an empty body */
    time_t now;                 /* the signing time */
} al_sigv4_req_t;

/* What a signed request carries. */
typedef struct {
    char path[3072];          /* the encoded path, for the URL */
    char query[8192];         /* the encoded, sorted query ("" when none), for the URL after '?' */
    char amz_date[17];        /* x-amz-date: YYYYMMDDTHHMMSSZ */
    char content_sha256[65];  /* x-amz-content-sha256 */
    char authorization[2048]; /* Authorization */
} al_sigv4_out_t;

/* Signs r with c into out. @return AL_ERR_OK, or INVALID_ARG when the path,
 * query or a header does not fit out's buffers (diag says which). */
al_err_t al_sigv4_sign(const al_sigv4_req_t *r, const al_aws_creds_t *c, al_sigv4_out_t *out,
                       al_diag_t *diag);

/* Percent-encodes n bytes of s as SigV4 does: unreserved characters
 * (A-Z a-z 0-9 - _ . ~) as they are, '/' as it is when keep_slash, every
 * other byte as %XX (upper case). Writes at most cap bytes with the NUL.
 * @return the length it needs (>= cap: did not fit). */
size_t al_sigv4_encode(const char *s, size_t n, int keep_slash, char *out, size_t cap);

/* Writes the hex SHA-256 of n bytes of data to hex[65]. */
void al_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
