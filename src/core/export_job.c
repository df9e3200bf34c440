/* export_job.c - Amplitude's Export API to local zstd files (export_job.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "export_job.h"

#include "clock.h"
#include "reader.h"
#include "retry.h"
#include "sources.h"
#include "statedir.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define MANIFEST    "manifest.ndjson"
#define PART        "download.zip.part"
#define ZSTD_LEVEL  3
#define BACKOFF_MS  1000
#define BACKOFF_CAP 60000

/* ---- hours --------------------------------------------------------------- */

int al_export_parse_hour(const char *s, int64_t *hour)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, h, n = 0;
    if (s == NULL || strlen(s) != 11 || s[8] != 'T')
        return 0;
    for (int i = 0; i < 11; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return 0;
    if (sscanf(s, "%4d%2d%2dT%2d%n", &y, &m, &d, &h, &n) != 4 || n != 11 || m < 1 || m > 12 ||
        d < 1 || d > mdays[m - 1] || h > 23 ||
        (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return 0;
    *hour = al_days_from_civil(y, (unsigned)m, (unsigned)d) * 24 + h;
    return 1;
}

void al_export_hour_text(int64_t hour, char *out)
{
    time_t t = (time_t)(hour * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 12, "%Y%m%dT%H", &tm);
}

/* ---- the job's state ----------------------------------------------------- */

typedef struct {
    int64_t start, end;
} span_t;

typedef struct {
    const al_export_opts_t *o;
    al_export_stats_t *st;
    al_diag_t *diag;
    span_t *covered; /* windows the manifest records (done or empty) */
    size_t ncovered;
    char path[4096]; /* scratch */
    al_rng_t rng;
    CURL *curl;
    uint64_t got; /* bytes of the current download */
    int fd;       /* the current download's file */
    uint64_t next_progress;
} job_t;

static void emit(job_t *j, al_exp_kind_t kind, int64_t s, int64_t e, const al_exp_event_t *more)
{
    al_exp_event_t ev = more != NULL ? *more : (al_exp_event_t){0};
    ev.kind = kind;
    ev.start = s;
    ev.end = e;
    if (j->o->on_event != NULL)
        j->o->on_event(j->o->ctx, &ev);
}

static const char *out_path(job_t *j, const char *name)
{
    snprintf(j->path, sizeof(j->path), "%s/%s", j->o->out_dir, name);
    return j->path;
}

/* Reads the manifest's windows (done or empty). A torn last line (a crash
 * while appending) is cut off, so that the next line appended stands on a
 * line of its own; its window is not done and is downloaded again. */
static al_err_t read_manifest(job_t *j)
{
    FILE *fp = fopen(out_path(j, MANIFEST), "r+");
    char *line = NULL;
    size_t cap = 0;
    off_t whole = 0; /* the end of the last line with its newline */
    ssize_t n;
    if (fp == NULL)
        return errno == ENOENT ? AL_ERR_OK : AL_ERR_IO;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] != '\n')
            break;
        whole += n;
        json_t *doc = json_loads(line, 0, NULL);
        const char *st = json_string_value(json_object_get(doc, "status"));
        int64_t s, e;
        if (st != NULL && (strcmp(st, "done") == 0 || strcmp(st, "empty") == 0) &&
            al_export_parse_hour(json_string_value(json_object_get(doc, "start")), &s) &&
            al_export_parse_hour(json_string_value(json_object_get(doc, "end")), &e)) {
            span_t *v = realloc(j->covered, sizeof(*v) * (j->ncovered + 1));
            if (v == NULL) {
                json_decref(doc);
                break;
            }
            j->covered = v;
            j->covered[j->ncovered++] = (span_t){s, e};
        }
        json_decref(doc);
    }
    free(line);
    if (n > 0 && (ftruncate(fileno(fp), whole) != 0 || fsync(fileno(fp)) != 0)) {
        fclose(fp);
        return AL_ERR_WRITE;
    }
    fclose(fp);
    return AL_ERR_OK;
}

