/* error.c - message and hint lookup for the error table in error.h.
 *
 * Kept trivial on purpose: the table is the design. Formatting lives here
 * rather than in the CLI so that every front end prints the same sentence. */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *al_strerror(al_err_t err)
{
    switch (err) {
#define AL_ERR_MSG(code, name, msg, hint)                                                          \
    case AL_ERR_##name:                                                                            \
        return msg;
        AL_ERR_MAP(AL_ERR_MSG)
#undef AL_ERR_MSG
    }
    return "unknown error";
}

const char *al_errhint(al_err_t err)
{
    switch (err) {
#define AL_ERR_HINT(code, name, msg, hint)                                                         \
    case AL_ERR_##name:                                                                            \
        return hint;
        AL_ERR_MAP(AL_ERR_HINT)
#undef AL_ERR_HINT
    }
    return "";
}

void al_diag_set(al_diag_t *d, const char *path, int sys_errno)
{
    memset(d, 0, sizeof(*d));
    d->sys_errno = sys_errno;
    if (path != NULL)
        snprintf(d->path, sizeof(d->path), "%s", path);
}

char *al_diag_format(al_err_t err, const al_diag_t *d, char *buf, size_t cap)
{
    size_t n = 0;
    int w;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (d != NULL && d->path[0] != '\0') {
        w = snprintf(buf, cap, "%s: ", d->path);
        n = (w < 0) ? 0 : (size_t)w;
    }
    if (n < cap) {
        w = snprintf(buf + n, cap - n, "%s", al_strerror(err));
        n += (w < 0) ? 0 : (size_t)w;
    }
    if (d != NULL && d->detail[0] != '\0' && n < cap) {
        w = snprintf(buf + n, cap - n, " (%s)", d->detail);
        n += (w < 0) ? 0 : (size_t)w;
    } else if (d != NULL && d->sys_errno != 0 && n < cap) {
        w = snprintf(buf + n, cap - n, " (%s)", strerror(d->sys_errno));
        n += (w < 0) ? 0 : (size_t)w;
    }
    if (d != NULL && d->has_offset && n < cap)
        snprintf(buf + n, cap - n, " at byte %llu", (unsigned long long)d->offset);
    return buf;
}

/* A character of a key-like token: what API keys are made of. */
static int token_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-';
}

/* @return the length of the token at src[i] when it is at least 4 bytes,
 * starts a token, and is how the secret begins or ends (a server that
 * echoes "the first 4 characters..." or "...the last 4" of a wrong key
 * shows that much of it); else 0. Pieces from its middle are left alone:
 * a key such as KEY_identify_77 must not blank the word "identify". */
static size_t secret_piece(const char *src, size_t len, size_t i, const char *secret, size_t kl)
{
    size_t j = i;
    if ((i > 0 && token_char(src[i - 1])) || !token_char(src[i]))
        return 0;
    while (j < len && token_char(src[j]))
        j++;
    if (j - i < 4 || j - i > kl ||
        (memcmp(secret, src + i, j - i) != 0 && memcmp(secret + kl - (j - i), src + i, j - i) != 0))
        return 0;
    return j - i;
}

size_t al_redact_copy(char *dst, size_t cap, const char *src, size_t len, const char *secret)
{
    static const char mask[] = "[redacted]";
    size_t kl = secret != NULL ? strlen(secret) : 0, n = 0, i = 0, skip;

    if (cap == 0)
        return 0;
    while (i < len && n + 1 < cap) {
        skip = 0;
        if (kl > 0 && len - i >= kl && memcmp(src + i, secret, kl) == 0)
            skip = kl;
        else if (kl > 0)
            skip = secret_piece(src, len, i, secret, kl);
        if (skip > 0) {
            size_t m = sizeof(mask) - 1 < cap - 1 - n ? sizeof(mask) - 1 : cap - 1 - n;
            memcpy(dst + n, mask, m);
            n += m;
            i += skip;
        } else {
            dst[n++] = src[i++];
        }
    }
    dst[n] = '\0';
    return n;
}

void al_redact(char *s, size_t cap, const char *secret)
{
    char *copy;
    size_t len;
    if (secret == NULL || secret[0] == '\0' || cap == 0)
        return;
    len = strnlen(s, cap);
    copy = malloc(len + 1);
    if (copy == NULL) {
        s[0] = '\0'; /* better nothing than the key */
        return;
    }
    memcpy(copy, s, len);
    al_redact_copy(s, cap, copy, len, secret);
    free(copy);
}

void al_first_err_init(al_first_err_t *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
}

void al_first_err_destroy(al_first_err_t *f)
{
    pthread_mutex_destroy(&f->lock);
}

int al_first_err_set(al_first_err_t *f, al_err_t err, const al_diag_t *diag)
{
    int first;
    pthread_mutex_lock(&f->lock);
    first = f->err == AL_ERR_OK;
    if (first) {
        f->err = err;
        if (diag != NULL)
            f->diag = *diag;
        else
            memset(&f->diag, 0, sizeof(f->diag));
    }
    pthread_mutex_unlock(&f->lock);
    return first;
}

al_err_t al_first_err_get(al_first_err_t *f, al_diag_t *diag)
{
    al_err_t err;
    pthread_mutex_lock(&f->lock);
    err = f->err;
    if (err != AL_ERR_OK && diag != NULL)
        *diag = f->diag;
    pthread_mutex_unlock(&f->lock);
    return err;
}
