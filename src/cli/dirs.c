/* dirs.c - mkdir -p with mode 0700, and its undo for `ampload check`, which
 * leaves no directory behind that it made only to test; and the check that
 * an output file (--report, --audit) can be written, made before the first
 * request rather than found out after the last. */
#include "cli.h"

#include "privfile.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int cli_make_dirs(const char *path, int *created)
{
    char tmp[PATH_MAX];
    size_t len = strlen(path);
    int dummy;
    if (created == NULL)
        created = &dummy;
    *created = 0;
    if (len == 0 || len >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) == 0)
            ++*created;
        else if (errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) == 0)
        ++*created;
    else if (errno != EEXIST)
        return -1;
    return 0;
}

void cli_remove_created_dirs(const char *path, int created)
{
    char tmp[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(tmp))
        return;
    memcpy(tmp, path, len + 1);
    while (created-- > 0) {
        char *slash;
        while (len > 1 && tmp[len - 1] == '/')
            tmp[--len] = '\0';
        if (rmdir(tmp) != 0)
            return;
        slash = strrchr(tmp, '/');
        if (slash == NULL)
            return;
        len = (size_t)(slash - tmp);
        *slash = '\0';
    }
}

int cli_output_path_ok(const char *prog, const char *opt, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct stat st;
    const char *why = NULL;

    al_parent_dir(path, dir, sizeof(dir));
    if (path[0] == '\0' || (slash != NULL && slash[1] == '\0'))
        why = "names a directory, not a file";
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        why = "is a directory";
    else if (stat(dir, &st) != 0)
        why = errno == ENOENT ? "its directory does not exist" : strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "its directory is not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = "its directory is not writable";
    else if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
        why = "it is not writable";
    if (why == NULL)
        return 1;
    fprintf(stderr,
            "%s: %s %s: %s\n  hint: nothing was sent; create the directory or choose another "
            "path\n",
            prog, opt, path, why);
    return 0;
}

/* path with its directory resolved (links, "..", "."), into out.
 * @return 0 when the directory cannot be resolved. */
static int resolved(const char *path, char *out, size_t cap)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    al_parent_dir(path, dir, sizeof(dir));
    if (realpath(dir, real) == NULL)
        return 0;
    return snprintf(out, cap, "%s/%s", real, slash != NULL ? slash + 1 : path) < (int)cap;
}

/* @return 1 when a and b name the same file: one inode, or (one of them
 * not made yet) the same name in the same directory. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    char ra[PATH_MAX + NAME_MAX + 2], rb[PATH_MAX + NAME_MAX + 2];
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return resolved(a, ra, sizeof(ra)) && resolved(b, rb, sizeof(rb)) && strcmp(ra, rb) == 0;
}

int cli_output_not_taken(const char *prog, const char *opt, const char *path,
                         const char *const *files, const char *const *roles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (files[i] == NULL || !same_file(path, files[i]))
            continue;
        fprintf(stderr,
                "%s: %s %s: it is the run's %s (writing there would destroy it)\n"
                "  hint: nothing was sent; choose another path\n",
                prog, opt, path, roles[i]);
        return 0;
    }
    return 1;
}
