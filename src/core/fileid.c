/* fileid.c - the fingerprint of an input file (fileid.h). */
#include "fileid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

al_err_t al_file_identity(const char *path, al_file_identity_t *id, al_diag_t *diag)
{
    struct stat st;
    int fd, ok = 1;
    size_t span;

    memset(id, 0, sizeof(*id));
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
