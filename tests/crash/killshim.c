/* killshim.c - an LD_PRELOAD library that kills its process with SIGKILL
 * just before a chosen rename(2), fsync(2), fdatasync(2) or unlink(2), so
 * the crash tests can stop ampload at an exact step of a checkpoint save or
 * a rollback instead of at a random moment.
 *
 *   AMPLOAD_KILL_AT=OP:TEXT   OP is rename, fsync, unlink or any; the call
 *                             matches when a path it names contains TEXT
 *                             (for fsync, the path of the descriptor); an
 *                             empty TEXT matches every path
 *   AMPLOAD_KILL_NTH=N        kill before the Nth matching call (default 1)
 *   AMPLOAD_KILL_LOG=FILE     append "OP PATH" for every call, matching or
 *                             not, so a test can list the steps of a run
 *
 * Built without sanitizers: it only forwards calls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long seen;

static void log_call(const char *op, const char *path)
{
    const char *log = getenv("AMPLOAD_KILL_LOG");
    char line[PATH_MAX + 32];
    int fd, n;
    if (log == NULL)
        return;
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%s %s\n", op, path);
    if (n > 0 && write(fd, line, (size_t)n) < 0)
        n = 0;
    close(fd);
}

/* Kills the process when this call (op on path a or b) is the chosen one. */
static void maybe_kill(const char *op, const char *a, const char *b)
{
    const char *at = getenv("AMPLOAD_KILL_AT"), *nth = getenv("AMPLOAD_KILL_NTH");
    const char *colon;
    size_t oplen;

    log_call(op, a);
    if (at == NULL || (colon = strchr(at, ':')) == NULL)
        return;
    oplen = (size_t)(colon - at);
    if (!(oplen == 3 && strncmp(at, "any", 3) == 0) &&
        !(strlen(op) == oplen && strncmp(at, op, oplen) == 0))
        return;
    if (colon[1] != '\0' && strstr(a, colon + 1) == NULL &&
        (b == NULL || strstr(b, colon + 1) == NULL))
        return;
    if (__atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST) == (nth != NULL ? atol(nth) : 1))
        raise(SIGKILL);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (real == NULL)
        real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    maybe_kill("rename", to, from);
    return real(from, to);
}

int unlink(const char *path)
{
    static int (*real)(const char *);
    if (real == NULL)
        real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
    maybe_kill("unlink", path, NULL);
    return real(path);
}

static void fd_path(int fd, char *buf, size_t cap)
{
    char link[64];
    ssize_t n;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
}

int fsync(int fd)
{
    static int (*real)(int);
    char path[PATH_MAX];
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    fd_path(fd, path, sizeof(path));
    maybe_kill("fsync", path, NULL);
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    char path[PATH_MAX];
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    fd_path(fd, path, sizeof(path));
    maybe_kill("fsync", path, NULL);
    return real(fd);
}
