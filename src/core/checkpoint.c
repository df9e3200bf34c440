/* checkpoint.c - tracks, marks, and the checkpoint file.
 *
 * The per-input track lists are the only shared structure: the reader
 * appends at the tail, the checkpointer pops resolved tracks at the head,
 * both under one mutex taken once per chunk and once per save. Counting on a
 * track is lock-free (one atomic add or subtract per batch and input, not
 * per event).
 *
 * Rollback rewrites the reject and failed files through a temporary file and
 * a rename, so an interrupted rollback leaves the old files intact and the
 * next start simply does it again.
 */
#include "checkpoint.h"

#include "fileid.h"
#include "json.h"
#include "reader.h"
#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2: insert_ids are seeded with the input's key and the line's offset
 * (insertid.h); a version 1 checkpoint belongs to ids seeded with line
 * numbers, and resuming it would give the rest of its events other ids. */
#define CKPT_VERSION 2

/* The file holding input i: a zip member's is its archive. */
#define FILE_OF(files, paths, i) ((files) != NULL ? (files)[i] : (paths)[i])

typedef al_file_identity_t identity_t;

typedef struct {
    const char *path; /* borrowed */
    int resumable;    /* not standard input */
    identity_t id;
    al_mark_t mark;
    al_mark_t start;      /* where this run began */
    uint64_t acked_freed; /* acknowledged events of the tracks already freed */
    al_track_t *head, *tail;
    int read_done;
    uint64_t end, end_line;
} input_t;

struct al_ckpt {
    pthread_mutex_t lock;
    char path[PATH_MAX];
    char shard[32]; /* "I/N", or "" when the run takes every line */
    uint32_t n;
    input_t *in;
};

al_track_t *al_track_new(uint32_t file_id, uint64_t end, uint64_t next_line)
{
    al_track_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    atomic_init(&t->pending, 1);
    t->end = end;
    t->next_line = next_line;
    t->file_id = file_id;
    return t;
}

void al_track_add(al_track_t *t, int64_t n)
{
    atomic_fetch_add_explicit(&t->pending, n, memory_order_relaxed);
}

void al_track_acked(al_track_t *t, int64_t n)
{
    atomic_fetch_add_explicit(&t->acked, n, memory_order_relaxed);
}

void al_track_resolve(al_track_t *t, int64_t n)
{
    /* release: the outcome (a record written, an ack counted) happens before */
    atomic_fetch_sub_explicit(&t->pending, n, memory_order_release);
}

al_err_t al_ckpt_new(al_ckpt_t **out, const char *path, const char *const *paths,
                     const char *const *files, uint32_t n, const char *shard,
                     const al_mark_t *start, al_diag_t *diag)
{
    al_ckpt_t *ck = calloc(1, sizeof(*ck));
    al_err_t err;

    *out = NULL;
    if (ck == NULL)
        return AL_ERR_NOMEM;
    ck->in = calloc(n ? n : 1, sizeof(*ck->in));
    if (ck->in == NULL) {
        free(ck);
        return AL_ERR_NOMEM;
    }
    pthread_mutex_init(&ck->lock, NULL);
    snprintf(ck->path, sizeof(ck->path), "%s", path);
    snprintf(ck->shard, sizeof(ck->shard), "%s", shard != NULL ? shard : "");
    ck->n = n;
    for (uint32_t i = 0; i < n; i++) {
        input_t *in = &ck->in[i];
        in->path = paths[i];
        in->mark = start != NULL ? start[i] : (al_mark_t){0, 1, 0, 0};
        in->start = in->mark;
        in->resumable = !al_input_is_stream(FILE_OF(files, paths, i));
        if (in->resumable && i > 0 && files != NULL && files[i] == files[i - 1]) {
            in->id = ck->in[i - 1].id; /* members of one archive: its identity */
        } else if (in->resumable) {
            err = al_file_identity(FILE_OF(files, paths, i), &in->id, diag);
            if (err != AL_ERR_OK) {
                al_ckpt_free(ck);
                return err;
            }
        }
    }
    *out = ck;
    return AL_ERR_OK;
}

