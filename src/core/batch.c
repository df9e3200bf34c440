/* batch.c - request body assembly.
 *
 * The body is written front to back in one buffer: the envelope head is
 * written when the batch is created, events are appended with a comma between
 * them, and the tail is appended by al_batch_finish(). The byte limit is
 * checked against the body as it will be once finished, so a batch that says
 * an event fits can always be closed within max_bytes. The buffer grows by
 * doubling up to the limit; reusing a batch (al_batch_reset) keeps it, so a
 * steady run allocates nothing per event.
 *
 * Batches are made by parser threads and freed by the sender once their
 * request is answered: a few freed ones (POOL_MAX, normal-sized bodies only)
 * wait in a small pool under a mutex for the next al_batch_new(), so a long
 * run does not fault in fresh pages for every ~1 MB body and ~110 KB of
 * per-event bookkeeping. One lock per batch, never per event.
 *
 * With gzip on, al_batch_finish() compresses the finished body in the thread
 * that finished it - the parser threads, in parallel, or the sender for the
 * rare rebuilt batch - so the sender thread never compresses in bulk. The
 * plain body stays: the sender rebuilds subsets from it and writes its
 * events to the reject and failed files.
 */
#include "batch.h"

#include "identify.h"
#include "json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>

#define INITIAL_CAP (1u << 20)
#define POOL_MAX    8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static al_batch_t *pool[POOL_MAX];
static unsigned pool_n;

static al_batch_t *pool_take(void)
{
    al_batch_t *b = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_n > 0)
        b = pool[--pool_n];
    pthread_mutex_unlock(&pool_lock);
    return b;
}

