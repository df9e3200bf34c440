/* deadletter.c - formatting and appending reject records.
 *
 * Records are formatted into the writer's own buffer without taking any lock;
 * only the append to the shared FILE is serialised. Writers flush at 256 KiB
 * and when their thread finishes, so memory per thread is bounded whatever
 * the share of bad lines.
 */
#include "deadletter.h"

#include "privfile.h"

#include "json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLUSH_AT (256u * 1024u)

struct al_deadletter {
    pthread_mutex_t lock;
    FILE *fp;  /* NULL until the first record */
    FILE *ifp; /* origins index, NULL until the first record */
    al_dl_format_t format;
    char path[512];
    char index_path[512]; /* "" when none */
};

al_err_t al_deadletter_open(al_deadletter_t **out, const char *path, al_dl_format_t format,
                            int append, const char *index_path, al_diag_t *diag)
{
    al_deadletter_t *dl = calloc(1, sizeof(*dl));
    *out = NULL;
    if (dl == NULL)
        return AL_ERR_NOMEM;
    pthread_mutex_init(&dl->lock, NULL);
    dl->format = format;
    snprintf(dl->path, sizeof(dl->path), "%s", path);
    if (format == AL_DL_RAW && index_path != NULL)
        snprintf(dl->index_path, sizeof(dl->index_path), "%s", index_path);
    /* A fresh run must not mix its records with an earlier run's. */
    if (!append && ((unlink(path) != 0 && errno != ENOENT) ||
                    (dl->index_path[0] && unlink(dl->index_path) != 0 && errno != ENOENT))) {
        al_diag_set(diag, path, errno);
        pthread_mutex_destroy(&dl->lock);
        free(dl);
        return AL_ERR_WRITE;
    }
    *out = dl;
    return AL_ERR_OK;
}

void al_dl_writer_init(al_dl_writer_t *w, al_deadletter_t *dl)
{
    memset(w, 0, sizeof(*w));
    w->dl = dl;
}

static al_err_t append(al_dl_writer_t *w, al_diag_t *diag);

static int grow(char **buf, size_t *cap, size_t len, size_t more)
{
    size_t c = *cap ? *cap : 64 * 1024;
    char *nb;
    if (len + more <= *cap)
        return 1;
    while (c < len + more)
        c *= 2;
    nb = realloc(*buf, c);
    if (nb == NULL)
        return 0;
    *buf = nb;
    *cap = c;
    return 1;
}

static int reserve(al_dl_writer_t *w, size_t more)
{
    return grow(&w->buf, &w->cap, w->len, more);
}

