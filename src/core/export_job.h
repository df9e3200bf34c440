/* export_job.h - `ampload export`: Amplitude's Export API to local files,
 * window by window, resumable.
 *
 * The range [start, end] (hours, both included, as the API counts them) is
 * cut into windows of window_hours that never overlap: [s, s+w-1], then
 * [s+w, ...], the last one ending at end. Each window is downloaded with
 * HTTP Basic auth straight to a file in the output directory (never whole
 * in memory), then its zip is read member by member in natural order (the
 * reader: libzip and ISA-L) and its rows written as one zstd file,
 * <start>-<end>.ndjson.zst; the file is fsync'd and renamed into place and
 * a line appended to manifest.ndjson (window, status, rows, bytes, sha256
 * of the file, the project id of the API key), fsync'd too. A window is
 * done only then: a rerun fetches only the hours no manifest line covers,
 * each window cut around the covered ones (so a window halved by an earlier
 * run, or a range resumed with another window size, never asks for an hour
 * twice), and a killed export resumes where it stopped and ends with the
 * same files and manifest. A manifest that is a link is refused (never
 * followed); one of another project stops the job; the leftovers of a
 * killed run (the download, a window's .tmp file) are removed at start.
 *
 * Answers: 200 a window's rows; 404 an empty window (recorded as such);
 * 400 (over 4 GB) and 504 (too slow) halve the window, down to one hour,
 * and an hour that still fails is recorded as failed (a rerun tries it
 * again; the CLI points to Amplitude's S3 export); 429, other 5xx, a broken
 * transfer, a damaged zip or a 200 with an empty zip (only 404 means empty)
 * are retried with backoff within retry_time_s, then the window fails; 401
 * and 403 stop the job (the key, the secret or the region is wrong), and so
 * does an endpoint no connection could be made to since the start (DNS,
 * refused, TLS) once the smaller of 30 s and retry_time_s has passed:
 * CONFIG, diag's detail "cannot connect to HOST:PORT: cause". Once a
 * connection was made, failures stay retryable. A download that cannot be
 * written (a full disk) stops the job at once: WRITE, diag names the file.
 *
 * Thread-safety: one job per output directory (the caller holds its lock);
 * events are reported from the calling thread.
 */
#ifndef AL_EXPORT_JOB_H
#define AL_EXPORT_JOB_H

#include "error.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AL_EXP_WINDOW_DONE,   /* a window's file and manifest line are durable */
    AL_EXP_WINDOW_EMPTY,  /* 404: nothing in it */
    AL_EXP_WINDOW_SKIP,   /* done by an earlier run (the manifest says so) */
    AL_EXP_WINDOW_SPLIT,  /* 400 or 504: halved */
    AL_EXP_WINDOW_FAILED, /* given up; detail says why */
    AL_EXP_REQUEST,       /* one HTTP attempt ended (status 0: no answer) */
    AL_EXP_RETRY,         /* an attempt failed and may be retried; detail says why */
    AL_EXP_PROGRESS       /* bytes arrived */
} al_exp_kind_t;

typedef struct {
    al_exp_kind_t kind;
    int64_t start, end; /* the window, hours since 1970 */
    long status;        /* AL_EXP_REQUEST: HTTP status, 0 when none */
    uint32_t attempt;
    uint64_t bytes;     /* downloaded so far (PROGRESS), or of the window */
    uint64_t rows;      /* DONE */
    uint64_t ms;        /* REQUEST: its time */
    const char *detail; /* why (FAILED, REQUEST errors), or NULL; never holds a secret */
} al_exp_event_t;

typedef struct {
    const char *url; /* the export URL, without query */
    const char *api_key, *secret_key;
    const char *out_dir;
    int64_t start, end;    /* hours since 1970, end included */
    uint32_t window_hours; /* >= 1 */
    long connect_timeout_ms;
    long stall_timeout_s;  /* a transfer with no byte for this long is broken */
    uint32_t retry_time_s; /* per window */
    int insecure;
    const char *ca_file;
    atomic_int *stop; /* set to stop between windows and retries, or NULL */
    void (*on_event)(void *ctx, const al_exp_event_t *e);
    void *ctx;
} al_export_opts_t;

typedef struct {
    uint64_t windows;           /* in the range, before any halving */
    uint64_t window;            /* the one under way, 1-based */
    uint64_t hours, hours_done; /* of the range; of its windows done, empty or done before */
    uint64_t done, empty, skipped, failed, splits;
    uint64_t rows, bytes_in, bytes_out;
} al_export_stats_t;

/* Runs the job. @return AL_ERR_OK when every window was tried (some may
 * have failed: stats->failed), CONFIG (401/403), UNREACHABLE (never
 * connected since the start: no answer to the URL for 30 s),
 * INTERRUPTED, WRITE or IO (the output directory), UNSAFE_PATH (a link at
 * the manifest), INVALID_ARG (the directory holds another project's
 * export), HTTP_CLIENT, NOMEM; diag says what. */
al_err_t al_export_run(const al_export_opts_t *o, al_export_stats_t *stats, al_diag_t *diag);

/* The project id of an API key, as the manifest records it on every line
 * ("project"): the first 16 hex digits of SHA-256 over a fixed domain
 * prefix and the key. It tells two projects apart without holding the key
 * or any part of it. out holds 17 bytes. */
void al_export_project_id(const char *api_key, char *out);

/* The one rule for a re-import into the source project: @return 1 when the
 * export manifest of input records the project of api_key, else 0 (no
 * manifest, one of another project, or none readable: an input without a
 * manifest is no export of ours). The manifest of a zip archive is a member
 * whose base name is manifest.ndjson (read up to 8 MB); of any input, the
 * manifest.ndjson in its directory. manifest[cap] gets the manifest's path
 * ("ARCHIVE:MEMBER" for a member) when 1 is returned. Thread-safe. */
int al_export_same_project(const char *input, const char *api_key, char *manifest, size_t cap);

/* Whether input is one of the files an export keeps beside its rows, not
 * rows: a file named manifest.ndjson, or the lock file or the unfinished
 * download beside a manifest. @return what it is ("the export's manifest",
 * a static string), or NULL for any other file. */
const char *al_export_own_file(const char *input);

/* "YYYYMMDDTHH" to hours since 1970. @return 1, or 0 when malformed. */
int al_export_parse_hour(const char *s, int64_t *hour);

/* Hours since 1970 to "YYYYMMDDTHH" (out holds 12 bytes). */
void al_export_hour_text(int64_t hour, char *out);

#endif