/* @return 1 when the pool kept b. */
static int pool_give(al_batch_t *b)
{
    int kept = 0;
    if (b->cap > 2 * INITIAL_CAP)
        return 0; /* a body grown for huge events: give the memory back */
    pthread_mutex_lock(&pool_lock);
    if (pool_n < POOL_MAX) {
        pool[pool_n++] = b;
        kept = 1;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

void al_batch_pool_drain(void)
{
    al_batch_t *b;
    while ((b = pool_take()) != NULL) {
        free(b->body);
        free(b->gz);
        free(b);
    }
}

void al_batch_opts_init(al_batch_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_events = AL_MAX_BATCH_EVENTS;
    opts->max_bytes = AL_DEFAULT_BATCH_BYTES;
    opts->min_id_length = 5;
}

static size_t write_head(const al_batch_opts_t *o, char *dst)
{
    size_t n = 0;
    if (o->form) {
        dst[0] = '[';
        return 1;
    }
    memcpy(dst, "{\"api_key\":\"", 12);
    n = 12;
    n += al_json_escape(dst + n, o->api_key, strlen(o->api_key));
    memcpy(dst + n, "\",\"events\":[", 12);
    return n + 12;
}

static size_t write_tail(const al_batch_opts_t *o, char *dst)
{
    if (o->form) {
        dst[0] = ']';
        return 1;
    }
    if (o->min_id_length == 0) {
        memcpy(dst, "]}", 2);
        return 2;
    }
    return (size_t)sprintf(dst, "],\"options\":{\"min_id_length\":%u}}", o->min_id_length);
}

static size_t tail_bytes(const al_batch_opts_t *o)
{
    char tmp[64];
    return write_tail(o, tmp);
}

size_t al_batch_envelope_bytes(const al_batch_opts_t *o)
{
    char head[12 + AL_JSON_ESCAPED_MAX(AL_MAX_API_KEY_BYTES) + 12];
    return write_head(o, head) + tail_bytes(o);
}

al_batch_t *al_batch_new(const al_batch_opts_t *opts)
{
    al_batch_t *b = pool_take();
    size_t need = 12 + AL_JSON_ESCAPED_MAX(strlen(opts->api_key)) + 12;

    if (b != NULL && b->cap >= need + 64) {
        b->opts = opts;
        b->tail = tail_bytes(opts);
        b->events = 0;
        b->finished = 0;
        b->gz_len = 0;
        b->len = write_head(opts, b->body);
        return b;
    }
    if (b != NULL) {
        free(b->body);
        free(b->gz);
        free(b);
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->opts = opts;
    b->tail = tail_bytes(opts);
    b->cap = INITIAL_CAP < opts->max_bytes ? INITIAL_CAP : opts->max_bytes;
    if (b->cap < need + 64)
        b->cap = need + 64;
    b->body = malloc(b->cap);
    if (b->body == NULL) {
        free(b);
        return NULL;
    }
    b->len = write_head(opts, b->body);
    return b;
}

void al_batch_reset(al_batch_t *b)
{
    b->len = write_head(b->opts, b->body);
    b->events = 0;
    b->finished = 0;
    b->gz_len = 0;
}

int al_batch_fits(const al_batch_t *b, size_t len)
{
    size_t after;
    if (b->finished || b->events >= b->opts->max_events)
        return 0;
    after = b->len + (b->events > 0 ? 1 : 0) + len + b->tail;
    return after <= b->opts->max_bytes;
}

al_err_t al_batch_add_edited(al_batch_t *b, const char *event, size_t len, const al_inject_t *inj,
                             const al_origin_t *origin)
{
    size_t size = inj != NULL ? len - inj->cut + inj->text_len : len;
    size_t need;
    char *dst;

    if (!al_batch_fits(b, size))
        return AL_ERR_INVALID_ARG;
    need = b->len + 1 + size + 64;
    if (need > b->cap) {
        size_t cap = b->cap;
        char *nb;
        while (cap < need)
            cap *= 2;
        if (cap > b->opts->max_bytes + 64)
            cap = b->opts->max_bytes + 64;
        nb = realloc(b->body, cap);
        if (nb == NULL)
            return AL_ERR_NOMEM;
        b->body = nb;
        b->cap = cap;
    }
    if (b->events > 0)
        b->body[b->len++] = ',';
    b->off[b->events] = (uint32_t)b->len;
    b->elen[b->events] = (uint32_t)size;
    if (origin != NULL)
        b->origin[b->events] = *origin;
    dst = b->body + b->len;
    if (inj == NULL) {
        memcpy(dst, event, len);
    } else {
        memcpy(dst, event, inj->at);
        memcpy(dst + inj->at, inj->text, inj->text_len);
        memcpy(dst + inj->at + inj->text_len, event + inj->at + inj->cut, len - inj->at - inj->cut);
    }
    b->len += size;
    b->events++;
    return AL_ERR_OK;
}

al_err_t al_batch_add(al_batch_t *b, const char *event, size_t len, const al_origin_t *origin)
{
    return al_batch_add_edited(b, event, len, NULL, origin);
}

al_err_t al_batch_add_from(al_batch_t *dst, const al_batch_t *src, uint32_t i)
{
    return al_batch_add(dst, src->body + src->off[i], src->elen[i], &src->origin[i]);
}

/* ISA-L's level-1 deflate (igzip) compresses event JSON about 6x faster
 * than zlib's level 1 and a little smaller. Its stream state and level
 * buffer (~360 KB) are kept per thread, so compressing allocates nothing;
 * they are freed when the thread ends. */
typedef struct {
    struct isal_zstream zs;
    uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
} gz_scratch_t;

static pthread_key_t gz_key;
static pthread_once_t gz_once = PTHREAD_ONCE_INIT;

static void gz_key_make(void)
{
    (void)pthread_key_create(&gz_key, free);
}

static gz_scratch_t *gz_scratch(void)
{
    gz_scratch_t *g;
    pthread_once(&gz_once, gz_key_make);
    g = pthread_getspecific(gz_key);
    if (g == NULL) {
        g = malloc(sizeof(*g));
        if (g != NULL && pthread_setspecific(gz_key, g) != 0) {
            free(g);
            g = NULL;
        }
    }
    return g;
}

/* gzip (RFC 1952) of the body into b->gz; on failure gz_len stays 0 and
 * the body goes as it is. */
static void compress_body(al_batch_t *b)
{
    gz_scratch_t *g = gz_scratch();
    /* incompressible input goes as stored blocks: 5 bytes per 64 KiB, plus
     * the gzip header and trailer */
    size_t bound = b->len + b->len / 8192 + 1024;

    if (g == NULL || b->len > UINT32_MAX - 65536)
        return;
    if (bound > b->gz_cap) {
        unsigned char *nb = realloc(b->gz, bound);
        if (nb == NULL)
            return;
        b->gz = nb;
        b->gz_cap = bound;
    }
    isal_deflate_stateless_init(&g->zs);
    g->zs.level = 1;
    g->zs.level_buf = g->level_buf;
    g->zs.level_buf_size = sizeof(g->level_buf);
    g->zs.gzip_flag = IGZIP_GZIP;
    g->zs.end_of_stream = 1;
    g->zs.flush = NO_FLUSH;
    g->zs.next_in = (uint8_t *)b->body;
    g->zs.avail_in = (uint32_t)b->len;
    g->zs.next_out = b->gz;
    g->zs.avail_out = (uint32_t)bound;
    if (isal_deflate_stateless(&g->zs) == COMP_OK)
        b->gz_len = g->zs.total_out;
}

/* The Identify form of the finished body into b->gz: both values
 * percent-encoded, in the thread that finished the batch. */
static al_err_t write_form(al_batch_t *b)
{
    size_t klen = strlen(b->opts->api_key);
    size_t need = 8 + AL_FORM_ENCODED_MAX(klen) + 16 + AL_FORM_ENCODED_MAX(b->len);
    size_t n;
    if (need > b->gz_cap) {
        unsigned char *nb = realloc(b->gz, need);
        if (nb == NULL)
            return AL_ERR_NOMEM;
        b->gz = nb;
        b->gz_cap = need;
    }
    memcpy(b->gz, "api_key=", 8);
    n = 8 + al_form_encode((char *)b->gz + 8, b->opts->api_key, klen);
    memcpy(b->gz + n, "&identification=", 16);
    n += 16;
    n += al_form_encode((char *)b->gz + n, b->body, b->len);
    b->gz_len = n;
    return AL_ERR_OK;
}

al_err_t al_batch_finish(al_batch_t *b)
{
    if (b->finished)
        return AL_ERR_OK;
    b->len += write_tail(b->opts, b->body + b->len);
    b->finished = 1;
    b->gz_len = 0;
    if (b->opts->form)
        return write_form(b);
    if (b->opts->gzip_level > 0)
        compress_body(b);
    return AL_ERR_OK;
}

const void *al_batch_wire(const al_batch_t *b, size_t *len)
{
    if (b->gz_len > 0) {
        *len = b->gz_len;
        return b->gz;
    }
    *len = b->len;
    return b->body;
}

void al_batch_free(al_batch_t *b)
{
    if (b == NULL || pool_give(b))
        return;
    free(b->body);
    free(b->gz);
    free(b);
}
