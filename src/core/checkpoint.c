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

#include "json.h"

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
#include <xxhash.h>

#define IDENTITY_SPAN (64 * 1024)
#define CKPT_VERSION  1

typedef struct {
    uint64_t size;
    int64_t mtime_ns;
    uint64_t head, tail; /* XXH3-64 of the first and last 64 KiB */
} identity_t;

typedef struct {
    const char *path; /* borrowed */
    int resumable;    /* not standard input */
    identity_t id;
    al_mark_t mark;
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

void al_track_resolve(al_track_t *t, int64_t n)
{
    /* release: the outcome (a record written, an ack counted) happens before */
    atomic_fetch_sub_explicit(&t->pending, n, memory_order_release);
}

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

static al_err_t identity_of(const char *path, identity_t *id, al_diag_t *diag)
{
    struct stat st;
    int fd, ok = 1;
    size_t span;

    memset(id, 0, sizeof(*id));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        al_diag_set(diag, path, errno);
        if (fd >= 0)
            close(fd);
        return AL_ERR_IO;
    }
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

al_err_t al_ckpt_new(al_ckpt_t **out, const char *path, const char *const *paths, uint32_t n,
                     const char *shard, const al_mark_t *start, al_diag_t *diag)
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
        in->mark = start != NULL ? start[i] : (al_mark_t){0, 1, 0};
        in->resumable = strcmp(paths[i], "-") != 0;
        if (in->resumable) {
            err = identity_of(paths[i], &in->id, diag);
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

static int write_checkpoint(FILE *fp, const al_ckpt_t *ck, const al_mark_t *marks)
{
    fprintf(fp, "{\"version\":%d,", CKPT_VERSION);
    if (ck->shard[0] != '\0')
        fprintf(fp, "\"shard\":\"%s\",", ck->shard);
    fprintf(fp, "\"inputs\":[");
    for (uint32_t i = 0; i < ck->n; i++) {
        const input_t *in = &ck->in[i];
        size_t plen = strlen(in->path);
        char *esc = malloc(AL_JSON_ESCAPED_MAX(plen) + 1);
        if (esc == NULL)
            return -1;
        esc[al_json_escape(esc, in->path, plen)] = '\0';
        fprintf(fp,
                "%s\n {\"path\":\"%s\",\"resumable\":%s,\"size\":%" PRIu64 ",\"mtime_ns\":%" PRId64
                ",\"head\":\"%016" PRIx64 "\",\"tail\":\"%016" PRIx64 "\",\"offset\":%" PRIu64
                ",\"line\":%" PRIu64 ",\"done\":%s}",
                i ? "," : "", esc, in->resumable ? "true" : "false", in->id.size, in->id.mtime_ns,
                in->id.head, in->id.tail, marks[i].offset, marks[i].line,
                marks[i].done ? "true" : "false");
        free(esc);
    }
    fprintf(fp, "\n]}\n");
    return ferror(fp) ? -1 : 0;
}

al_err_t al_ckpt_save(al_ckpt_t *ck, al_deadletter_t *rejects, al_deadletter_t *failed,
                      al_diag_t *diag)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    al_mark_t *marks = calloc(ck->n ? ck->n : 1, sizeof(*marks));
    al_err_t err = AL_ERR_OK;
    FILE *fp;
    char *slash;
    int dfd;

    if (marks == NULL)
        return AL_ERR_NOMEM;
    al_ckpt_marks(ck, marks);
    /* Records below the marks are in the kernel already; make them durable
     * before the checkpoint says so. */
    err = al_deadletter_sync(rejects, diag);
    if (err == AL_ERR_OK)
        err = al_deadletter_sync(failed, diag);
    if (err != AL_ERR_OK)
        goto out;
    snprintf(tmp, sizeof(tmp), "%s.tmp", ck->path);
    fp = fopen(tmp, "w");
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
    snprintf(dir, sizeof(dir), "%s", ck->path);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* the rename itself must survive a power cut */
        close(dfd);
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

al_err_t al_ckpt_load(const char *path, const char *const *paths, uint32_t n, const char *shard,
                      al_mark_t *marks, al_diag_t *diag)
{
    json_error_t jerr;
    json_t *doc, *inputs;
    const char *was;
    al_err_t err = AL_ERR_OK;

    memset(diag, 0, sizeof(*diag));
    if (access(path, F_OK) != 0)
        return AL_ERR_NOT_FOUND;
    doc = json_load_file(path, 0, &jerr);
    inputs = json_object_get(doc, "inputs");
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
    for (uint32_t i = 0; i < n; i++) {
        json_t *e = json_array_get(inputs, i);
        const char *p = json_string_value(json_object_get(e, "path"));
        identity_t now;
        char what[200];
        if (p == NULL || strcmp(p, paths[i]) != 0) {
            err = mismatch(diag, path, "it was written for another list of inputs");
            goto out;
        }
        if (!json_is_true(json_object_get(e, "resumable"))) {
            err = mismatch(diag, paths[i], "standard input cannot be resumed");
            goto out;
        }
        err = identity_of(paths[i], &now, diag);
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

static int below_mark(const al_mark_t *marks, uint32_t n, long idx, uint64_t offset)
{
    if (idx < 0 || (uint64_t)idx >= n)
        return 1; /* not one of ours: keep */
    return marks[idx].done || offset < marks[idx].offset;
}

static al_err_t replace_file(const char *tmp, const char *path, al_diag_t *diag)
{
    if (rename(tmp, path) != 0) {
        al_diag_set(diag, path, errno);
        return AL_ERR_WRITE;
    }
    return AL_ERR_OK;
}

/* Keeps the reject records of lines below the marks. */
static al_err_t rollback_rejects(const char *path, const char *const *paths, uint32_t n,
                                 const al_mark_t *marks, al_diag_t *diag)
{
    char tmp[PATH_MAX + 8];
    FILE *in, *out;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    al_err_t err = AL_ERR_OK;

    in = fopen(path, "r");
    if (in == NULL)
        return errno == ENOENT ? AL_ERR_OK : (al_diag_set(diag, path, errno), AL_ERR_IO);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    out = fopen(tmp, "w");
    if (out == NULL) {
        al_diag_set(diag, tmp, errno);
        fclose(in);
        return AL_ERR_WRITE;
    }
    while ((len = getline(&line, &cap, in)) > 0) {
        json_error_t jerr;
        json_t *rec;
        const char *file;
        long idx = -1;
        if (line[len - 1] != '\n')
            break; /* torn by a crash: its line was never resolved */
        rec = json_loadb(line, (size_t)len, 0, &jerr);
        file = json_string_value(json_object_get(rec, "file"));
        if (file != NULL)
            for (uint32_t i = 0; i < n && idx < 0; i++)
                if (strcmp(paths[i], file) == 0)
                    idx = (long)i;
        if (rec != NULL &&
            below_mark(marks, n, idx, (uint64_t)json_integer_value(json_object_get(rec, "offset"))))
            fwrite(line, 1, (size_t)len, out);
        json_decref(rec);
    }
    free(line);
    fclose(in);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        al_diag_set(diag, tmp, errno);
        err = AL_ERR_WRITE;
    }
    fclose(out);
    return err == AL_ERR_OK ? replace_file(tmp, path, diag) : err;
}

/* Keeps the failed events (and their origins) of lines below the marks. */
static al_err_t rollback_failed(const char *path, const char *index_path, uint32_t n,
                                const al_mark_t *marks, al_diag_t *diag)
{
    char tmp[PATH_MAX + 8], itmp[PATH_MAX + 8];
    FILE *ev, *ix, *evo, *ixo;
    char *eline = NULL, *iline = NULL;
    size_t ecap = 0, icap = 0;
    ssize_t elen, ilen;
    al_err_t err = AL_ERR_OK;

    ev = fopen(path, "r");
    if (ev == NULL)
        return errno == ENOENT ? AL_ERR_OK : (al_diag_set(diag, path, errno), AL_ERR_IO);
    ix = fopen(index_path, "r");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(itmp, sizeof(itmp), "%s.tmp", index_path);
    evo = fopen(tmp, "w");
    ixo = fopen(itmp, "w");
    if (evo == NULL || ixo == NULL) {
        al_diag_set(diag, tmp, errno);
        err = AL_ERR_WRITE;
        goto out;
    }
    /* The two files advance together; a pair torn by a crash ends both. */
    while (ix != NULL && (elen = getline(&eline, &ecap, ev)) > 0 &&
           (ilen = getline(&iline, &icap, ix)) > 0) {
        unsigned long fid;
        unsigned long long off, ln;
        if (eline[elen - 1] != '\n' || iline[ilen - 1] != '\n' ||
            sscanf(iline, "%lu %llu %llu", &fid, &off, &ln) != 3)
            break;
        if (below_mark(marks, n, (long)fid, off)) {
            fwrite(eline, 1, (size_t)elen, evo);
            fwrite(iline, 1, (size_t)ilen, ixo);
        }
    }
    if (fflush(evo) != 0 || fsync(fileno(evo)) != 0 || fflush(ixo) != 0 ||
        fsync(fileno(ixo)) != 0) {
        al_diag_set(diag, tmp, errno);
        err = AL_ERR_WRITE;
    }
out:
    free(eline);
    free(iline);
    fclose(ev);
    if (ix != NULL)
        fclose(ix);
    if (evo != NULL)
        fclose(evo);
    if (ixo != NULL)
        fclose(ixo);
    if (err == AL_ERR_OK)
        err = replace_file(tmp, path, diag);
    if (err == AL_ERR_OK)
        err = replace_file(itmp, index_path, diag);
    return err;
}

al_err_t al_ckpt_rollback(const char *reject_path, const char *failed_path,
                          const char *failed_index_path, const char *const *paths, uint32_t n,
                          const al_mark_t *marks, al_diag_t *diag)
{
    al_err_t err = AL_ERR_OK;
    memset(diag, 0, sizeof(*diag));
    if (reject_path != NULL)
        err = rollback_rejects(reject_path, paths, n, marks, diag);
    if (err == AL_ERR_OK && failed_path != NULL && failed_index_path != NULL)
        err = rollback_failed(failed_path, failed_index_path, n, marks, diag);
    return err;
}
