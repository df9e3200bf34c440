/* error.h - one table of everything that can go wrong in libampload.
 *
 * Every core function that can fail returns an al_err_t. The code says what
 * kind of failure it was; the details a user needs to act on it (which file,
 * which byte offset, which errno) travel beside it in an al_diag_t that the
 * caller owns. The table below is the single source for the code, its message
 * and a hint, so the CLI never invents its own wording.
 *
 * Thread-safety: the functions here are pure and may be called from any thread.
 */
#ifndef AL_ERROR_H
#define AL_ERROR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* X(code, name, message, hint) */
#define AL_ERR_MAP(X)                                                                              \
    X(0, OK, "success", "")                                                                        \
    X(1, NOMEM, "out of memory", "lower --threads or the chunk size")                              \
    X(2, INVALID_ARG, "invalid argument", "check the option values")                               \
    X(3, NOT_FOUND, "no such file", "check the path; use '-' for standard input")                  \
    X(4, IS_DIR, "is a directory", "pass the NDJSON files inside it, e.g. DIR/*.ndjson")           \
    X(5, ACCESS, "permission denied", "make the file readable by this user")                       \
    X(6, IO, "read error", "the disk or network filesystem reported an error; retry the run")      \
    X(7, ZSTD_CORRUPT, "corrupt zstd data", "the file is damaged; re-create or re-download it")    \
    X(8, ZSTD_TRUNCATED, "truncated zstd data", "the file ends inside a frame; it was cut short")  \
    X(9, UNSUPPORTED_FORMAT, "unsupported input format",                                           \
      "ampload reads NDJSON plain, zstd, gzip or zip; decompress it, or recompress with zstd")     \
    X(10, BINARY_INPUT, "not a text file", "the file holds binary data, not NDJSON")               \
    X(11, WRITE, "write error", "check free space and permissions of the state directory")         \
    X(12, THREAD, "cannot start thread", "lower --threads")                                        \
    X(13, STATE_DIR, "cannot use the state directory",                                             \
      "choose a writable directory with --state DIR")                                              \
    X(14, CONFIG, "the server refused the request configuration",                                  \
      "check the API key, the region (--region) and the endpoint URL; nothing was lost: "          \
      "run the same command again after the fix")                                                  \
    X(15, HTTP_CLIENT, "cannot set up the HTTP client",                                            \
      "check that libcurl is installed properly")                                                  \
    X(16, INPUT_IS_OUTPUT, "this input is also an output of the run",                              \
      "name another --report or --audit file; for a state file, copy the input elsewhere first "   \
      "or give the run another --state DIR")                                                       \
    X(17, CHECKPOINT_MISMATCH, "the checkpoint does not match the inputs",                         \
      "run with --restart to start over (or use another --state DIR)")                             \
    X(18, CHECKPOINT_CORRUPT, "the checkpoint cannot be read",                                     \
      "run with --restart to start over (or use another --state DIR)")                             \
    X(19, INTERRUPTED, "interrupted", "run the same command again to resume")                      \
    X(20, LOCKED, "the state directory is in use by another run",                                  \
      "wait for that run to end, or give this one another --state DIR")                            \
    X(21, INPUT_CHANGED, "the input changed while being read (truncated or rewritten)",            \
      "let whatever writes it finish (log rotation?), then load a stable copy with --restart")     \
    X(22, DUPLICATE_INPUT, "this input is given twice (the same file under two names)",            \
      "give each file once")                                                                       \
    X(23, GZIP_CORRUPT, "corrupt gzip data", "the file is damaged; re-create or re-download it")   \
    X(24, GZIP_TRUNCATED, "truncated gzip data",                                                   \
      "the file ends inside a gzip member; it was cut short")                                      \
    X(25, ZIP_CORRUPT, "corrupt zip archive",                                                      \
      "the archive is damaged or cut short; re-download it (unzip -t lists the bad members)")      \
    X(26, ZIP_UNSUPPORTED, "a zip member ampload cannot read",                                     \
      "extract it with unzip (or 7z) and pass the extracted file instead")                         \
    X(27, UNREACHABLE, "the endpoint could not be reached",                                        \
      "check --endpoint, --region and AMPLITUDE_BASE_URL, the network, and any proxy "             \
      "(https_proxy); nothing was lost: run the same command again once it can connect")           \
    X(28, JOURNAL_CORRUPT, "the identify journal is damaged",                                      \
      "restore it from a backup and run the same command again; or move it aside and run "         \
      "again, knowing that identifications past the checkpoint are then sent again (those with "   \
      "$add, $append, ... that were applied get applied twice); --restart sends everything again") \
    X(29, SAME_PROJECT, "these files are an export of the project they would be loaded into",      \
      "load them with the destination project's API key; --allow-same-project loads them back "    \
      "into their own project on purpose")                                                         \
    X(30, UNSAFE_PATH, "not a regular file where ampload keeps one of its own",                    \
      "remove it (ampload never follows a symbolic link), or use another directory")               \
    X(31, INPUT_SHAPE, "not NDJSON",                                                               \
      "ampload reads NDJSON, one JSON object per line; convert the input as shown (nothing of "    \
      "it was sent), then run the command again with the converted file")                          \
    X(32, ALL_REJECTED, "every line of this input was rejected",                                   \
      "is it NDJSON, one event (or identification) per line? see the reason and the reject file; " \
      "fix or convert it, then load that file alone (its own --state): the same command on a "     \
      "changed input needs --restart, which sends the other inputs again")                         \
    X(33, OBJECT_ACCESS, "the object store refused the request",                                   \
      "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), "      \
      "the bucket's region (AWS_REGION) and --s3-endpoint; nothing was sent")                      \
    X(34, OBJECT_MISSING, "no such object",                                                        \
      "check the bucket and the key or pattern (aws s3 ls lists them); a pattern that matches "    \
      "nothing is an error, so that a typo does not end as an empty run")