static void put(al_dl_writer_t *w, const char *s, size_t n)
{
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* A failure is kept: see al_dl_writer_t.err. */
static al_err_t sticky(al_dl_writer_t *w, al_err_t err, al_diag_t *diag)
{
    if (err != AL_ERR_OK && w->err == AL_ERR_OK) {
        w->err = err;
        if (err == AL_ERR_NOMEM)
            al_diag_set(diag, w->dl->path, ENOMEM);
    }
    return err;
}

/* What a writer that failed before answers: the same failure, naming the file. */
static al_err_t failed_before(const al_dl_writer_t *w, al_diag_t *diag)
{
    al_diag_set(diag, w->dl->path, 0);
    snprintf(diag->detail, sizeof(diag->detail), "an earlier record could not be written");
    return w->err;
}

static al_err_t write_record(al_dl_writer_t *w, const al_reject_t *rec, al_diag_t *diag);

al_err_t al_dl_write(al_dl_writer_t *w, const al_reject_t *rec, al_diag_t *diag)
{
    if (w->err != AL_ERR_OK)
        return failed_before(w, diag);
    return sticky(w, write_record(w, rec, diag), diag);
}

static al_err_t write_record(al_dl_writer_t *w, const al_reject_t *rec, al_diag_t *diag)
{
    size_t flen, rlen, need;
    int utf8;
    char num[96];
    int k;

    if (w->dl->format == AL_DL_RAW) {
        if (!reserve(w, rec->raw_len + 1))
            return AL_ERR_NOMEM;
        put(w, rec->raw, rec->raw_len);
        put(w, "\n", 1);
        if (w->dl->index_path[0] != '\0') {
            if (!grow(&w->ibuf, &w->icap, w->ilen, 64))
                return AL_ERR_NOMEM;
            w->ilen +=
                (size_t)snprintf(w->ibuf + w->ilen, 64, "%u %llu %llu\n", rec->file_id,
                                 (unsigned long long)rec->offset, (unsigned long long)rec->line);
        }
        return w->len >= FLUSH_AT ? append(w, diag) : AL_ERR_OK;
    }
    flen = strlen(rec->file);
    rlen = strlen(rec->reason);
    utf8 = al_json_utf8_valid(rec->raw, rec->raw_len);
    need = 160 + AL_JSON_NAME_MAX(flen) + AL_JSON_ESCAPED_MAX(rlen) +
           (utf8 ? AL_JSON_ESCAPED_MAX(rec->raw_len) : (rec->raw_len + 2) / 3 * 4);
    if (!reserve(w, need))
        return AL_ERR_NOMEM;
    put(w, "{", 1);
    w->len += al_json_name(w->buf + w->len, "file", rec->file, flen);
    if (rec->line == 0) /* a copy that began mid-file does not know it: the offset does */
        k = snprintf(num, sizeof(num), ",\"line\":null,\"offset\":%llu,\"reason\":\"",
                     (unsigned long long)rec->offset);
    else
        k = snprintf(num, sizeof(num), ",\"line\":%llu,\"offset\":%llu,\"reason\":\"",
                     (unsigned long long)rec->line, (unsigned long long)rec->offset);
    put(w, num, (size_t)k);
    w->len += al_json_escape(w->buf + w->len, rec->reason, rlen);
    if (rec->full_len > rec->raw_len) {
        k = snprintf(num, sizeof(num), "\",\"length\":%llu,\"truncated\":true",
                     (unsigned long long)rec->full_len);
        put(w, num, (size_t)k);
    } else {
        put(w, "\"", 1);
    }
    if (utf8) {
        put(w, ",\"raw\":\"", 8);
        w->len += al_json_escape(w->buf + w->len, rec->raw, rec->raw_len);
    } else {
        put(w, ",\"raw_base64\":\"", 15);
        w->len += al_base64(w->buf + w->len, (const unsigned char *)rec->raw, rec->raw_len);
    }
    put(w, "\"}\n", 3);
    if (w->len >= FLUSH_AT) {
        al_err_t err = append(w, diag);
        if (w->cap > 4 * FLUSH_AT) {
            /* A huge record grew the buffer; do not keep it. */
            free(w->buf);
            w->buf = NULL;
            w->cap = 0;
        }
        return err;
    }
    return AL_ERR_OK;
}

/* Opens f at path for appending when it is not open yet. Caller holds the lock. */
static FILE *lazy_open(FILE **f, const char *path)
{
    if (*f == NULL)
        *f = al_fopen_private(path, 1); /* events are personal data */
    return *f;
}

/* Appends w's buffers to the files (and to the kernel); keeps the buffers. */
static al_err_t append(al_dl_writer_t *w, al_diag_t *diag)
{
    al_deadletter_t *dl = w->dl;
    al_err_t err = AL_ERR_OK;

    if (w->len == 0)
        return AL_ERR_OK;
    pthread_mutex_lock(&dl->lock);
    if (lazy_open(&dl->fp, dl->path) == NULL || fwrite(w->buf, 1, w->len, dl->fp) != w->len ||
        fflush(dl->fp) != 0) {
        al_diag_set(diag, dl->path, errno);
        err = AL_ERR_WRITE;
    } else if (w->ilen > 0 &&
               (lazy_open(&dl->ifp, dl->index_path) == NULL ||
                fwrite(w->ibuf, 1, w->ilen, dl->ifp) != w->ilen || fflush(dl->ifp) != 0)) {
        al_diag_set(diag, dl->index_path, errno);
        err = AL_ERR_WRITE;
    }
    pthread_mutex_unlock(&dl->lock);
    w->len = 0;
    w->ilen = 0;
    return err;
}

al_err_t al_dl_writer_commit(al_dl_writer_t *w, al_diag_t *diag)
{
    if (w->err != AL_ERR_OK)
        return failed_before(w, diag);
    return sticky(w, append(w, diag), diag);
}

al_err_t al_deadletter_sync(al_deadletter_t *dl, al_diag_t *diag)
{
    al_err_t err = AL_ERR_OK;
    if (dl == NULL)
        return AL_ERR_OK;
    pthread_mutex_lock(&dl->lock);
    if ((dl->fp != NULL && (fflush(dl->fp) != 0 || fsync(fileno(dl->fp)) != 0)) ||
        (dl->ifp != NULL && (fflush(dl->ifp) != 0 || fsync(fileno(dl->ifp)) != 0))) {
        al_diag_set(diag, dl->path, errno);
        err = AL_ERR_WRITE;
    }
    pthread_mutex_unlock(&dl->lock);
    return err;
}

al_err_t al_dl_writer_flush(al_dl_writer_t *w, al_diag_t *diag)
{
    al_err_t err = w->err != AL_ERR_OK ? failed_before(w, diag) : sticky(w, append(w, diag), diag);
    free(w->buf);
    free(w->ibuf);
    w->buf = w->ibuf = NULL;
    w->cap = w->icap = 0;
    return err;
}

al_err_t al_deadletter_close(al_deadletter_t *dl, al_diag_t *diag)
{
    al_err_t err = AL_ERR_OK;
    if (dl == NULL)
        return AL_ERR_OK;
    if (dl->ifp != NULL &&
        (fflush(dl->ifp) != 0 || fsync(fileno(dl->ifp)) != 0 || fclose(dl->ifp) != 0)) {
        al_diag_set(diag, dl->index_path, errno);
        err = AL_ERR_WRITE;
    }
    if (dl->fp != NULL) {
        if (fflush(dl->fp) != 0 || fsync(fileno(dl->fp)) != 0) {
            al_diag_set(diag, dl->path, errno);
            err = AL_ERR_WRITE;
        }
        if (fclose(dl->fp) != 0 && err == AL_ERR_OK) {
            al_diag_set(diag, dl->path, errno);
            err = AL_ERR_WRITE;
        }
    }
    pthread_mutex_destroy(&dl->lock);
    free(dl);
    return err;
}

/* ---- reading the files back (rollback) ------------------------------------ */

int al_dl_name_is(const struct json_t *obj, const char *key, const char *name)
{
    char k64[32];
    const char *text = json_string_value(json_object_get(obj, key));
    size_t n = strlen(name);
    char *enc;
    int same;
    if (text != NULL)
        return strcmp(text, name) == 0;
    snprintf(k64, sizeof(k64), "%s_base64", key);
    text = json_string_value(json_object_get(obj, k64));
    if (text == NULL || (enc = malloc((n + 2) / 3 * 4 + 1)) == NULL)
        return 0;
    enc[al_base64(enc, (const unsigned char *)name, n)] = '\0';
    same = strcmp(text, enc) == 0;
    free(enc);
    return same;
}

void al_dl_filter_rejects(FILE *in, FILE *out, const char *const *inputs, uint32_t n,
                          al_dl_keep_fn keep, void *ctx)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        json_error_t jerr;
        json_t *rec;
        long idx = -1;
        if (line[len - 1] != '\n')
            break; /* torn by a crash: its line was never resolved */
        rec = json_loadb(line, (size_t)len, 0, &jerr);
        for (uint32_t i = 0; rec != NULL && i < n && idx < 0; i++)
            if (al_dl_name_is(rec, "file", inputs[i]))
                idx = (long)i;
        if (rec != NULL &&
            keep(ctx, idx, (uint64_t)json_integer_value(json_object_get(rec, "offset"))))
            fwrite(line, 1, (size_t)len, out);
        json_decref(rec);
    }
    free(line);
}

void al_dl_filter_failed(FILE *ev, FILE *ix, FILE *evo, FILE *ixo, al_dl_keep_fn keep, void *ctx)
{
    char *eline = NULL, *iline = NULL;
    size_t ecap = 0, icap = 0;
    ssize_t elen, ilen;
    /* The two files advance together; a pair torn by a crash ends both. */
    while ((elen = getline(&eline, &ecap, ev)) > 0 && (ilen = getline(&iline, &icap, ix)) > 0) {
        unsigned long fid;
        unsigned long long off, ln;
        if (eline[elen - 1] != '\n' || iline[ilen - 1] != '\n' ||
            sscanf(iline, "%lu %llu %llu", &fid, &off, &ln) != 3)
            break;
        if (keep(ctx, (long)fid, off)) {
            fwrite(eline, 1, (size_t)elen, evo);
            fwrite(iline, 1, (size_t)ilen, ixo);
        }
    }
    free(eline);
    free(iline);
}
