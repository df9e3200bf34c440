/* privfile.c - lock files and private files.
 *
 * The lock is a plain flock(2) on a file that is never removed: removing it
 * would let a third process lock a new inode while the second still holds
 * the old one. The owner's "pid host" is written after the lock is taken,
 * so a reader may see it empty for an instant; the refusal then says "an
 * unknown process" rather than guessing.
 */
#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct al_lockfile {
    int fd;
};

int al_open_private(const char *path, int append)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                  0600);
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static FILE *stream_of(int fd, const char *mode)
{
    FILE *fp;
    if (fd < 0)
        return NULL;
    fp = fdopen(fd, mode);
    if (fp == NULL) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return fp;
}

FILE *al_fopen_private(const char *path, int append)
{
    return stream_of(al_open_private(path, append), append ? "a" : "w");
}

FILE *al_fopen_tmp(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return NULL;
    return stream_of(open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), "w");
}

void al_parent_dir(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

int al_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    int fd, rc;

    al_parent_dir(path, dir, sizeof(dir));
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Reads the holder's "pid host" into detail. */
static void describe_holder(int fd, al_diag_t *diag)
{
    char buf[300];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid = 0;
    char host[256] = "";

    if (n > 0) {
        buf[n] = '\0';
        if (sscanf(buf, "%ld %255s", &pid, host) < 1)
            pid = 0;
    }
    if (pid > 0)
        snprintf(diag->detail, sizeof(diag->detail), "held by pid %ld on host %.200s", pid,
                 host[0] ? host : "?");
    else
        snprintf(diag->detail, sizeof(diag->detail), "held by another process");
}

al_err_t al_lockfile_take(const char *path, const char *what, al_lockfile_t **out, al_diag_t *diag)
{
    char owner[300], host[256];
    al_lockfile_t *l;
    int fd, len, ok;

    *out = NULL;
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        al_diag_set(diag, path, errno);
        return AL_ERR_STATE_DIR;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        al_diag_set(diag, what, e == EWOULDBLOCK ? 0 : e);
        if (e == EWOULDBLOCK)
            describe_holder(fd, diag);
        close(fd);
        return e == EWOULDBLOCK ? AL_ERR_LOCKED : AL_ERR_STATE_DIR;
    }
    l = malloc(sizeof(*l));
    if (l == NULL) {
        close(fd);
        return AL_ERR_NOMEM;
    }
    l->fd = fd;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    len = snprintf(owner, sizeof(owner), "%ld %s\n", (long)getpid(), host);
    /* who holds it is a courtesy for the refused run: a failure here does
     * not weaken the lock */
    ok = fchmod(fd, 0600) == 0 && ftruncate(fd, 0) == 0 &&
         pwrite(fd, owner, (size_t)len, 0) == (ssize_t)len;
    (void)ok;
    *out = l;
    return AL_ERR_OK;
}

void al_lockfile_release(al_lockfile_t *l)
{
    if (l == NULL)
        return;
    /* the "pid host" stays: it is overwritten by the next owner, and an
     * unlocked file with a stale name in it refuses nobody */
    close(l->fd);
    free(l);
}