typedef enum {
#define AL_ERR_ENUM(code, name, msg, hint) AL_ERR_##name = code,
    AL_ERR_MAP(AL_ERR_ENUM)
#undef AL_ERR_ENUM
} al_err_t;

/* Details of one failure. Filled by the function that fails; fields it does
 * not know stay zero / empty. The caller owns the struct. */
typedef struct {
    int sys_errno;    /* errno at the failure, 0 if none */
    char path[512];   /* file concerned, "" if none */
    uint64_t offset;  /* byte offset in that file (compressed offset for zstd) */
    int has_offset;   /* 1 when offset is meaningful */
    char detail[256]; /* extra words, e.g. ZSTD_getErrorName() */
} al_diag_t;

/* @return the short message for err ("permission denied"); static storage. */
const char *al_strerror(al_err_t err);

/* @return the hint for err ("make the file readable ..."); static storage, may be "". */
const char *al_errhint(al_err_t err);

/* Clears d, then records path (may be NULL) and errno. */
void al_diag_set(al_diag_t *d, const char *path, int sys_errno);

/* Formats "PATH: message (detail, errno text) at byte N" into buf.
 * @return buf. Never writes more than cap bytes, always NUL-terminates. */
char *al_diag_format(al_err_t err, const al_diag_t *d, char *buf, size_t cap);

/* The first failure of a stage run by several threads. Later ones are
 * dropped: they are most often consequences of the first (a closed queue, a
 * stopped sender), and the user needs the cause.
 * Thread-safety: set and get from any thread; init and destroy on the
 * owner, with no other user. */
typedef struct {
    pthread_mutex_t lock;
    al_err_t err;
    al_diag_t diag;
} al_first_err_t;

void al_first_err_init(al_first_err_t *f);
void al_first_err_destroy(al_first_err_t *f);

/* Records err and its diag (may be NULL) unless a failure is recorded.
 * @return 1 when this call recorded it. */
int al_first_err_set(al_first_err_t *f, al_err_t err, const al_diag_t *diag);

/* @return the recorded failure (AL_ERR_OK if none); its diag goes to *diag
 * when diag is not NULL and there is one. */
al_err_t al_first_err_get(al_first_err_t *f, al_diag_t *diag);

/* Replaces every copy of secret in s (NUL-terminated, buffer of cap bytes)
 * by "[redacted]", whatever the secret's length, and every word (a run of
 * letters, digits, '_' and '-') of 4 bytes or more with which the secret
 * begins or ends - a server echoing "the first characters..." of a wrong
 * key echoes part of it. NULL or "" does nothing.
 * Redact before cutting text short: a cut copy no longer matches. */
void al_redact(char *s, size_t cap, const char *secret);

/* Copies src (len bytes) into dst (cap bytes, always NUL-terminated) with
 * every copy of secret replaced, cutting only after redaction.
 * @return the length written. */
size_t al_redact_copy(char *dst, size_t cap, const char *src, size_t len, const char *secret);

#endif