void al_ckpt_track(al_ckpt_t *ck, al_track_t *t)
{
    input_t *in = &ck->in[t->file_id];
    pthread_mutex_lock(&ck->lock);
    if (in->tail != NULL)
        in->tail->next = t;
    else
        in->head = t;
    in->tail = t;
    pthread_mutex_unlock(&ck->lock);
}

void al_ckpt_input_done(al_ckpt_t *ck, uint32_t file_id, uint64_t end, uint64_t line)
{
    input_t *in = &ck->in[file_id];
    pthread_mutex_lock(&ck->lock);
    in->read_done = 1;
    in->end = end;
    in->end_line = line;
    pthread_mutex_unlock(&ck->lock);
}

/* Moves each mark past the leading resolved tracks. Caller holds the lock. */
static void advance(al_ckpt_t *ck)
{
    for (uint32_t i = 0; i < ck->n; i++) {
        input_t *in = &ck->in[i];
        while (in->head != NULL &&
               atomic_load_explicit(&in->head->pending, memory_order_acquire) == 0) {
            al_track_t *t = in->head;
            in->acked_freed += (uint64_t)atomic_load_explicit(&t->acked, memory_order_relaxed);
            in->mark.offset = t->end;
            in->mark.line = t->next_line;
            in->head = t->next;
            if (in->head == NULL)
                in->tail = NULL;
            free(t);
        }
        if (in->head == NULL && in->read_done) {
            in->mark.offset = in->end;
            in->mark.line = in->end_line;
            in->mark.done = 1;
        }
        in->mark.acked_past = 0;
        for (al_track_t *t = in->head; t != NULL; t = t->next)
            in->mark.acked_past += (uint64_t)atomic_load_explicit(&t->acked, memory_order_relaxed);
        /* until the mark moves, what an earlier run acknowledged past it is
         * still there (this run's acks there are the same events again) */
        if (in->mark.offset == in->start.offset && in->mark.acked_past < in->start.acked_past)
            in->mark.acked_past = in->start.acked_past;
    }
}

void al_ckpt_marks(al_ckpt_t *ck, al_mark_t *marks)
{
    pthread_mutex_lock(&ck->lock);
    advance(ck);
    for (uint32_t i = 0; i < ck->n; i++)
        marks[i] = ck->in[i].mark;
    pthread_mutex_unlock(&ck->lock);
}

void al_ckpt_acked(al_ckpt_t *ck, uint64_t *acked)
{
    pthread_mutex_lock(&ck->lock);
    advance(ck);
    for (uint32_t i = 0; i < ck->n; i++) {
        acked[i] = ck->in[i].acked_freed;
        for (al_track_t *t = ck->in[i].head; t != NULL; t = t->next)
            acked[i] += (uint64_t)atomic_load_explicit(&t->acked, memory_order_relaxed);
    }
    pthread_mutex_unlock(&ck->lock);
}

static int write_checkpoint(FILE *fp, const al_ckpt_t *ck, const al_mark_t *marks)
{
    fprintf(fp, "{\"version\":%d,", CKPT_VERSION);
    if (ck->shard[0] != '\0')
        fprintf(fp, "\"shard\":\"%s\",", ck->shard);
    fprintf(fp, "\"inputs\":[");
    for (uint32_t i = 0; i < ck->n; i++) {
        const input_t *in = &ck->in[i];
        size_t plen = strlen(in->path);
        char *esc = malloc(AL_JSON_NAME_MAX(plen) + 1);
        if (esc == NULL)
            return -1;
        esc[al_json_name(esc, "path", in->path, plen)] = '\0';
        fprintf(fp,
                "%s\n {%s,\"resumable\":%s,\"size\":%" PRIu64 ",\"mtime_ns\":%" PRId64
                ",\"head\":\"%016" PRIx64 "\",\"tail\":\"%016" PRIx64 "\",\"offset\":%" PRIu64
                ",\"line\":%" PRIu64 ",\"done\":%s,\"acked_past\":%" PRIu64 "}",
                i ? "," : "", esc, in->resumable ? "true" : "false", in->id.size, in->id.mtime_ns,
                in->id.head, in->id.tail, marks[i].offset, marks[i].line,
                marks[i].done ? "true" : "false", marks[i].acked_past);
        free(esc);
    }
    fprintf(fp, "\n]}\n");
    return ferror(fp) ? -1 : 0;
}