/* @return 1 when every hour of [s, e] is in a recorded window. */
static int covered(const job_t *j, int64_t s, int64_t e)
{
    for (int64_t h = s; h <= e;) {
        int64_t next = h;
        for (size_t i = 0; i < j->ncovered; i++)
            if (j->covered[i].start <= h && h <= j->covered[i].end && j->covered[i].end >= next)
                next = j->covered[i].end + 1;
        if (next == h)
            return 0;
        h = next;
    }
    return 1;
}

/* Appends one manifest line, durably. */
static al_err_t record(job_t *j, const char *line)
{
    int fd = al_open_private(out_path(j, MANIFEST), 1);
    size_t n = strlen(line);
    int ok = fd >= 0 && write(fd, line, n) == (ssize_t)n && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok || al_fsync_parent(j->path) != 0) {
        al_diag_set(j->diag, j->path, errno);
        return AL_ERR_WRITE;
    }
    return AL_ERR_OK;
}

/* ---- one download -------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    job_t *j = ctx;
    size_t len = size * n, done = 0;
    while (done < len) {
        ssize_t k = write(j->fd, p + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0; /* curl ends the transfer: a write error */
        done += (size_t)k;
    }
    j->got += len;
    return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    job_t *j = ctx;
    (void)dt, (void)ut, (void)un;
    if (j->o->stop != NULL && atomic_load(j->o->stop))
        return 1;
    if ((uint64_t)dn >= j->next_progress) {
        al_exp_event_t e = {.bytes = (uint64_t)dn};
        j->next_progress = (uint64_t)dn + (1u << 20);
        emit(j, AL_EXP_PROGRESS, 0, 0, &e);
    }
    return 0;
}

/* GETs one window into the part file. @return the HTTP status, or 0 when
 * the transfer broke (*why says how), -1 when stopped. */
