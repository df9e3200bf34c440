/* dirs.c - mkdir -p with mode 0700, and its undo for `ampload check`, which
 * leaves no directory behind that it made only to test. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
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
