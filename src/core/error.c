/* error.c - message and hint lookup for the error table in error.h.
 *
 * Kept trivial on purpose: the table is the design. Formatting lives here
 * rather than in the CLI so that every front end prints the same sentence. */
#include "error.h"

#include <stdio.h>
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