al_err_t al_ckpt_save(al_ckpt_t *ck, al_deadletter_t *const *files, uint32_t nfiles,
                      al_diag_t *diag)
{
    char tmp[PATH_MAX + 8];
    al_mark_t *marks = calloc(ck->n ? ck->n : 1, sizeof(*marks));
    al_err_t err = AL_ERR_OK;
    FILE *fp;

    if (marks == NULL)
        return AL_ERR_NOMEM;
    al_ckpt_marks(ck, marks);
    /* Records below the marks are in the kernel already; make them durable
     * before the checkpoint says so. */
    for (uint32_t i = 0; i < nfiles && err == AL_ERR_OK; i++)
        err = al_deadletter_sync(files[i], diag);
    if (err != AL_ERR_OK)
        goto out;
    snprintf(tmp, sizeof(tmp), "%s.tmp", ck->path);
    fp = al_fopen_tmp(tmp);
    if (fp == NULL || write_checkpoint(fp, ck, marks) != 0 || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0) {
        al_diag_set(diag, tmp, errno);
        if (fp != NULL)
            fclose(fp);
        err = AL_ERR_WRITE;
        goto out;
    }
    if (fclose(fp) != 0 || rename(tmp, ck->path) != 0) {
        al_diag_set(diag, ck->path, errno);
        err = AL_ERR_WRITE;
        goto out;
    }
    /* the rename itself must survive a power cut */
    if (al_fsync_parent(ck->path) != 0) {
        al_diag_set(diag, ck->path, errno);
        err = AL_ERR_WRITE;
    }
out:
    free(marks);
    return err;
}

void al_ckpt_free(al_ckpt_t *ck)
{
    if (ck == NULL)
        return;
    for (uint32_t i = 0; i < ck->n; i++) {
        al_track_t *t = ck->in[i].head;
        while (t != NULL) {
            al_track_t *next = t->next;
            free(t);
            t = next;
        }
    }
    pthread_mutex_destroy(&ck->lock);
    free(ck->in);
    free(ck);
}

static al_err_t mismatch(al_diag_t *diag, const char *path, const char *what)
{
    al_diag_set(diag, path, 0);
    snprintf(diag->detail, sizeof(diag->detail), "%s", what);
    return AL_ERR_CHECKPOINT_MISMATCH;
}

