/* s3.h - objects in S3 (and S3-compatible stores: MinIO, Ceph, R2, Google
 * Cloud Storage's XML interoperability API) as inputs: listing, and reading
 * an object as a stream of bytes.
 *
 * An input named s3://bucket/key is one object; s3://bucket/prefix/ every
 * object under the prefix; s3://bucket/2020-01-*.json.gz the objects whose
 * keys match the pattern (`*` and `?` within one "folder", `**` across
 * them). gs:// is the same through storage.googleapis.com (HMAC keys). A
 * listing is ListObjectsV2, page after page by continuation token, read
 * with expat (a streaming parser: a page of 1000 keys is parsed as it
 * arrives, in fixed memory, and expat is the long-kept standard C XML
 * parser); a pattern that matches nothing is an error, not an empty run.
 *
 * An object is read in parts of at most AL_S3_PART_BYTES by ranged GETs,
 * each with If-Match on the ETag the first answer (or the listing) gave, so
 * an object replaced while it is read is refused (INPUT_CHANGED), never
 * mixed. A part that breaks off or stalls (no byte for the timeout) is
 * asked for again from the byte where it stopped, with backoff, until the
 * retry budget is spent. While the reader consumes one part, a thread of
 * the object's own fetches the next: two parts of memory, whatever the
 * object's size; closing the reader stops that transfer at once.
 *
 * Every request is signed with SigV4 (sigv4.h). The credentials are never
 * written anywhere but the signature and the session token header.
 *
 * Thread-safety: a configuration is read-only once made; an object reader
 * belongs to one thread (its fetch thread is its own business); listing
 * from any thread.
 */
#ifndef AL_S3_H
#define AL_S3_H

#include "error.h"
#include "sigv4.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AL_S3_PART_BYTES (8u * 1024u * 1024u)

typedef struct {
    /* "http://127.0.0.1:4568" (--s3-endpoint, AWS_ENDPOINT_URL), or "" for
     * AWS's own https://s3.REGION.amazonaws.com (gs://: Google's) */
    char endpoint[512];
    char region[64];        /* "" = us-east-1 (gs://: auto) */
    int path_style;         /* endpoint/bucket/key rather than bucket.endpoint/key */
    al_aws_creds_t creds;   /* may be all empty: unsigned requests (public buckets) */
    const char *ca_file;    /* trust these CA certificates; NULL = the system's */
    int insecure;           /* test servers only */
    long stall_ms;          /* a transfer with no byte for this long is broken; 0 = 60 s */
    uint64_t retry_time_ms; /* budget for 5xx, SlowDown, resets, stalls; 0 = 600 s */
    uint32_t max_keys;      /* a listing page's size (tests: small); 0 = 1000 */
} al_s3_conf_t;

/* @return 1 when path names objects (s3:// or gs://). Any thread. */
int al_s3_is_url(const char *path);

/* One object of a listing. */
typedef struct {
    const char *key; /* borrowed for the callback */
    uint64_t size;
    const char *etag; /* as the store gives it, quotes included */
} al_s3_entry_t;

/* The objects url names, in key order (a glob filters a listing of its
 * literal prefix; a key that is not a prefix and has no pattern is one
 * object, checked by its listing). fn gets each; a non-zero return stops.
 * @return AL_ERR_OK; OBJECT_MISSING (no such bucket, no object matches);
 * OBJECT_ACCESS (refused: the store's code and message in diag); IO
 * (unreachable, or the retry budget spent); INVALID_ARG (not an object URL). */
al_err_t al_s3_list(const al_s3_conf_t *c, const char *url,
                    int (*fn)(void *ctx, const al_s3_entry_t *e), void *ctx, al_diag_t *diag);

/* Reads one ListObjectsV2 page (n bytes of XML, not NUL-terminated) as
 * the listing of key (the URL's key part: a key, a prefix or a pattern)
 * would: fn gets each object it names. *truncated and token[cap] get the
 * page's continuation. For the unit tests and the fuzzer, and al_s3_list.
 * @return 0, or -1 when the bytes are not such a page. */
int al_s3_parse_listing(const char *xml, size_t n, const char *key,
                        int (*fn)(void *ctx, const al_s3_entry_t *e), void *ctx, int *truncated,
                        char *token, size_t cap);

/* Reads the code and message of an S3 error document into code[ccap] and
 * message[mcap] ("" when absent). */
void al_s3_parse_error(const char *xml, size_t n, char *code, size_t ccap, char *message,
                       size_t mcap);

typedef struct al_s3_object al_s3_object_t;

/* Opens the object url names (one object: s3://bucket/key) for reading
 * from byte offset. etag: the listing's, to hold the object to (NULL: the
 * first answer's). Nothing is fetched yet. @return AL_ERR_OK, NOMEM,
 * INVALID_ARG. */
al_err_t al_s3_open(const al_s3_conf_t *c, const char *url, const char *etag, uint64_t offset,
                    al_s3_object_t **out, al_diag_t *diag);

/* Reads up to cap bytes. @return bytes, 0 at the end of the object, or -1
 * with *err (OBJECT_MISSING, OBJECT_ACCESS, INPUT_CHANGED, IO) and diag. */
ssize_t al_s3_read(al_s3_object_t *o, void *dst, size_t cap, al_err_t *err, al_diag_t *diag);

/* @return the object's size once known (after the first read), else 0. */
uint64_t al_s3_size(const al_s3_object_t *o);

/* @return the bytes fetched from the store so far (retries included). */
uint64_t al_s3_fetched(const al_s3_object_t *o);

/* Closes the reader. NULL is ignored. */
void al_s3_close(al_s3_object_t *o);

#endif
