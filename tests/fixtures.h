/* fixtures.h - scratch files and compressed inputs for the test suites.
 *
 * Every helper aborts the test (ck_abort) when the machine misbehaves, so
 * test bodies stay about behaviour. Temporary directories live under
 * $TMPDIR (default /tmp) and are removed by fx_rmtree(). */
#ifndef AL_TEST_FIXTURES_H
#define AL_TEST_FIXTURES_H

#include <check.h>
#include <stddef.h>

/* Creates a fresh directory; returns its path (static storage per call site
 * is not used: the caller frees the returned string). */
char *fx_tempdir(void);

/* Removes dir and everything below it. */
void fx_rmtree(const char *dir);

/* Joins dir and name into a new string the caller frees. */
char *fx_path(const char *dir, const char *name);

/* Writes n bytes to path (created or truncated). */
void fx_write(const char *path, const void *data, size_t n);

/* Reads a whole file; *n gets its size. The caller frees the result.
 * @return NULL when the file does not exist. */
char *fx_read(const char *path, size_t *n);

/* Compresses data into zstd frames of at most frame_bytes input each and
 * writes them to path one after another (a multi-frame file). */
void fx_write_zstd(const char *path, const void *data, size_t n, size_t frame_bytes);

/* Calls fn for each line of path (line ending removed; nothing if missing). */
void fx_each_line(const char *path, void (*fn)(void *ctx, const char *line, size_t len), void *ctx);

/* Writes data as gzip members (zlib, level 6) of at most member_bytes of
 * input each, concatenated as `cat a.gz b.gz` would; with headers set, each
 * member carries an extra field, a file name and a comment. */
void fx_write_gzip(const char *path, const void *data, size_t n, size_t member_bytes, int headers);

/* One member of a zip archive for fx_write_zip. A name ending in '/' is a
 * directory entry (data ignored). */
typedef struct {
    const char *name;
    const void *data;
    size_t len;
    int deflate; /* deflated by libzip (zlib); 0: stored */
    int gzip;    /* the member holds the data gzipped (one gzip member per 64 KiB) */
} fx_member_t;

/* Writes a zip archive with libzip, members in the order given. */
void fx_write_zip(const char *path, const fx_member_t *m, size_t n);

/* Writes a zip64 archive by hand (zip64 extra fields in the local and
 * central headers, the zip64 end record and its locator) holding one
 * stored member. */
void fx_write_zip64(const char *path, const char *name, const void *data, size_t len);

/* Writes text as a zip in Amplitude's export layout: cut at line ends
 * into `parts` (<= 16) members "p/p_2026-01-01_0#K.json.gz" with K = 0, 5,
 * 10, ... (so name order and natural order differ), each gzipped, stored
 * and deflated in turn, written in reverse order, with a directory entry
 * and a __MACOSX/ entry beside them. names[k] (caller frees) gets
 * "path:member" of part k, base[k] the number of lines before it. */
void fx_write_export_zip(const char *path, const char *text, size_t n, int parts, char **names,
                         uint64_t *base);

/* Runs argv (argv[0] a path), output to out_path (NULL: inherit), stderr
 * to err_path (NULL: inherit). @return its exit status, or -1 on a signal. */
int fx_run(char *const argv[], const char *out_path, const char *err_path);

/* Generates n events with the gen-events tool named by $AMPLOAD_GEN.
 * extra is appended to the command line (may be NULL). */
void fx_generate(const char *path, unsigned long n, unsigned long seed, const char *extra);

/* Starts ampload-mock ($AMPLOAD_MOCK) on a free loopback port with the extra
 * arguments (NULL-terminated list). @return its pid; *port gets the port. */
int fx_mock_start(const char *const *args, int *port);

/* Stops the mock (SIGTERM) and waits for it. */
void fx_mock_stop(int pid);

/* GET http://127.0.0.1:port/stats. @return the parsed JSON (caller decrefs). */
struct json_t *fx_mock_stats(int port);

/* Runs a Check suite and returns the process exit code. */
int fx_run_suite(Suite *s);

#endif