al_err_t al_ckpt_load(const char *path, const char *const *paths, const char *const *files,
                      uint32_t n, const char *shard, al_mark_t *marks, al_diag_t *diag)
{
    json_error_t jerr;
    json_t *doc, *inputs;
    const char *was;
    identity_t now;
    al_err_t err = AL_ERR_OK;

    memset(diag, 0, sizeof(*diag));
    if (access(path, F_OK) != 0)
        return AL_ERR_NOT_FOUND;
    doc = json_load_file(path, 0, &jerr);
    inputs = json_object_get(doc, "inputs");
    if (doc != NULL && json_integer_value(json_object_get(doc, "version")) == 1) {
        al_diag_set(diag, path, 0);
        snprintf(diag->detail, sizeof(diag->detail),
                 "an earlier ampload wrote it (insert_ids from line numbers, not offsets): "
                 "finish with that version, or --restart (sent events go again, new ids)");
        json_decref(doc);
        return AL_ERR_CHECKPOINT_MISMATCH;
    }
    if (doc == NULL || json_integer_value(json_object_get(doc, "version")) != CKPT_VERSION ||
        !json_is_array(inputs)) {
        al_diag_set(diag, path, 0);
        snprintf(diag->detail, sizeof(diag->detail), "%s",
                 doc == NULL ? jerr.text : "unknown layout");
        json_decref(doc);
        return AL_ERR_CHECKPOINT_CORRUPT;
    }
    if (json_array_size(inputs) != n) {
        err = mismatch(diag, path, "it was written for another list of inputs");
        goto out;
    }
    /* a mark covers only the lines of its own shard: another shard's run
     * would skip lines it never handled */
    was = json_string_value(json_object_get(doc, "shard"));
    if (shard == NULL)
        shard = "";
    if (strcmp(was != NULL ? was : "", shard) != 0) {
        char what[128];
        snprintf(what, sizeof(what), "it was written by %s%s, and this run is %s%s",
                 was != NULL ? "shard " : "a run without --shard", was != NULL ? was : "",
                 shard[0] != '\0' ? "shard " : "a run without --shard", shard);
        err = mismatch(diag, path, what);
        goto out;
    }
    memset(&now, 0, sizeof(now));
    for (uint32_t i = 0; i < n; i++) {
        json_t *e = json_array_get(inputs, i);
        char what[200];
        if (!al_dl_name_is(e, "path", paths[i])) {
            err = mismatch(diag, path, "it was written for another list of inputs");
            goto out;
        }
        if (!json_is_true(json_object_get(e, "resumable"))) {
            err = mismatch(diag, paths[i], "a stream (standard input, a pipe) cannot be resumed");
            goto out;
        }
        if (i == 0 || files == NULL || files[i] != files[i - 1])
            err = al_file_identity(FILE_OF(files, paths, i), &now, diag);
        if (err != AL_ERR_OK)
            goto out;
        if (now.size != (uint64_t)json_integer_value(json_object_get(e, "size")))
            snprintf(what, sizeof(what),
                     "changed since the checkpoint (size %" PRIu64
                     " bytes, was %" JSON_INTEGER_FORMAT ")",
                     now.size, json_integer_value(json_object_get(e, "size")));
        else if (now.mtime_ns != (int64_t)json_integer_value(json_object_get(e, "mtime_ns")))
            snprintf(what, sizeof(what), "changed since the checkpoint (modification time)");
        else {
            char h[17], t[17];
            snprintf(h, sizeof(h), "%016" PRIx64, now.head);
            snprintf(t, sizeof(t), "%016" PRIx64, now.tail);
            const char *wh = json_string_value(json_object_get(e, "head"));
            const char *wt = json_string_value(json_object_get(e, "tail"));
            if (wh == NULL || wt == NULL || strcmp(h, wh) != 0 || strcmp(t, wt) != 0)
                snprintf(what, sizeof(what), "changed since the checkpoint (content)");
            else
                what[0] = '\0';
        }
        if (what[0] != '\0') {
            err = mismatch(diag, paths[i], what);
            goto out;
        }
        marks[i].offset = (uint64_t)json_integer_value(json_object_get(e, "offset"));
        marks[i].line = (uint64_t)json_integer_value(json_object_get(e, "line"));
        marks[i].done = json_is_true(json_object_get(e, "done"));
        /* absent in checkpoints written before it was kept: 0 */
        marks[i].acked_past = (uint64_t)json_integer_value(json_object_get(e, "acked_past"));
        if (marks[i].line < 1 || marks[i].offset > now.size * 64 + (1u << 30)) {
            al_diag_set(diag, path, 0);
            snprintf(diag->detail, sizeof(diag->detail), "impossible mark for %s", paths[i]);
            err = AL_ERR_CHECKPOINT_CORRUPT;
            goto out;
        }
    }
out:
    json_decref(doc);
    return err;
}

/* ---- rollback ----------------------------------------------------------- */

/* Rollback rewrites up to five files that must change together: the failed
 * (and held) file and its index are read as pairs, so a new failed file with the old
 * index would label events with the wrong lines. The new files are written
 * beside the old ones (NAME.rollback) and synced; then a commit marker
 * (<checkpoint>.rollback, itself made by rename) says they are complete;
 * then they are renamed over the old ones and the marker removed. A crash
 * before the marker leaves the old files (the leftovers are removed at the
 * next start); a crash after it is finished at the next start by
 * al_ckpt_recover(), since renaming is idempotent here: a NAME.rollback
 * that is gone was renamed already. */

typedef struct {
    const char *final;
    char tmp[PATH_MAX + 16];
} staged_t;

#define NSTAGED 5 /* reject, failed, failed index, held, held index */

static void staged_all(staged_t *st, const al_state_files_t *f);

static void staged_init(staged_t *s, const char *final)
{
    s->final = final;
    s->tmp[0] = '\0';
    if (final != NULL)
        snprintf(s->tmp, sizeof(s->tmp), "%s.rollback", final);
}

