/* fileid.c - the fingerprint of an input file (fileid.h).
 *
 * An object in a bucket has no file here to fingerprint: its identity is
 * what its listing said - its size and ETag - noted by the listing
 * (al_file_identity_note) in a table that lives as long as the process, so
 * that the checkpoint refuses to resume an object that was replaced, as it
 * does a file that changed.
 */
#include "fileid.h"

#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define IDENTITY_SPAN (64 * 1024)

static uint64_t hash_span(int fd, off_t at, size_t n, int *ok)
{
    char *buf = malloc(n ? n : 1);
    ssize_t got;
    uint64_t h;
    if (buf == NULL) {
        *ok = 0;
        return 0;
    }
    got = pread(fd, buf, n, at);
    if (got < 0 || (size_t)got != n)
        *ok = 0;
    h = XXH3_64bits(buf, got > 0 ? (size_t)got : 0);
    free(buf);
    return h;
}

typedef struct {
    char *url; /* NULL: a free slot */
    uint64_t size, etag;
} noted_t;

static pthread_mutex_t noted_lock = PTHREAD_MUTEX_INITIALIZER;
static noted_t *noted;
static size_t noted_cap, noted_n;

/* The slot of url in a table of cap (a power of two), found or free. */
static noted_t *slot(noted_t *t, size_t cap, const char *url)
{
    size_t i = (size_t)XXH3_64bits(url, strlen(url)) & (cap - 1);
    while (t[i].url != NULL && strcmp(t[i].url, url) != 0)
        i = (i + 1) & (cap - 1);
    return &t[i];
}

static int grow_noted(void)
{
    size_t cap = noted_cap ? noted_cap * 2 : 1024;
    noted_t *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return 0;
    for (size_t i = 0; i < noted_cap; i++)
        if (noted[i].url != NULL)
            *slot(t, cap, noted[i].url) = noted[i];
    free(noted);
    noted = t;
    noted_cap = cap;
    return 1;
}

al_err_t al_file_identity_note(const char *url, uint64_t size, const char *etag)
{
    noted_t *e;
    al_err_t err = AL_ERR_OK;
    pthread_mutex_lock(&noted_lock);
    if ((noted_n + 1) * 2 > noted_cap && !grow_noted()) {
        err = AL_ERR_NOMEM;
        goto out;
    }
    e = slot(noted, noted_cap, url);
    if (e->url == NULL) {
        e->url = strdup(url);
        if (e->url == NULL) {
            err = AL_ERR_NOMEM;
            goto out;
        }
        noted_n++;
    }
    e->size = size;
    e->etag = XXH3_64bits(etag, strlen(etag));
out:
    pthread_mutex_unlock(&noted_lock);
    return err;
}

static al_err_t object_identity(const char *url, al_file_identity_t *id, al_diag_t *diag)
{
    noted_t *e = NULL;
    pthread_mutex_lock(&noted_lock);
    if (noted_cap > 0) {
        e = slot(noted, noted_cap, url);
        if (e->url != NULL) {
            id->regular = 1;
            id->size = e->size;
            id->head = e->etag;
            id->tail = XXH3_64bits(url, strlen(url));
        }
    }
    pthread_mutex_unlock(&noted_lock);
    if (e != NULL && id->regular)
        return AL_ERR_OK;
    al_diag_set(diag, url, 0);
    snprintf(diag->detail, sizeof(diag->detail), "an object its listing did not name");
    return AL_ERR_IO;
}

al_err_t al_file_identity(const char *path, al_file_identity_t *id, al_diag_t *diag)
{
    struct stat st;
    int fd, ok = 1;
    size_t span;

    memset(id, 0, sizeof(*id));
    if (al_s3_is_url(path))
        return object_identity(path, id, diag);
    /* O_NONBLOCK: a FIFO must not wait for a writer */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        al_diag_set(diag, path, errno);
        if (fd >= 0)
            close(fd);
        return AL_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) { /* a stream: nothing to fingerprint */
        close(fd);
        return AL_ERR_OK;
    }
    id->regular = 1;
    id->size = (uint64_t)st.st_size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    span = id->size < IDENTITY_SPAN ? (size_t)id->size : IDENTITY_SPAN;
    id->head = hash_span(fd, 0, span, &ok);
    id->tail = hash_span(fd, (off_t)(id->size - span), span, &ok);
    close(fd);
    if (!ok) {
        al_diag_set(diag, path, EIO);
        return AL_ERR_IO;
    }
    return AL_ERR_OK;
}
