/* export_job.c - Amplitude's Export API to local zstd files (export_job.h). */
#include "export_job.h"

#include "clock.h"
#include "http.h"
#include "reader.h"
#include "retry.h"
#include "privfile.h"
#include "sources.h"
#include "statedir.h"
#include "zipfile.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define MANIFEST   al_state_name(AL_STATE_MANIFEST)
#define PART       al_state_name(AL_STATE_PART)
#define ZSTD_LEVEL 3
/* the most of an archived manifest read: one short line a window */
#define MANIFEST_MAX (8u << 20)
#define BACKOFF_MS   1000
#define BACKOFF_CAP  60000
/* an endpoint never reached since the start is a wrong URL by then */
#define NEVER_CONNECTED_MS 30000
#define PROJECT_DOMAIN     "ampload project id v1\n"

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
    uint64_t got;    /* bytes of the current download */
    int fd;          /* the current download's file */
    int write_errno; /* the download's file could not be written: errno */
    uint64_t next_progress;
    uint64_t t_start;  /* the run's start (al_mono_ms) */
    int connected;     /* a connection to the endpoint was made since the start */
    int connect_fault; /* the last attempt could not connect (DNS, refused, TLS) */
    char project[17];  /* al_export_project_id() of the API key */
    char why[256];     /* the last attempt's failure */
    char curl_err[CURL_ERROR_SIZE];
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

/* A link (or not a file) where the job keeps a file of its own (j->path). */
static al_err_t unsafe_path(job_t *j)
{
    al_diag_set(j->diag, j->path, 0);
    snprintf(j->diag->detail, sizeof(j->diag->detail),
             "a symbolic link or not a regular file; ampload never follows one");
    return AL_ERR_UNSAFE_PATH;
}

/* @return the hour after the covered stretch that starts at h: h itself
 * when no recorded window holds h. Adjacent and overlapping windows merge. */
static int64_t covered_until(const job_t *j, int64_t h)
{
    for (int64_t next = h;; h = next) {
        for (size_t i = 0; i < j->ncovered; i++)
            if (j->covered[i].start <= h && h <= j->covered[i].end && j->covered[i].end >= next)
                next = j->covered[i].end + 1;
        if (next == h)
            return h;
    }
}

/* The first hour at or after h that a recorded window holds, or e + 1. */
static int64_t next_covered(const job_t *j, int64_t h, int64_t e)
{
    int64_t first = e + 1;
    for (size_t i = 0; i < j->ncovered; i++)
        if (j->covered[i].end >= h && j->covered[i].start < first)
            first = j->covered[i].start > h ? j->covered[i].start : h;
    return first;
}

/* Adds [s, e] to the hours recorded (a window this run finished), so no
 * later window of the run asks for them again. */
static int add_covered(job_t *j, int64_t s, int64_t e)
{
    span_t *v = realloc(j->covered, sizeof(*v) * (j->ncovered + 1));
    if (v == NULL)
        return -1;
    j->covered = v;
    j->covered[j->ncovered++] = (span_t){s, e};
    return 0;
}

/* Reads the manifest's windows (done or empty). A torn last line (a crash
 * while appending) is cut off, so that the next line appended stands on a
 * line of its own; its window is not done and is downloaded again. The file
 * is opened without following a link: a planted one would have the
 * truncation cut another file. A line of another project (another API key)
 * stops the job: one directory holds one project's export. */