static void marker_path(char *buf, size_t cap, const char *ckpt_path)
{
    snprintf(buf, cap, "%s.rollback", ckpt_path);
}

static al_err_t sync_dir(const char *path, al_diag_t *diag)
{
    if (al_fsync_parent(path) != 0) {
        al_diag_set(diag, path, errno);
        return AL_ERR_WRITE;
    }
    return AL_ERR_OK;
}

/* Renames every staged file that is still there over its final name. */
static al_err_t commit_staged(staged_t *st, int n, al_diag_t *diag)
{
    for (int i = 0; i < n; i++) {
        if (st[i].final == NULL)
            continue;
        if (rename(st[i].tmp, st[i].final) != 0 && errno != ENOENT) {
            al_diag_set(diag, st[i].final, errno);
            return AL_ERR_WRITE;
        }
    }
    return AL_ERR_OK;
}

/* Once the marker exists: moves the staged files into place, then removes
 * the marker, each step made durable before the next. */
static al_err_t finish_committed(staged_t *st, const char *marker, al_diag_t *diag)
{
    al_err_t err = commit_staged(st, NSTAGED, diag);
    if (err == AL_ERR_OK)
        err = sync_dir(marker, diag);
    if (err == AL_ERR_OK && unlink(marker) != 0) {
        al_diag_set(diag, marker, errno);
        err = AL_ERR_WRITE;
    }
    return err == AL_ERR_OK ? sync_dir(marker, diag) : err;
}

static void staged_all(staged_t *st, const al_state_files_t *f)
{
    staged_init(&st[0], f->reject);
    staged_init(&st[1], f->failed);
    staged_init(&st[2], f->failed_index);
    staged_init(&st[3], f->held);
    staged_init(&st[4], f->held_index);
}

al_err_t al_ckpt_recover(const char *ckpt_path, const al_state_files_t *files, al_diag_t *diag)
{
    char marker[PATH_MAX + 16], mtmp[PATH_MAX + 24];
    staged_t st[NSTAGED];

    memset(diag, 0, sizeof(*diag));
    staged_all(st, files);
    marker_path(marker, sizeof(marker), ckpt_path);
    snprintf(mtmp, sizeof(mtmp), "%s.tmp", marker);
    if (access(marker, F_OK) == 0)
        return finish_committed(st, marker, diag);
    /* no marker: whatever was staged was never complete */
    for (int i = 0; i < NSTAGED; i++)
        if (st[i].final != NULL)
            (void)unlink(st[i].tmp);
    (void)unlink(mtmp);
    return AL_ERR_OK;
}

typedef struct {
    const al_mark_t *marks;
    uint32_t n;
} marks_t;

/* An al_dl_keep_fn: keeps the records of lines below the marks. */
static int keep_below(void *ctx, long input, uint64_t offset)
{
    const marks_t *m = ctx;
    if (input < 0 || (uint64_t)input >= m->n)
        return 1; /* not one of ours: keep */
    return m->marks[input].done || offset < m->marks[input].offset;
}

/* Flushes, syncs and closes a staged stream. */
static al_err_t close_staged(FILE *fp, const char *path, al_diag_t *diag)
{
    al_err_t err = AL_ERR_OK;
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        al_diag_set(diag, path, errno);
        err = AL_ERR_WRITE;
    }
    if (fclose(fp) != 0 && err == AL_ERR_OK) {
        al_diag_set(diag, path, errno);
        err = AL_ERR_WRITE;
    }
    return err;
}

/* Stages the reject records of lines below the marks. *staged is set when
 * there was a file to stage. */
static al_err_t stage_rejects(staged_t *st, const char *const *paths, uint32_t n,
                              const al_mark_t *marks, al_diag_t *diag)
{
    marks_t m = {marks, n};
    FILE *in, *out;

    in = fopen(st->final, "r");
    if (in == NULL) {
        st->final = NULL; /* nothing to replace */
        return errno == ENOENT ? AL_ERR_OK : (al_diag_set(diag, st->tmp, errno), AL_ERR_IO);
    }
    out = al_fopen_tmp(st->tmp);
    if (out == NULL) {
        al_diag_set(diag, st->tmp, errno);
        fclose(in);
        return AL_ERR_WRITE;
    }
    al_dl_filter_rejects(in, out, paths, n, keep_below, (void *)&m);
    fclose(in);
    return close_staged(out, st->tmp, diag);
}

