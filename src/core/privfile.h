/* privfile.h - one owner at a time (a lock file), and private files.
 *
 * A state directory (statedir.h) or an export's directory holds what makes
 * a run resumable and exactly-once. Two processes writing them at once (a
 * cron overlap, a scheduler requeue while the old task still runs) would
 * duplicate records and move the checkpoint backwards, so a run holds an
 * exclusive flock(2) on the directory's lock file for its whole life. flock belongs to the open
 * file: a process killed with -9 releases it with its last descriptor, so a lock is never stale.
 * The lock file holds "pid host" of its owner, only so a refused run can say who.
 *
 * Every file ampload writes may hold events (personal data), so each is
 * created 0600, never through a symlink (O_NOFOLLOW), and temporary files
 * are created with O_EXCL after removing any leftover of the same name.
 *
 * Thread-safety: the lock functions on the owner thread; the open helpers
 * from any thread.
 */
#ifndef AL_PRIVFILE_H
#define AL_PRIVFILE_H

#include "error.h"

#include <stdio.h>

typedef struct al_lockfile al_lockfile_t;

/* Takes the exclusive lock on the lock file at path (created 0600 if
 * missing, in a directory that must exist), without waiting. what names
 * the locked thing (the directory) in diag. @return AL_ERR_OK and *out
 * (release with al_lockfile_release); AL_ERR_LOCKED when another process
 * holds it (diag's detail names its pid and host); STATE_DIR when the lock
 * file cannot be created (diag has path and errno). */
al_err_t al_lockfile_take(const char *path, const char *what, al_lockfile_t **out, al_diag_t *diag);

/* Releases and frees the lock. NULL is ignored. */
void al_lockfile_release(al_lockfile_t *l);

/* Opens path for writing as a private file: created 0600 (an existing file
 * is made 0600), refused if path is a symlink. append: O_APPEND, else
 * O_TRUNC. @return a file descriptor, or -1 with errno. */
int al_open_private(const char *path, int append);

/* The same as a stdio stream. @return the stream, or NULL with errno. */
FILE *al_fopen_private(const char *path, int append);

/* Creates a fresh temporary file at path (0600, O_EXCL, no symlink),
 * removing a leftover of an earlier crash first. @return the stream, or
 * NULL with errno. */
FILE *al_fopen_tmp(const char *path);

/* Writes the directory that holds path into dir[cap]: "." for a bare name,
 * "/" for a file at the root. Thread-safety: any thread. */
void al_parent_dir(const char *path, char *dir, size_t cap);

/* fsync(2) of the directory that holds path, so a rename or unlink in it
 * survives a power cut. @return 0 or -1 with errno. */
int al_fsync_parent(const char *path);

#endif