static al_err_t read_manifest(job_t *j)
{
    int fd = open(out_path(j, MANIFEST), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    off_t whole = 0; /* the end of the last line with its newline */
    ssize_t n = 0;
    al_err_t err = AL_ERR_OK;
    if (fd < 0 && errno == ENOENT)
        return AL_ERR_OK;
    if (fd < 0 && errno == ELOOP)
        return unsafe_path(j);
    if (fd >= 0 && fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        close(fd);
        return unsafe_path(j);
    }
    if (fd < 0 || (fp = fdopen(fd, "r+")) == NULL) {
        al_diag_set(j->diag, j->path, errno);
        if (fd >= 0)
            close(fd);
        return AL_ERR_IO;
    }
    while (err == AL_ERR_OK && (n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] != '\n')
            break;
        whole += n;
        json_t *doc = json_loads(line, 0, NULL);
        const char *st = json_string_value(json_object_get(doc, "status"));
        const char *proj = json_string_value(json_object_get(doc, "project"));
        int64_t s, e;
        if (proj != NULL && strcmp(proj, j->project) != 0) {
            al_diag_set(j->diag, j->path, 0);
            snprintf(j->diag->detail, sizeof(j->diag->detail),
                     "it records an export of project %.16s; this API key is project %s", proj,
                     j->project);
            err = AL_ERR_INVALID_ARG;
        } else if (st != NULL && (strcmp(st, "done") == 0 || strcmp(st, "empty") == 0) &&
                   al_export_parse_hour(json_string_value(json_object_get(doc, "start")), &s) &&
                   al_export_parse_hour(json_string_value(json_object_get(doc, "end")), &e) &&
                   add_covered(j, s, e) != 0) {
            err = AL_ERR_NOMEM;
        }
        json_decref(doc);
    }
    free(line);
    if (err == AL_ERR_OK && n > 0 &&
        (ftruncate(fileno(fp), whole) != 0 || fsync(fileno(fp)) != 0)) {
        al_diag_set(j->diag, j->path, errno);
        err = AL_ERR_WRITE;
    }
    fclose(fp);
    return err;
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

/* Removes what a killed run left: the download under way and a window's
 * file not yet renamed into place (<window>.ndjson.zst.tmp). Neither is
 * recorded, so neither is anyone's; the lock says no other run is here. */
static al_err_t remove_stale(job_t *j)
{
    static const char tmp_end[] = ".ndjson.zst.tmp";
    DIR *d = opendir(j->o->out_dir);
    struct dirent *de;
    if (d == NULL) {
        al_diag_set(j->diag, j->o->out_dir, errno);
        return AL_ERR_IO;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (strcmp(de->d_name, PART) == 0 ||
            (n > sizeof(tmp_end) - 1 &&
             strcmp(de->d_name + n - (sizeof(tmp_end) - 1), tmp_end) == 0))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    return AL_ERR_OK;
}

/* ---- the source project ---------------------------------------------------- */

void al_export_project_id(const char *api_key, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, PROJECT_DOMAIN, strlen(PROJECT_DOMAIN)) == 1 &&
             EVP_DigestUpdate(c, api_key, strlen(api_key)) == 1 &&
             EVP_DigestFinal_ex(c, md, &len) == 1 && len >= 8;
    EVP_MD_CTX_free(c);
    for (unsigned i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", ok ? md[i] : 0);
}

/* @return 1 when a line of the manifest at fp records project id. */
static int records_project(FILE *fp, const char *id)
{
    char *line = NULL;
    size_t lcap = 0;
    int same = 0;
    while (!same && getline(&line, &lcap, fp) > 0) {
        json_t *doc = json_loads(line, 0, NULL);
        const char *p = json_string_value(json_object_get(doc, "project"));
        same = p != NULL && strcmp(p, id) == 0;
        json_decref(doc);
    }
    free(line);
    return same;
}

/* @return 1 when the file at path starts like a zip archive. */
static int is_zip(const char *path)
{
    unsigned char m[4];
    ssize_t n = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, m, sizeof(m));
    close(fd);
    return n > 0 && al_zip_sniff(m, (size_t)n);
}

/* The rule for an archive: its first member named manifest.ndjson (in any
 * folder) is read, at most MANIFEST_MAX bytes - a manifest holds one short
 * line a window - and its lines looked at. */
static int zip_same_project(const char *input, const char *id, char *manifest, size_t cap)
{
    al_zip_t *z;
    al_diag_t d;
    int same = 0;
    if (al_zip_open(&z, input, &d) != AL_ERR_OK)
        return 0;
    for (uint64_t i = 0, n = al_zip_count(z); i < n && !same; i++) {
        al_zip_entry_t e;
        al_zip_member_t *m;
        const char *base;
        char *buf;
        size_t len = 0;
        ssize_t k = 0;
        al_err_t err = AL_ERR_OK;
        FILE *fp;
        if (al_zip_entry(z, i, &e, &d) != AL_ERR_OK || e.is_dir || e.unreadable != NULL)
            continue;
        base = strrchr(e.name, '/');
        if (strcmp(base != NULL ? base + 1 : e.name, MANIFEST) != 0)
            continue;
        snprintf(manifest, cap, "%s:%s", input, e.name);
        if (al_zip_member_open(&m, z, i, e.name, &d) != AL_ERR_OK)
            continue;
        buf = malloc(MANIFEST_MAX);
        while (buf != NULL && len < MANIFEST_MAX &&
               (k = al_zip_member_read(m, buf + len, MANIFEST_MAX - len, &err, &d)) > 0)
            len += (size_t)k;
        al_zip_member_close(m);
        fp = buf != NULL && len > 0 ? fmemopen(buf, len, "r") : NULL;
        if (fp != NULL) {
            same = records_project(fp, id);
            fclose(fp);
        }
        free(buf);
    }
    al_zip_close(z);
    return same;
}

int al_export_same_project(const char *input, const char *api_key, char *manifest, size_t cap)
{
    const char *slash = strrchr(input, '/');
    char id[17];
    int same = 0, fd;
    FILE *fp;
    al_export_project_id(api_key, id);
    if (is_zip(input) && zip_same_project(input, id, manifest, cap))
        return 1;
    if (slash == NULL)
        snprintf(manifest, cap, "%s", MANIFEST);
    else
        snprintf(manifest, cap, "%.*s/%s", (int)(slash - input), input, MANIFEST);
    fd = open(manifest, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || (fp = fdopen(fd, "r")) == NULL) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    same = records_project(fp, id);
    fclose(fp);
    return same;
}

const char *al_export_own_file(const char *input)
{
    const char *slash = strrchr(input, '/');
    const char *base = slash != NULL ? slash + 1 : input;
    char beside[4096];
    struct stat st;
    if (strcmp(base, MANIFEST) == 0)
        return "the export's manifest";
    if (strcmp(base, al_state_name(AL_STATE_LOCK)) != 0 && strcmp(base, PART) != 0)
        return NULL;
    /* "lock" is a common name: only the one beside a manifest is ours */
    snprintf(beside, sizeof(beside), "%.*s%s", (int)(base - input), input, MANIFEST);
    if (lstat(beside, &st) != 0)
        return NULL;
    return strcmp(base, PART) == 0 ? "the export's unfinished download" : "the export's lock file";
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
        if (k <= 0) {
            j->write_errno = k < 0 ? errno : ENOSPC;
            return 0; /* curl ends the transfer: a write error */
        }
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

/* @return 1 when curl failed before any connection to the endpoint stood:
 * the name did not resolve, the connection was refused or never completed,
 * or the TLS handshake or certificate failed. */
static int connect_failure(CURL *c, CURLcode rc)
{
    curl_off_t connect_us = 0;
    if (al_http_tls_error(rc))
        return 1;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    return al_http_connect_error(rc, connect_us > 0 ? (long)(connect_us / 1000) + 1 : 0);
}

/* j->why: what failed, in the words the load uses (al_http_describe):
 * "cannot connect to HOST:PORT: connection refused", "cannot resolve host
 * name HOST", or "TLS: " and curl's text. */
static void connect_why(job_t *j, CURLcode rc)
{
    long oserr = 0;
    if (al_http_tls_error(rc)) {
        snprintf(j->why, sizeof(j->why), "TLS: %.200s",
                 j->curl_err[0] != '\0' ? j->curl_err : curl_easy_strerror(rc));
        return;
    }
    curl_easy_getinfo(j->curl, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_OPERATION_TIMEDOUT) /* a connect that timed out */
        al_http_describe(j->why, sizeof(j->why), j->o->url, 0, CURLE_COULDNT_CONNECT, ETIMEDOUT);
    else
        al_http_describe(j->why, sizeof(j->why), j->o->url, 0, (int)rc, oserr);
}

/* GETs one window into the part file. @return the HTTP status, or 0 when
 * the transfer broke (j->why says how; j->connect_fault when it never
 * connected), -1 when stopped, -2 when the part file could not be written
 * (diag says which and why). */
static long fetch(job_t *j, int64_t s, int64_t e, uint64_t *ms)
{
    char url[4096 + 64], a[12], b[12];
    CURLcode rc;
    long status = 0;
    uint64_t t0 = al_mono_ms();

    al_export_hour_text(s, a);
    al_export_hour_text(e, b);
    snprintf(url, sizeof(url), "%s?start=%s&end=%s", j->o->url, a, b);
    j->why[0] = '\0';
    j->curl_err[0] = '\0';
    j->connect_fault = 0;
    j->write_errno = 0;
    j->got = 0;
    j->fd = al_open_private(out_path(j, PART), 0);
    if (j->fd < 0) {
        al_diag_set(j->diag, j->path, errno);
        return -2;
    }
    j->next_progress = 1u << 20;
    curl_easy_setopt(j->curl, CURLOPT_URL, url);
    rc = curl_easy_perform(j->curl);
    if (close(j->fd) != 0 && rc == CURLE_OK) {
        rc = CURLE_WRITE_ERROR;
        j->write_errno = errno;
    }
    *ms = al_mono_ms() - t0;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return -1;
    if (rc == CURLE_WRITE_ERROR && j->write_errno != 0) {
        /* a full disk is not the network's fault: retrying cannot mend it */
        al_diag_set(j->diag, out_path(j, PART), j->write_errno);
        return -2;
    }
    if (rc != CURLE_OK) {
        j->connect_fault = !j->connected && connect_failure(j->curl, rc);
        if (j->connect_fault)
            connect_why(j, rc);
        else
            snprintf(j->why, sizeof(j->why), "%s",
                     j->curl_err[0] != '\0' ? j->curl_err : curl_easy_strerror(rc));
        if (!connect_failure(j->curl, rc))
            j->connected = 1;
        return 0;
    }
    j->connected = 1;
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
    al_http_tls_setup(j->curl, o->insecure, o->ca_file);
    curl_easy_setopt(j->curl, CURLOPT_USERAGENT, "ampload/" AMPLOAD_VERSION);
    curl_easy_setopt(j->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(j->curl, CURLOPT_USERNAME, o->api_key);
    curl_easy_setopt(j->curl, CURLOPT_PASSWORD, o->secret_key);
    curl_easy_setopt(j->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(j->curl, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(j->curl, CURLOPT_XFERINFODATA, j);
    curl_easy_setopt(j->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(j->curl, CURLOPT_ERRORBUFFER, j->curl_err);
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
    } else if (err == AL_ERR_OK && srcs.n == 0) {
        /* only a 404 says a window is empty: a 200 without rows is a fault */
        al_diag_set(j->diag, part, 0);
        snprintf(j->diag->detail, sizeof(j->diag->detail),
                 "HTTP 200 with an empty zip (only 404 means an empty window)");
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
    char a[12], b[12], name[64], hex[2 * EVP_MAX_MD_SIZE + 1] = "", line[600];
    uint64_t rows = 0, bytes = 0;
    al_exp_event_t ev = {0};
    al_err_t err = AL_ERR_OK;

    al_export_hour_text(s, a);
    al_export_hour_text(e, b);
    snprintf(name, sizeof(name), "%s-%s.ndjson.zst", a, b);
    if (!empty && (err = convert(j, name, &rows, &bytes, hex)) != AL_ERR_OK)
        return err;
    if (empty)
        snprintf(line, sizeof(line),
                 "{\"start\":\"%s\",\"end\":\"%s\",\"status\":\"empty\",\"project\":\"%s\"}\n", a,
                 b, j->project);
    else
        snprintf(line, sizeof(line),
                 "{\"start\":\"%s\",\"end\":\"%s\",\"status\":\"done\",\"file\":\"%s\","
                 "\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64
                 ",\"sha256\":\"%s\",\"project\":\"%s\"}\n",
                 a, b, name, rows, bytes, hex, j->project);
    err = record(j, line);
    if (err != AL_ERR_OK)
        return err;
    if (add_covered(j, s, e) != 0)
        return AL_ERR_NOMEM;
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

/* Waits before a retry. @return 0, or -1 when stopped or when the wait
 * would end past deadline (al_mono_ms). */
static int backoff(job_t *j, uint32_t attempt, uint64_t deadline)
{
    uint64_t d = al_backoff_delay_ms(attempt, BACKOFF_MS, BACKOFF_CAP, 0, &j->rng);
    if (al_mono_ms() + d > deadline)
        return -1;
    for (uint64_t end = al_mono_ms() + d; al_mono_ms() < end;) {
        if (j->o->stop != NULL && atomic_load(j->o->stop))
            return -1;
        usleep(50000);
    }
    return 0;
}

/* The end of the retry budget of an attempt that failed at t0: retry_time_s,
 * but while no connection was ever made (a wrong host, a closed port, TLS
 * refused), the smaller of that and NEVER_CONNECTED_S from the run's start. */
static uint64_t retry_deadline(const job_t *j, uint64_t t0)
{
    uint64_t budget = (uint64_t)j->o->retry_time_s * 1000, end = t0 + budget;
    if (j->connect_fault) {
        uint64_t cfg = j->t_start + (budget < NEVER_CONNECTED_MS ? budget : NEVER_CONNECTED_MS);
        if (cfg < end)
            end = cfg;
    }
    return end;
}

static al_err_t do_range(job_t *j, int64_t s, int64_t e);

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
    err = do_range(j, s, mid);
    return err != AL_ERR_OK ? err : do_range(j, mid + 1, e);
}

/* The answer to a fetch that could not be retried. @return AL_ERR_OK and
 * *done = 0 to retry (j->why says why), else the window's outcome. */
static al_err_t on_answer(job_t *j, int64_t s, int64_t e, long status, int *done)
{
    al_err_t err;
    *done = 1;
    if (status == 200) {
        err = finish_window(j, s, e, 0);
        if (err == AL_ERR_OK || err == AL_ERR_WRITE || err == AL_ERR_NOMEM)
            return err;
        if (err == AL_ERR_INVALID_ARG) /* the same rows would come again */
            return window_failed(j, s, e, j->diag->detail);
        /* a damaged zip is retried: the transfer may have broken */
        snprintf(j->why, sizeof(j->why), "%s",
                 j->diag->detail[0] != '\0' ? j->diag->detail : "the downloaded zip is damaged");
        *done = 0;
        return AL_ERR_OK;
    }
    if (status == 404)
        return finish_window(j, s, e, 1);
    unlink(out_path(j, PART));
    if (status == 400 || status == 504)
        return split(j, s, e, status);
    if (status == 401 || status == 403) {
        al_diag_set(j->diag, j->o->url, 0);
        snprintf(j->diag->detail, sizeof(j->diag->detail),
                 "HTTP %ld: the API key or the secret key is wrong, or the region", status);
        return AL_ERR_CONFIG;
    }
    if (status != 0 && status != 429 && status < 500) {
        char w[64];
        snprintf(w, sizeof(w), "HTTP %ld", status);
        return window_failed(j, s, e, w);
    }
    if (status != 0)
        snprintf(j->why, sizeof(j->why), "HTTP %ld", status);
    *done = 0;
    return AL_ERR_OK;
}

/* Downloads one window none of whose hours is recorded, until done, empty,
 * split, failed or stopped. */
static al_err_t do_window(job_t *j, int64_t s, int64_t e)
{
    uint64_t t0 = al_mono_ms();
    for (uint32_t attempt = 1;; attempt++) {
        uint64_t ms = 0;
        int done = 0;
        long status = fetch(j, s, e, &ms);
        al_err_t err;
        if (status == -1)
            return AL_ERR_INTERRUPTED;
        if (status == -2)
            return AL_ERR_WRITE;
        j->st->bytes_in += j->got;
        emit(j, AL_EXP_REQUEST, s, e,
             &(al_exp_event_t){.status = status,
                               .attempt = attempt,
                               .bytes = j->got,
                               .ms = ms,
                               .detail = status == 0 ? j->why : NULL});
        err = on_answer(j, s, e, status, &done);
        if (done)
            return err;
        emit(j, AL_EXP_RETRY, s, e,
             &(al_exp_event_t){.status = status, .attempt = attempt, .detail = j->why});
        if (backoff(j, attempt, retry_deadline(j, t0)) != 0) {
            if (j->o->stop != NULL && atomic_load(j->o->stop))
                return AL_ERR_INTERRUPTED;
            if (j->connect_fault) {
                /* never connected since the start: the URL, not the server */
                unlink(out_path(j, PART));
                al_diag_set(j->diag, j->o->url, 0);
                snprintf(j->diag->detail, sizeof(j->diag->detail), "%s", j->why);
                return AL_ERR_UNREACHABLE;
            }
            return window_failed(j, s, e, j->why[0] != '\0' ? j->why : "the server kept failing");
        }
    }
}

/* Does the hours of [s, e] the manifest does not record yet, window by
 * window, cut around the recorded ones: a window halved by an earlier run,
 * or a range resumed with another --window, never asks for an hour again. */
static al_err_t do_range(job_t *j, int64_t s, int64_t e)
{
    al_err_t err = AL_ERR_OK;
    for (int64_t h = s; err == AL_ERR_OK && h <= e;) {
        int64_t upto = covered_until(j, h), gap_end;
        if (upto > h) {
            upto = upto - 1 < e ? upto - 1 : e;
            j->st->skipped++;
            j->st->hours_done += (uint64_t)(upto - h + 1);
            emit(j, AL_EXP_WINDOW_SKIP, h, upto, NULL);
            h = upto + 1;
            continue;
        }
        gap_end = next_covered(j, h, e) - 1;
        err = do_window(j, h, gap_end);
        h = gap_end + 1;
    }
    return err;
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
    j.t_start = al_mono_ms();
    al_export_project_id(o->api_key, j.project);
    err = read_manifest(&j);
    if (err != AL_ERR_OK) {
        free(j.covered);
        return err;
    }
    err = remove_stale(&j); /* what a crash left: a download, a window's file */
    if (err == AL_ERR_OK)
        err = setup_curl(&j);
    for (int64_t s = o->start; err == AL_ERR_OK && s <= o->end; s += o->window_hours) {
        int64_t e = s + o->window_hours - 1 < o->end ? s + o->window_hours - 1 : o->end;
        stats->window++;
        if (o->stop != NULL && atomic_load(o->stop))
            err = AL_ERR_INTERRUPTED;
        else
            err = do_range(&j, s, e);
    }
    if (j.curl != NULL)
        curl_easy_cleanup(j.curl);
    free(j.covered);
    return err;
}