/* Stages the failed events (and their origins) of lines below the marks. */
static al_err_t stage_failed(staged_t *ev_st, staged_t *ix_st, uint32_t n, const al_mark_t *marks,
                             al_diag_t *diag)
{
    marks_t m = {marks, n};
    FILE *ev, *ix, *evo = NULL, *ixo = NULL;
    al_err_t err = AL_ERR_OK;

    ev = fopen(ev_st->final, "r");
    if (ev == NULL) {
        if (errno != ENOENT) {
            al_diag_set(diag, ev_st->final, errno);
            return AL_ERR_IO;
        }
        /* no failed file: an index without it describes nothing */
        ev_st->final = NULL;
        if (unlink(ix_st->final) != 0 && errno != ENOENT) {
            al_diag_set(diag, ix_st->final, errno);
            return AL_ERR_WRITE;
        }
        ix_st->final = NULL;
        return AL_ERR_OK;
    }
    ix = fopen(ix_st->final, "r");
    evo = al_fopen_tmp(ev_st->tmp);
    if (evo != NULL)
        ixo = al_fopen_tmp(ix_st->tmp);
    if (evo == NULL || ixo == NULL) {
        al_diag_set(diag, evo == NULL ? ev_st->tmp : ix_st->tmp, errno);
        err = AL_ERR_WRITE;
        goto out;
    }
    if (ix != NULL)
        al_dl_filter_failed(ev, ix, evo, ixo, keep_below, (void *)&m);
    err = close_staged(evo, ev_st->tmp, diag);
    evo = NULL;
    if (err == AL_ERR_OK)
        err = close_staged(ixo, ix_st->tmp, diag);
    ixo = NULL;
out:
    fclose(ev);
    if (ix != NULL)
        fclose(ix);
    if (evo != NULL)
        fclose(evo);
    if (ixo != NULL)
        fclose(ixo);
    return err;
}

/* Creates the commit marker: from then on the staged files are the truth. */
static al_err_t write_marker(const char *marker, al_diag_t *diag)
{
    char tmp[PATH_MAX + 24];
    FILE *fp;
    snprintf(tmp, sizeof(tmp), "%s.tmp", marker);
    fp = al_fopen_tmp(tmp);
    if (fp == NULL) {
        al_diag_set(diag, tmp, errno);
        return AL_ERR_WRITE;
    }
    fputs("rollback staged\n", fp);
    if (close_staged(fp, tmp, diag) != AL_ERR_OK)
        return AL_ERR_WRITE;
    if (rename(tmp, marker) != 0) {
        al_diag_set(diag, marker, errno);
        return AL_ERR_WRITE;
    }
    return sync_dir(marker, diag);
}

al_err_t al_ckpt_rollback(const char *ckpt_path, const al_state_files_t *files,
                          const char *const *paths, uint32_t n, const al_mark_t *marks,
                          al_diag_t *diag)
{
    char marker[PATH_MAX + 16];
    staged_t st[NSTAGED];
    al_err_t err;
    int any = 0;

    err = al_ckpt_recover(ckpt_path, files, diag);
    if (err != AL_ERR_OK)
        return err;
    staged_all(st, files);
    for (int i = 1; i < NSTAGED; i += 2) {
        /* a pair counts only whole */
        if (st[i].final == NULL || st[i + 1].final == NULL)
            st[i].final = st[i + 1].final = NULL;
    }
    if (st[0].final != NULL)
        err = stage_rejects(&st[0], paths, n, marks, diag);
    for (int i = 1; i < NSTAGED && err == AL_ERR_OK; i += 2)
        if (st[i].final != NULL)
            err = stage_failed(&st[i], &st[i + 1], n, marks, diag);
    for (int i = 0; i < NSTAGED; i++)
        any |= st[i].final != NULL;
    if (err != AL_ERR_OK || !any)
        return err;
    marker_path(marker, sizeof(marker), ckpt_path);
    err = write_marker(marker, diag);
    return err == AL_ERR_OK ? finish_committed(st, marker, diag) : err;
}