static long fetch(job_t *j, int64_t s, int64_t e, const char **why, uint64_t *ms)
{
    char url[4096 + 64], a[12], b[12];
    CURLcode rc;
    long status = 0;
    uint64_t t0 = al_mono_ms();

    al_export_hour_text(s, a);
    al_export_hour_text(e, b);
    snprintf(url, sizeof(url), "%s?start=%s&end=%s", j->o->url, a, b);
    j->fd = al_open_private(out_path(j, PART), 0);
    if (j->fd < 0) {
        *why = "cannot create the download file";
        return 0;
    }
    j->got = 0;
    j->next_progress = 1u << 20;
    curl_easy_setopt(j->curl, CURLOPT_URL, url);
    rc = curl_easy_perform(j->curl);
    if (close(j->fd) != 0 && rc == CURLE_OK)
        rc = CURLE_WRITE_ERROR;
    *ms = al_mono_ms() - t0;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return -1;
    if (rc != CURLE_OK) {
        *why = curl_easy_strerror(rc);
        return 0;
    }
    curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static al_err_t setup_curl(job_t *j)
{
    const al_export_opts_t *o = j->o;
    j->curl = curl_easy_init();
    if (j->curl == NULL)
        return AL_ERR_HTTP_CLIENT;
    curl_easy_setopt(j->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->curl, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    /* no total timeout (an export may be gigabytes); a stalled one breaks */
    curl_easy_setopt(j->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(j->curl, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(j->curl, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(j->curl, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->ca_file != NULL)
        curl_easy_setopt(j->curl, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(j->curl, CURLOPT_USERAGENT, "ampload/" AMPLOAD_VERSION);
    curl_easy_setopt(j->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(j->curl, CURLOPT_USERNAME, o->api_key);
    curl_easy_setopt(j->curl, CURLOPT_PASSWORD, o->secret_key);
    curl_easy_setopt(j->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(j->curl, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(j->curl, CURLOPT_XFERINFODATA, j);
    curl_easy_setopt(j->curl, CURLOPT_NOPROGRESS, 0L);
    return AL_ERR_OK;
}

/* ---- the window's file --------------------------------------------------- */

typedef struct {
    FILE *out;
    ZSTD_CCtx *cctx;
    EVP_MD_CTX *sha;
    uint64_t rows, bytes;
    int failed;
    char buf[1 << 16];
} sink_t;

/* Compresses in[0..n) (end: the last call) into the file and the digest. */
static void put_rows(sink_t *k, const void *in, size_t n, int end)
{
    ZSTD_inBuffer ib = {in, n, 0};
    size_t left;
    do {
        ZSTD_outBuffer ob = {k->buf, sizeof(k->buf), 0};
        left = ZSTD_compressStream2(k->cctx, &ob, &ib, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left) || fwrite(k->buf, 1, ob.pos, k->out) != ob.pos ||
            EVP_DigestUpdate(k->sha, k->buf, ob.pos) != 1) {
            k->failed = 1;
            return;
        }
        k->bytes += ob.pos;
    } while (end ? left != 0 : ib.pos < ib.size);
}

/* Copies every row of one member into the sink. @return AL_ERR_OK, the
 * reader's error (a damaged download), or INVALID_ARG (a row too long). */
static al_err_t copy_member(sink_t *k, const al_source_t *src, al_diag_t *diag)
{
    al_reader_opts_t ro = {.zip = src->zip, .member = src->member, .name = src->name};
    al_reader_t *r;
    al_chunk_t *c;
    al_err_t err = al_reader_open(&r, src->path, 0, &ro, diag);
    while (err == AL_ERR_OK && (err = al_reader_next(r, &c, diag)) == AL_ERR_OK && c != NULL) {
        if (c->long_line == 0) {
            put_rows(k, c->data, c->len, 0);
            if (c->len > 0 && c->data[c->len - 1] != '\n')
                put_rows(k, "\n", 1, 0);
            k->rows += c->lines;
        } else {
            /* a row longer than a chunk cannot be copied whole: the window
             * fails rather than lose it */
            al_diag_set(diag, src->name, 0);
            diag->offset = c->offset;
            diag->has_offset = 1;
            snprintf(diag->detail, sizeof(diag->detail),
                     "a row of %llu bytes, over the %u-byte limit",
                     (unsigned long long)c->long_line, AL_DEFAULT_CHUNK_BYTES);
            err = AL_ERR_INVALID_ARG;
        }
        al_chunk_release(c);
    }
    al_reader_close(r);
    return err;
}

/* Turns the downloaded zip into name (via a temporary file), durably.
 * @return AL_ERR_OK; ZIP_CORRUPT etc. for a damaged download; WRITE. */
static al_err_t convert(job_t *j, const char *name, uint64_t *rows, uint64_t *bytes, char *hex)
{
    char part[4096], tmp[4096], final[4096];
    const char *paths[1] = {part};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    al_sources_t srcs;
    sink_t *k = calloc(1, sizeof(*k));
    al_err_t err;

    snprintf(part, sizeof(part), "%s", out_path(j, PART));
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", j->o->out_dir, name);
    snprintf(final, sizeof(final), "%s/%s", j->o->out_dir, name);
    if (k == NULL)
        return AL_ERR_NOMEM;
    err = al_sources_expand(&srcs, paths, 1, j->diag);
    if (err == AL_ERR_OK && srcs.nzips == 0) {
        al_diag_set(j->diag, part, 0);
        snprintf(j->diag->detail, sizeof(j->diag->detail), "the answer is not a zip archive");
        err = AL_ERR_ZIP_CORRUPT;
    }
    if (err != AL_ERR_OK) {
        al_sources_free(&srcs);
        free(k);
        return err;
    }
    k->out = al_fopen_tmp(tmp);
    k->cctx = ZSTD_createCCtx();
    k->sha = EVP_MD_CTX_new();
    if (k->out == NULL || k->cctx == NULL || k->sha == NULL ||
        EVP_DigestInit_ex(k->sha, EVP_sha256(), NULL) != 1)
        k->failed = 1;
    else
        ZSTD_CCtx_setParameter(k->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    for (uint32_t i = 0; i < srcs.n && !k->failed && err == AL_ERR_OK; i++)
        err = copy_member(k, &srcs.v[i], j->diag);
    if (!k->failed && err == AL_ERR_OK)
        put_rows(k, "", 0, 1);
    if (!k->failed && err == AL_ERR_OK &&
        (EVP_DigestFinal_ex(k->sha, md, &mdlen) != 1 || fflush(k->out) != 0 ||
         fsync(fileno(k->out)) != 0))
        k->failed = 1;
    if (k->out != NULL && fclose(k->out) != 0)
        k->failed = 1;
    if (err == AL_ERR_OK && !k->failed && (rename(tmp, final) != 0 || al_fsync_parent(final) != 0))
        k->failed = 1;
    if (err == AL_ERR_OK && k->failed) {
        al_diag_set(j->diag, final, errno);
        err = AL_ERR_WRITE;
    }
    if (err != AL_ERR_OK)
        unlink(tmp);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    *rows = k->rows;
    *bytes = k->bytes;
    ZSTD_freeCCtx(k->cctx);
    EVP_MD_CTX_free(k->sha);
    al_sources_free(&srcs);
    free(k);
    return err;
}

/* ---- windows ------------------------------------------------------------- */

/* Records a window done (rows in its file) or empty. */
static al_err_t finish_window(job_t *j, int64_t s, int64_t e, int empty)
{
    char a[12], b[12], name[64], hex[2 * EVP_MAX_MD_SIZE + 1] = "", line[512];
    uint64_t rows = 0, bytes = 0;
    al_exp_event_t ev = {0};
    al_err_t err = AL_ERR_OK;

    al_export_hour_text(s, a);
    al_export_hour_text(e, b);
    snprintf(name, sizeof(name), "%s-%s.ndjson.zst", a, b);
    if (!empty && (err = convert(j, name, &rows, &bytes, hex)) != AL_ERR_OK)
        return err;
    if (empty)
        snprintf(line, sizeof(line), "{\"start\":\"%s\",\"end\":\"%s\",\"status\":\"empty\"}\n", a,
                 b);
    else
        snprintf(line, sizeof(line),
                 "{\"start\":\"%s\",\"end\":\"%s\",\"status\":\"done\",\"file\":\"%s\","
                 "\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"sha256\":\"%s\"}\n",
                 a, b, name, rows, bytes, hex);
    err = record(j, line);
    if (err != AL_ERR_OK)
        return err;
    unlink(out_path(j, PART));
    ev.rows = rows;
    ev.bytes = bytes;
    j->st->rows += rows;
    j->st->bytes_out += bytes;
    j->st->hours_done += (uint64_t)(e - s + 1);
    if (empty)
        j->st->empty++;
    else
        j->st->done++;
    emit(j, empty ? AL_EXP_WINDOW_EMPTY : AL_EXP_WINDOW_DONE, s, e, &ev);
    return AL_ERR_OK;
}

static al_err_t window_failed(job_t *j, int64_t s, int64_t e, const char *why)
{
    al_exp_event_t ev = {.detail = why};
    j->st->failed++;
    unlink(out_path(j, PART));
    emit(j, AL_EXP_WINDOW_FAILED, s, e, &ev);
    return AL_ERR_OK;
}

/* Waits before a retry. @return 0, or -1 when stopped or over budget. */
static int backoff(job_t *j, uint32_t attempt, uint64_t t0)
{
    uint64_t d = al_backoff_delay_ms(attempt, BACKOFF_MS, BACKOFF_CAP, 0, &j->rng);
    if (al_mono_ms() + d > t0 + (uint64_t)j->o->retry_time_s * 1000)
        return -1;
    for (uint64_t end = al_mono_ms() + d; al_mono_ms() < end;) {
        if (j->o->stop != NULL && atomic_load(j->o->stop))
            return -1;
        usleep(50000);
    }
    return 0;
}

static al_err_t do_window(job_t *j, int64_t s, int64_t e);

/* 400 or 504: the two halves, or a failed hour. */
static al_err_t split(job_t *j, int64_t s, int64_t e, long status)
{
    int64_t mid = s + (e - s) / 2;
    al_err_t err;
    if (s == e)
        return window_failed(j, s, e,
                             status == 400 ? "one hour is over the Export API's 4 GB"
                                           : "one hour keeps timing out (504)");
    j->st->splits++;
    emit(j, AL_EXP_WINDOW_SPLIT, s, e, &(al_exp_event_t){.status = status});
    err = do_window(j, s, mid);
    return err != AL_ERR_OK ? err : do_window(j, mid + 1, e);
}

/* Downloads one window until done, empty, split, failed or stopped. */
static al_err_t do_window(job_t *j, int64_t s, int64_t e)
{
    uint64_t t0 = al_mono_ms();
    for (uint32_t attempt = 1;; attempt++) {
        const char *why = NULL;
        uint64_t ms = 0;
        long status;
        al_err_t err;
        if (covered(j, s, e)) {
            j->st->skipped++;
            j->st->hours_done += (uint64_t)(e - s + 1);
            emit(j, AL_EXP_WINDOW_SKIP, s, e, NULL);
            return AL_ERR_OK;
        }
        status = fetch(j, s, e, &why, &ms);
        if (status < 0)
            return AL_ERR_INTERRUPTED;
        j->st->bytes_in += j->got;
        emit(j, AL_EXP_REQUEST, s, e,
             &(al_exp_event_t){
                 .status = status, .attempt = attempt, .bytes = j->got, .ms = ms, .detail = why});
        if (status == 200) {
            err = finish_window(j, s, e, 0);
            if (err == AL_ERR_OK || err == AL_ERR_WRITE || err == AL_ERR_NOMEM)
                return err;
            if (err == AL_ERR_INVALID_ARG) /* the same rows would come again */
                return window_failed(j, s, e, j->diag->detail);
            /* a damaged zip is retried: the transfer may have broken */
            why = j->diag->detail[0] != '\0' ? j->diag->detail : "the downloaded zip is damaged";
        } else if (status == 404) {
            return finish_window(j, s, e, 1);
        } else if (status == 400 || status == 504) {
            unlink(out_path(j, PART));
            return split(j, s, e, status);
        } else if (status == 401 || status == 403) {
            unlink(out_path(j, PART));
            al_diag_set(j->diag, j->o->url, 0);
            snprintf(j->diag->detail, sizeof(j->diag->detail),
                     "HTTP %ld: the API key or the secret key is wrong, or the region", status);
            return AL_ERR_CONFIG;
        } else if (status != 0 && status != 429 && status < 500) {
            char w[64];
            snprintf(w, sizeof(w), "HTTP %ld", status);
            return window_failed(j, s, e, w);
        }
        if (backoff(j, attempt, t0) != 0) {
            if (j->o->stop != NULL && atomic_load(j->o->stop))
                return AL_ERR_INTERRUPTED;
            return window_failed(j, s, e,
                                 why != NULL ? why : "the server kept failing (429 or 5xx)");
        }
    }
}

al_err_t al_export_run(const al_export_opts_t *o, al_export_stats_t *stats, al_diag_t *diag)
{
    job_t j;
    al_err_t err;

    memset(&j, 0, sizeof(j));
    memset(stats, 0, sizeof(*stats));
    memset(diag, 0, sizeof(*diag));
    j.o = o;
    j.st = stats;
    j.diag = diag;
    al_rng_seed(&j.rng, (uint64_t)al_mono_ms() | 1);
    if (o->window_hours == 0 || o->end < o->start)
        return AL_ERR_INVALID_ARG;
    stats->windows = (uint64_t)((o->end - o->start) / o->window_hours + 1);
    stats->hours = (uint64_t)(o->end - o->start + 1);
    err = read_manifest(&j);
    if (err != AL_ERR_OK) {
        al_diag_set(diag, j.path, errno);
        return err;
    }
    unlink(out_path(&j, PART)); /* a download a crash interrupted */
    err = setup_curl(&j);
    for (int64_t s = o->start; err == AL_ERR_OK && s <= o->end; s += o->window_hours) {
        int64_t e = s + o->window_hours - 1 < o->end ? s + o->window_hours - 1 : o->end;
        stats->window++;
        if (o->stop != NULL && atomic_load(o->stop))
            err = AL_ERR_INTERRUPTED;
        else
            err = do_window(&j, s, e);
    }
    if (j.curl != NULL)
        curl_easy_cleanup(j.curl);
    free(j.covered);
    return err;
}
