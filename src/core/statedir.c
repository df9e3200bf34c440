/* statedir.c - the state directory: the one table of its file names, and
 * the order in which a run takes it (see statedir.h).
 *
 * redis's aof.c owning the layout of its append-only files is the model:
 * nobody else builds a path in here.
 */
#include "statedir.h"

#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The layout: one row per file, in al_state_file_t's order. */
static const struct {
    const char *name, *role;
} layout[AL_STATE_NFILES] = {
    [AL_STATE_REJECT] = {"rejected.ndjson", "reject file"},
    [AL_STATE_FAILED] = {"failed.ndjson", "failed file"},
    [AL_STATE_FAILED_INDEX] = {"failed.index", "failed file's index"},
    [AL_STATE_CHECKPOINT] = {"checkpoint", "checkpoint"},
    [AL_STATE_LOCK] = {"lock", "lock file"},
    [AL_STATE_JOURNAL] = {"identify.journal", "journal"},
    [AL_STATE_HELD] = {"non-idempotent.ndjson", "held file (non-idempotent)"},
    [AL_STATE_HELD_INDEX] = {"non-idempotent.index", "held file's index"},
    [AL_STATE_DERIVED] = {"users-from-export.ndjson", "derived identifications"},
    [AL_STATE_DERIVED_INPUTS] = {"users-from-export.inputs", "list of the export files"},
    [AL_STATE_PROBE] = {".ampload-check", "check's probe file"},
    [AL_STATE_MANIFEST] = {"manifest.ndjson", "export's manifest"},
    [AL_STATE_PART] = {"download.zip.part", "export's unfinished download"},
};

/* Longest name above plus the slash and the suffixes other modules add to
 * a path (".tmp", ".rollback"). */
#define NAME_ROOM 48

struct al_state {
    const char *dir;
    char path[AL_STATE_NFILES][PATH_MAX + NAME_ROOM];
    al_lockfile_t *lock;
    al_resume_opts_t run; /* as given to al_state_resume */
    int checkpointing, resumed;
    al_mark_t *marks;
    uint64_t lines_done;
    al_jset_t *jset;
};

const char *al_state_name(al_state_file_t f)
{
    return layout[f].name;
}

const char *al_state_role(al_state_file_t f)
{
    return layout[f].role;
}

al_err_t al_state_new(const char *dir, al_state_t **out, al_diag_t *diag)
{
    al_state_t *st;
    *out = NULL;
    if (strlen(dir) >= PATH_MAX) {
        al_diag_set(diag, dir, ENAMETOOLONG);
        return AL_ERR_STATE_DIR;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return AL_ERR_NOMEM;
    st->dir = dir;
    for (int f = 0; f < AL_STATE_NFILES; f++)
        snprintf(st->path[f], sizeof(st->path[f]), "%s/%s", dir, layout[f].name);
    *out = st;
    return AL_ERR_OK;
}

void al_state_free(al_state_t *st)
{
    if (st == NULL)
        return;
    al_jset_free(st->jset);
    free(st->marks);
    al_lockfile_release(st->lock);
    free(st);
}

const char *al_state_dir(const al_state_t *st)
{
    return st->dir;
}

const char *al_state_path(const al_state_t *st, al_state_file_t f)
{
    return st->path[f];
}

uint32_t al_state_kept(const al_state_t *st, const char **paths, const char **roles)
{
    for (int f = 0; f < AL_STATE_KEPT; f++) {
        paths[f] = st->path[f];
        roles[f] = layout[f].role;
    }
    return AL_STATE_KEPT;
}

/* The record files a rollback cuts back, for checkpoint.c. */
static al_state_files_t record_files(const al_state_t *st)
{
    return (al_state_files_t){st->path[AL_STATE_REJECT], st->path[AL_STATE_FAILED],
                              st->path[AL_STATE_FAILED_INDEX], st->path[AL_STATE_HELD],
                              st->path[AL_STATE_HELD_INDEX]};
}

al_err_t al_state_lock(al_state_t *st, al_diag_t *diag)
{
    if (st->lock != NULL)
        return AL_ERR_OK;
    return al_lockfile_take(st->path[AL_STATE_LOCK], st->dir, &st->lock, diag);
}

al_err_t al_state_take(al_state_t *st, al_diag_t *diag)
{
    al_err_t err = al_state_lock(st, diag);
    if (err == AL_ERR_OK) {
        al_state_files_t files = record_files(st);
        err = al_ckpt_recover(st->path[AL_STATE_CHECKPOINT], &files, diag);
    }
    return err;
}

al_err_t al_state_probe(const al_state_t *st, al_diag_t *diag)
{
    const char *probe = st->path[AL_STATE_PROBE];
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, "ok\n", 3) == 3 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }
    if (ok)
        return AL_ERR_OK;
    al_diag_set(diag, probe, e);
    return AL_ERR_WRITE;
}

al_err_t al_state_read_marks(const al_state_t *st, const al_resume_opts_t *o, al_mark_t *marks,
                             al_diag_t *diag)
{
    return al_ckpt_load(st->path[AL_STATE_CHECKPOINT], o->names, o->files, o->n, o->shard, marks,
                        diag);
}

/* A fresh start. identify still reads the journal: a run killed before
 * its first checkpoint may have had identifications acknowledged or in
 * flight, and the journal knows which. */
static al_err_t start_fresh(al_state_t *st, al_diag_t *diag)
{
    const al_resume_opts_t *o = &st->run;
    al_mark_t *from_start;
    al_err_t err;
    if (!o->identify)
        return AL_ERR_OK;
    from_start = calloc(o->n ? o->n : 1, sizeof(*from_start));
    if (from_start == NULL)
        return AL_ERR_NOMEM;
    for (uint32_t i = 0; i < o->n; i++)
        from_start[i] = (al_mark_t){0, 1, 0, 0};
    err = al_jset_load(st->path[AL_STATE_JOURNAL], from_start, o->n, &st->jset, diag);
    free(from_start);
    return err;
}

/* A resume from the marks read: the record files rolled back to them, then
 * the journal past them. */
static al_err_t resume_at_marks(al_state_t *st, al_diag_t *diag)
{
    const al_resume_opts_t *o = &st->run;
    al_state_files_t files = record_files(st);
    al_err_t err =
        al_ckpt_rollback(st->path[AL_STATE_CHECKPOINT], &files, o->names, o->n, st->marks, diag);
    if (err == AL_ERR_OK && o->identify)
        err = al_jset_load(st->path[AL_STATE_JOURNAL], st->marks, o->n, &st->jset, diag);
    if (err != AL_ERR_OK)
        return err;
    for (uint32_t i = 0; i < o->n; i++)
        st->lines_done += st->marks[i].line - 1;
    st->resumed = 1;
    return AL_ERR_OK;
}

al_err_t al_state_resume(al_state_t *st, const al_resume_opts_t *o, int *in_checkpoint,
                         al_diag_t *diag)
{
    al_err_t err;
    int dummy;
    if (in_checkpoint == NULL)
        in_checkpoint = &dummy;
    *in_checkpoint = 0;
    if (st->lock == NULL) /* the order: nothing is read before the lock */
        return AL_ERR_INVALID_ARG;
    st->run = *o;
    if (o->stream)
        return AL_ERR_OK; /* a stream cannot be resumed: no checkpoint */
    st->checkpointing = 1;
    if (o->restart) {
        unlink(st->path[AL_STATE_CHECKPOINT]);
        unlink(st->path[AL_STATE_JOURNAL]);
        return AL_ERR_OK;
    }
    st->marks = calloc(o->n ? o->n : 1, sizeof(*st->marks));
    if (st->marks == NULL)
        return AL_ERR_NOMEM;
    err = al_state_read_marks(st, o, st->marks, diag);
    if (err == AL_ERR_NOT_FOUND) {
        free(st->marks);
        st->marks = NULL;
        return start_fresh(st, diag);
    }
    if (err != AL_ERR_OK) {
        *in_checkpoint = 1;
        return err;
    }
    return resume_at_marks(st, diag);
}

int al_state_checkpointing(const al_state_t *st)
{
    return st->checkpointing;
}

int al_state_resumed(const al_state_t *st)
{
    return st->resumed;
}

const al_mark_t *al_state_marks(const al_state_t *st)
{
    return st->resumed ? st->marks : NULL;
}

uint64_t al_state_lines_done(const al_state_t *st)
{
    return st->lines_done;
}

const al_jset_t *al_state_journal(const al_state_t *st)
{
    return st->jset;
}
