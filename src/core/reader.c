/* reader.c - input files to newline-aligned chunks.
 *
 * Two paths share one contract (reader.h):
 *
 *  - mmap path, for plain regular files. Each chunk is its own read-only
 *    mapping of about chunk_bytes, cut back to the last newline; the next
 *    chunk maps again from the start of the line that was cut. Pages are
 *    populated up front (MAP_POPULATE: one fault per window instead of one per
 *    page), the kernel is told the access is sequential, and unmapping on
 *    release gives the memory back, so resident size does not grow with the
 *    file. No byte is copied.
 *
 *  - stream path, for compressed input (by magic number), zip members and
 *    anything that is not a regular file (pipes, '-'). A source (src_read:
 *    the file descriptor, or a zip member that zipfile.c inflates) feeds a
 *    format decoder (the decoders table: plain, zstd, gzip), which fills a
 *    fresh buffer; the bytes after the last newline are carried into the
 *    next buffer. ZSTD_decompressStream moves from frame to frame by itself,
 *    so multi-frame files and skippable frames need nothing special; gzip
 *    members follow one another the same way; input that ends inside a
 *    frame or member is reported as truncated.
 *
 * A line longer than a chunk cannot be held whole. It is returned as a chunk
 * with long_line set (its first chunk_bytes bytes) and the rest is skipped up
 * to the next newline, so the line is still counted and reported.
 *
 * Line numbers are counted here, in the one thread that sees the input in
 * order, with a vectorised newline count.
 *
 * A mapped file that shrinks while it is read (log rotation by
 * copytruncate) turns every touch of a lost page into SIGBUS. Code that
 * reads mapped chunks runs under al_map_guarded(): a process-wide SIGBUS
 * handler jumps back to the guard of the faulting thread, and the reader or
 * parser reports AL_ERR_INPUT_CHANGED instead of the process dying without
 * a word. A SIGBUS outside any guard is not ours and still ends the process.
 */
#include "reader.h"

#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SNIFF_BYTES  6
#define BINARY_SNIFF 4096

/* ---- SIGBUS guard ------------------------------------------------------ */

static _Thread_local sigjmp_buf *guard_env;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (guard_env != NULL)
        siglongjmp(*guard_env, 1);
    signal(sig, SIG_DFL); /* not ours: the access faults again, as without us */
}

static void guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int al_map_guarded(void (*fn)(void *ctx), void *ctx)
{
    sigjmp_buf env, *prev = guard_env;
    pthread_once(&guard_once, guard_install);
    if (sigsetjmp(env, 1) != 0) {
        guard_env = prev;
        return 1;
    }
    guard_env = &env;
    fn(ctx);
    guard_env = prev;
    return 0;
}

struct al_reader {
    int fd;
    int own_fd;
    char path[512];
    uint32_t file_id;
    al_format_t format;
    int use_mmap;
    uint64_t file_size; /* regular files only */
    size_t chunk_bytes;
    size_t page;
    uint64_t pos;         /* offset of the next byte to hand out (decompressed for zstd) */
    uint64_t line;        /* number of the next line */
    al_chunk_t *building; /* the chunk al_reader_next is making, for the guard */
    int started;          /* first chunk already returned */
    int eof;
    al_err_t err; /* sticky: once set, every call returns it */
    al_diag_t err_diag;
    al_err_t pending; /* found while filling; returned after the lines before it */
    al_diag_t pending_diag;
    /* stream path */
    ZSTD_DCtx *dctx;
    al_zip_member_t *member; /* the source is this zip member, not fd */
    al_s3_object_t *object;  /* the source is this object, not fd */
    const struct decoder *dec;
    struct inflate_state *gz; /* gzip input: ISA-L's streaming inflate */
    int gz_in_member;         /* a gzip member has begun and not ended */
    unsigned char *in;
    size_t in_cap, in_pos, in_len;
    uint64_t in_base;  /* compressed offset of in[0] */
    uint64_t src_prev; /* source (on-disk) offset reached by the last chunk */
    int in_eof;
    size_t zstd_hint; /* last ZSTD_decompressStream result; 0 = between frames */
    char *carry;
    size_t carry_len;
    uint64_t skip_to; /* stream path: discard output below this offset */
};

static uint64_t count_newlines(const char *p, size_t n)
{
    uint64_t count = 0;
    size_t i = 0;
#if defined(__SSE2__)
    /* Per-byte counters (0 - compare mask), folded with SAD before they wrap. */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i acc = zero, sums;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
        }
        sums = _mm_sad_epu8(acc, zero);
        count += (uint64_t)_mm_cvtsi128_si64(sums) +
                 (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
    }
#endif
    for (; i < n; i++)
        count += (p[i] == '\n');
    return count;
}

static al_err_t errno_to_err(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return AL_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
        return AL_ERR_ACCESS;
    case EISDIR:
        return AL_ERR_IS_DIR;
    case ENOMEM:
        return AL_ERR_NOMEM;
    default:
        return AL_ERR_IO;
    }
}

static al_err_t fail(al_reader_t *r, al_err_t err, int sys_errno, al_diag_t *diag)
{
    al_diag_set(diag, r->path, sys_errno);
    return err;
}

/* Describes the formats we recognise but do not read here, or NULL. */
static const char *foreign_format(const unsigned char *m, size_t n)
{
    if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
        return "bzip2-compressed";
    if (n >= 6 && memcmp(m,
                         "\xFD"
                         "7zXZ\0",
                         6) == 0)
        return "xz-compressed";
    if (al_zip_sniff(m, n))
        return "a zip archive, which is read from its path (its directory is at its end), not "
               "from a stream nor from inside another archive";
    if (n >= 4 && memcmp(m, "\x04\x22\x4D\x18", 4) == 0)
        return "lz4-compressed";
    return NULL;
}

static int is_gzip(const unsigned char *m, size_t n)
{
    return n >= 2 && m[0] == 0x1F && m[1] == 0x8B;
}

static int is_zstd(const unsigned char *m, size_t n)
{
    uint32_t magic;
    if (n < 4)
        return 0;
    magic = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    return magic == ZSTD_MAGICNUMBER ||
           (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

int al_input_is_stream(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return 1;
    if (al_s3_is_url(path))
        return 0; /* an object can be read again, from any byte */
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* Opens path (or takes standard input) and reads its first bytes into
 * magic: with pread for a regular file, which is then mapped; from the
 * stream itself otherwise, keeping those bytes as the first input.
 * @return AL_ERR_OK or the error (diag filled). */
static ssize_t src_read(al_reader_t *r, void *dst, size_t cap);
static al_err_t choose_decoder(al_reader_t *r, const unsigned char *magic, size_t nmagic);
static al_err_t apply_range(al_reader_t *r, const al_reader_opts_t *o, al_diag_t *diag);
static size_t stream_fill(al_reader_t *r, char *dst, size_t cap);

/* Opens a zip member as the source. */
static al_err_t open_member(al_reader_t *r, const al_reader_opts_t *opts, al_diag_t *diag)
{
    al_zip_entry_t e;
    al_err_t err = al_zip_entry(opts->zip, opts->member, &e, diag);
    if (err == AL_ERR_OK)
        err = al_zip_member_open(&r->member, opts->zip, opts->member, r->path, diag);
    if (err == AL_ERR_OK)
        r->file_size = e.comp_size;
    return err;
}

static al_err_t open_and_sniff(al_reader_t *r, const char *path, const al_reader_opts_t *opts,
                               unsigned char magic[SNIFF_BYTES], size_t *nmagic, al_diag_t *diag)
{
    struct stat st;

    if (opts != NULL && opts->zip != NULL) {
        al_err_t err = open_member(r, opts, diag);
        if (err != AL_ERR_OK)
            return err;
    } else if (al_s3_is_url(path)) {
        al_err_t err = AL_ERR_INVALID_ARG;
        if (opts == NULL || opts->s3 == NULL) {
            al_diag_set(diag, path, 0);
            snprintf(diag->detail, sizeof(diag->detail), "objects are not read here");
        } else {
            err = al_s3_open(opts->s3, path, opts->etag, 0, &r->object, diag);
        }
        if (err != AL_ERR_OK)
            return err;
    } else if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer (a run
         * would hang there, deaf to SIGTERM); reads block again below */
        r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (r->fd < 0) {
            int e = errno;
            return fail(r, errno_to_err(e), e, diag);
        }
        r->own_fd = 1;
        (void)fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
    }
    if (r->member == NULL && r->object == NULL && fstat(r->fd, &st) != 0) {
        int e = errno;
        return fail(r, AL_ERR_IO, e, diag);
    }
    if (r->member != NULL || r->object != NULL) {
        /* streamed from the archive, or from the bucket */
    } else if (S_ISDIR(st.st_mode))
        return fail(r, AL_ERR_IS_DIR, 0, diag);
    else if (S_ISREG(st.st_mode)) {
        ssize_t k;
        r->file_size = (uint64_t)st.st_size;
        k = pread(r->fd, magic, SNIFF_BYTES, 0);
        if (k < 0) {
            int e = errno;
            return fail(r, errno_to_err(e), e, diag);
        }
        *nmagic = (size_t)k;
        r->use_mmap = !is_zstd(magic, *nmagic) && !is_gzip(magic, *nmagic);
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (!r->use_mmap) {
        r->in_cap = ZSTD_DStreamInSize();
        r->in = malloc(r->in_cap);
        if (r->in == NULL)
            return AL_ERR_NOMEM;
        /* Sniff from the source itself and keep those bytes as input. */
        while (r->in_len < SNIFF_BYTES && !r->in_eof) {
            ssize_t k = src_read(r, r->in + r->in_len, SNIFF_BYTES - r->in_len);
            if (k < 0) {
                *diag = r->pending_diag;
                return r->pending == AL_ERR_IO ? errno_to_err(r->pending_diag.sys_errno)
                                               : r->pending;
            }
            r->in_len += (size_t)k;
            r->in_eof = (k == 0);
        }
        memcpy(magic, r->in, r->in_len);
        *nmagic = r->in_len;
    }
    return AL_ERR_OK;
}

/* ---- input shapes ------------------------------------------------------- */

/* Some inputs are JSON or text but not NDJSON: a JSON array, pretty-printed
 * objects spanning lines, CSV or TSV. Read line by line they would load in
 * part (the last element of a pretty-printed array has no comma and passes)
 * or not at all, and say nothing about why. Their head tells them apart
 * from NDJSON: a look at the first SHAPE_PEEK bytes of the decompressed
 * input, taken when it is opened, refuses them before any line is read. */
#define SHAPE_PEEK 16384

typedef enum { SHAPE_NDJSON = 0, SHAPE_ARRAY, SHAPE_PRETTY, SHAPE_CSV, SHAPE_TSV } shape_t;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first line of p[0..n) (its start at '{') is a JSON value that goes on
 * past it: "{" alone, or a line that is not a whole value but the start of
 * one, which the text after it continues at least to the end of the second
 * line. A broken first line of NDJSON stops there (the second line starts a
 * new object where the first one wanted a comma). What is not in view (no
 * second line, or no end of the first) is no evidence: NDJSON. */
static int spans_lines(const char *p, size_t n)
{
    const char *nl1 = memchr(p, '\n', n), *nl2;
    size_t e1, l1, k, e2, reached;
    al_jscan_t sc;

    if (nl1 == NULL)
        return 0;
    e1 = (size_t)(nl1 - p);
    for (k = e1 + 1; k < n && is_ws(p[k]); k++)
        ;
    if (k == n)
        return 0; /* nothing after the first line */
    for (l1 = e1; l1 > 0 && is_ws(p[l1 - 1]); l1--)
        ;
    if (l1 == 1)
        return 1; /* "{" alone */
    if (al_json_scan(p, l1, &sc) || sc.err_pos < l1)
        return 0; /* a whole value, or a syntax error: a line of its own */
    nl2 = memchr(p + e1 + 1, '\n', n - e1 - 1);
    e2 = nl2 != NULL ? (size_t)(nl2 - p) : n;
    reached = al_json_scan(p, n, &sc) ? n : sc.err_pos;
    return reached >= e2;
}

/* @return the delimiter of a header row of names (a tab, a comma, a
 * semicolon, a '|'), or 0 when line[0..n) is not one. Names are 1 to 128
 * bytes of letters, digits, non-ASCII text and " _-.$:/()#[]@", optionally
 * in double quotes, each with a letter or '_' or '$' in it (so a row of
 * numbers is not a header); there are at least two. */
static char header_delimiter(const char *line, size_t n)
{
    static const char delims[] = "\t,;|";
    for (const char *d = delims; *d != '\0'; d++) {
        size_t fields = 0, i = 0;
        int ok = memchr(line, *d, n) != NULL;
        while (ok && i <= n) {
            size_t start = i, end, len;
            int named = 0;
            while (i < n && line[i] != *d)
                i++;
            end = i++;
            while (start < end && line[start] == ' ')
                start++;
            while (end > start && line[end - 1] == ' ')
                end--;
            if (end - start >= 2 && line[start] == '"' && line[end - 1] == '"')
                start++, end--;
            len = end - start;
            ok = len >= 1 && len <= 128;
            for (size_t k = start; ok && k < end; k++) {
                unsigned char c = (unsigned char)line[k];
                int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                            c == '$' || c >= 0x80;
                named |= alpha;
                ok = alpha || (c >= '0' && c <= '9') || strchr(" -.:/()#[]@", c) != NULL;
            }
            ok = ok && named;
            fields++;
        }
        if (ok && fields >= 2)
            return *d;
    }
    return 0;
}

/* @return the number of fields of line[0..n): delimiters outside double
 * quotes, plus one. */
static size_t count_fields(const char *line, size_t n, char delim)
{
    size_t count = 1;
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (line[i] == delim && !quoted)
            count++;
    }
    return count;
}

/* CSV or TSV: a header row, and a second line (when in view) with as many
 * fields, so a line of prose with a comma in it is not taken for one. */
static shape_t delimited(const char *p, size_t n, char *delim)
{
    const char *nl = memchr(p, '\n', n);
    size_t l1 = nl != NULL ? (size_t)(nl - p) : n, l2;
    char d;
    if (l1 > 0 && p[l1 - 1] == '\r')
        l1--;
    d = header_delimiter(p, l1);
    if (d == 0)
        return SHAPE_NDJSON;
    if (nl != NULL) {
        const char *q = nl + 1, *nl2 = memchr(q, '\n', n - (size_t)(q - p));
        if (nl2 != NULL) {
            l2 = (size_t)(nl2 - q);
            if (l2 > 0 && q[l2 - 1] == '\r')
                l2--;
            if (l2 > 0 && count_fields(q, l2, d) != count_fields(p, l1, d))
                return SHAPE_NDJSON;
        }
    }
    *delim = d;
    return d == '\t' ? SHAPE_TSV : SHAPE_CSV;
}

/* Looks at the head h[0..n) of an input (the whole input when shorter than
 * the peek). @return its shape; *at is the offset where it shows, *delim
 * the delimiter of CSV and TSV. */
static shape_t detect_shape(const char *h, size_t n, uint64_t *at, char *delim)
{
    size_t s = (n >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0, line = s;
    *at = 0;
    *delim = 0;
    if (memchr(h, '\0', n) != NULL)
        return SHAPE_NDJSON; /* binary: the first chunk's check says so */
    while (s < n && is_ws(h[s]))
        if (h[s++] == '\n')
            line = s;
    *at = s;
    if (s == n)
        return SHAPE_NDJSON;
    if (h[s] == '[')
        return SHAPE_ARRAY;
    if (h[s] == '{')
        return spans_lines(h + s, n - s) ? SHAPE_PRETTY : SHAPE_NDJSON;
    *at = line;
    return delimited(h + line, n - line, delim);
}

/* snprintf at buf + *n, counting what would be written when it does not
 * fit (so the caller can tell). */
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int w;
    va_start(ap, fmt);
    w = *n < cap ? vsnprintf(buf + *n, cap - *n, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *n += w > 0 ? (size_t)w : 0;
}

/* Appends s to buf (at *n, cap bytes) quoted for a POSIX shell when it
 * needs it. */
static void put_shell_word(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    int plain = len > 0;
    for (size_t i = 0; i < len && plain; i++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-+:,@%=",
                       s[i]) != NULL &&
                s[i] != '\0';
    if (plain) {
        append(buf, cap, n, "%.*s", (int)len, s);
        return;
    }
    append(buf, cap, n, "'");
    for (size_t i = 0; i < len; i++)
        append(buf, cap, n, s[i] == '\'' ? "'\\''" : "%c", s[i]);
    append(buf, cap, n, "'");
}

/* The name for the converted file: the input's own, without a compression
 * suffix and a .json/.csv/.tsv/.txt one, ending in .ndjson. */
static void put_output_name(char *buf, size_t cap, size_t *n, const char *name, size_t len)
{
    static const char *const strip[] = {".gz", ".zst", ".zstd", ".json", ".csv", ".tsv", ".txt"};
    char out[600];
    for (size_t i = 0; i < sizeof(strip) / sizeof(strip[0]); i++) {
        size_t k = strlen(strip[i]);
        if (len > k && memcmp(name + len - k, strip[i], k) == 0 && name[len - k - 1] != '/')
            len -= k;
    }
    snprintf(out, sizeof(out), "%.*s.ndjson", (int)(len < 500 ? len : 500), name);
    put_shell_word(buf, cap, n, out, strlen(out));
}

/* Writes into detail what the input is and the command that converts it.
 * archive is the zip's path for a member (whose name is member), else NULL;
 * path is "-" for standard input. The paths are written as FILE when the
 * command would not fit. */
static void describe_shape(char *detail, size_t cap, shape_t shape, char delim, al_format_t format,
                           const char *path, const char *member, int placeholders)
{
    static const char *const what[] = {
        "", "it is a JSON array, not one JSON object per line",
        "it is pretty-printed JSON, spread over lines, not one JSON object per line",
        "it looks like CSV, a header row of names separated by '%c'; ampload does not read CSV yet",
        "it looks like TSV, a header row of tab-separated names; ampload does not read TSV yet"};
    static const char *const tools[] = {"", "jq -c '.[]'", "jq -c .", "mlr --icsv --ojsonl",
                                        "mlr --itsv --ojsonl"};
    char tool[64];
    const char *decomp = format == AL_FORMAT_GZIP ? "gzip -dc" : "zstd -dc";
    const char *file = placeholders ? "FILE" : path;
    const char *out_of = member != NULL ? member : file;
    const char *slash = member != NULL ? strrchr(member, '/') : NULL;
    const char *inner = placeholders ? "MEMBER" : member;
    size_t n = 0;

    if (delim == ';' || delim == '|')
        snprintf(tool, sizeof(tool), "%s --ifs '%c' cat", tools[shape], delim);
    else
        snprintf(tool, sizeof(tool), "%s%s", tools[shape], delim != 0 ? " cat" : "");
    append(detail, cap, &n, what[shape], delim);
    append(detail, cap, &n, "; convert with: ");
    if (slash != NULL)
        out_of = slash + 1;
    if (strcmp(path, "-") == 0) {
        append(detail, cap, &n, "... | %s%s%s | ampload -", format != AL_FORMAT_PLAIN ? decomp : "",
               format != AL_FORMAT_PLAIN ? " | " : "", tool);
    } else {
        if (member != NULL) {
            append(detail, cap, &n, "unzip -p ");
            put_shell_word(detail, cap, &n, file, strlen(file));
            append(detail, cap, &n, " ");
            put_shell_word(detail, cap, &n, inner, strlen(inner));
            append(detail, cap, &n, " | ");
        }
        if (format != AL_FORMAT_PLAIN) {
            append(detail, cap, &n, "%s ", decomp);
            if (member == NULL) {
                put_shell_word(detail, cap, &n, file, strlen(file));
                append(detail, cap, &n, " ");
            }
            append(detail, cap, &n, "| ");
        }
        append(detail, cap, &n, "%s ", tool);
        if (member == NULL && format == AL_FORMAT_PLAIN) {
            put_shell_word(detail, cap, &n, file, strlen(file));
            append(detail, cap, &n, " ");
        }
        append(detail, cap, &n, "> ");
        put_output_name(detail, cap, &n, out_of, strlen(out_of));
    }
    if (shape == SHAPE_CSV || shape == SHAPE_TSV)
        append(detail, cap, &n, "; time must then be a number of milliseconds");
    if (n >= cap && !placeholders)
        describe_shape(detail, cap, shape, delim, format, path, member, 1);
}

/* The input's first bytes, decompressed, without consuming them: read
 * again from the start of a mapped file; for a stream, decoded into the
 * carry, which the first chunk takes first. @return the bytes in *head
 * (the caller frees *tofree), or 0. */
static size_t peek_head(al_reader_t *r, const char **head, char **tofree)
{
    size_t cap = r->chunk_bytes < SHAPE_PEEK ? r->chunk_bytes : SHAPE_PEEK;
    ssize_t k;
    *head = NULL;
    *tofree = NULL;
    if (!r->use_mmap) {
        r->carry = malloc(r->chunk_bytes);
        if (r->carry == NULL)
            return 0;
        r->carry_len = stream_fill(r, r->carry, cap);
        *head = r->carry;
        return r->carry_len;
    }
    *tofree = malloc(cap);
    if (*tofree == NULL)
        return 0;
    k = pread(r->fd, *tofree, cap, 0);
    *head = *tofree;
    return k > 0 ? (size_t)k : 0;
}

/* Refuses an input whose head shows it is not NDJSON (SHAPE_* above).
 * path and opts are al_reader_open()'s. @return AL_ERR_OK, INPUT_SHAPE or
 * NOMEM. */
static al_err_t check_shape(al_reader_t *r, const char *path, const al_reader_opts_t *opts,
                            al_diag_t *diag)
{
    const char *head, *member = NULL;
    char *tofree, delim;
    uint64_t at;
    size_t n = peek_head(r, &head, &tofree);
    shape_t shape;

    if (head == NULL)
        return AL_ERR_NOMEM;
    shape = detect_shape(head, n, &at, &delim);
    free(tofree);
    if (shape == SHAPE_NDJSON)
        return AL_ERR_OK;
    if (opts != NULL && opts->zip != NULL && opts->name != NULL &&
        strncmp(opts->name, path, strlen(path)) == 0 && opts->name[strlen(path)] == ':')
        member = opts->name + strlen(path) + 1;
    al_diag_set(diag, r->path, 0);
    diag->offset = at;
    diag->has_offset = 1;
    describe_shape(diag->detail, sizeof(diag->detail), shape, delim, r->format, path, member, 0);
    return AL_ERR_INPUT_SHAPE;
}

al_err_t al_reader_open(al_reader_t **out, const char *path, uint32_t file_id,
                        const al_reader_opts_t *opts, al_diag_t *diag)
{
    al_reader_t *r;
    unsigned char magic[SNIFF_BYTES];
    size_t nmagic = 0;
    const char *foreign;
    al_err_t err = AL_ERR_OK;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return AL_ERR_NOMEM;
    snprintf(r->path, sizeof(r->path), "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
    r->file_id = file_id;
    r->chunk_bytes =
        (opts != NULL && opts->chunk_bytes >= 4096) ? opts->chunk_bytes : AL_DEFAULT_CHUNK_BYTES;
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    r->line = 1;
    if (opts != NULL && opts->start_offset > 0) {
        /* resuming: the first-chunk checks (BOM, binary) were done before */
        r->pos = r->skip_to = r->src_prev = opts->start_offset;
        r->line = opts->start_line > 0 ? opts->start_line : 1;
        r->started = 1;
    }
    r->zstd_hint = 1;
    r->fd = -1;
    if (opts != NULL && opts->name != NULL)
        snprintf(r->path, sizeof(r->path), "%s", opts->name);

    err = open_and_sniff(r, path, opts, magic, &nmagic, diag);
    if (err != AL_ERR_OK)
        goto out;
    foreign = foreign_format(magic, nmagic);
    if (foreign != NULL) {
        err = fail(r, AL_ERR_UNSUPPORTED_FORMAT, 0, diag);
        snprintf(diag->detail, sizeof(diag->detail), "%s", foreign);
        goto out;
    }
    err = choose_decoder(r, magic, nmagic);
    if (err == AL_ERR_OK && !r->started)
        err = check_shape(r, path, opts, diag); /* a resumed input passed it before */
    if (err == AL_ERR_OK && opts != NULL && (opts->range_start > 0 || opts->range_end > 0))
        err = apply_range(r, opts, diag);
out:
    if (err != AL_ERR_OK) {
        al_reader_close(r);
        return err;
    }
    *out = r;
    return AL_ERR_OK;
}

al_format_t al_reader_format(const al_reader_t *r)
{
    return r->format;
}

uint64_t al_reader_file_size(const al_reader_t *r)
{
    return r->file_size;
}

uint64_t al_reader_next_line(const al_reader_t *r)
{
    return r->line;
}

uint64_t al_reader_bytes_read(const al_reader_t *r)
{
    return r->pos;
}

void al_reader_close(al_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    al_zip_member_close(r->member);
    al_s3_close(r->object);
    ZSTD_freeDCtx(r->dctx);
    free(r->gz);
    free(r->in);
    free(r->carry);
    free(r);
}

void al_chunk_release(al_chunk_t *c)
{
    if (c == NULL)
        return;
    if (c->map != NULL)
        munmap(c->map, c->map_len);
    free(c->buf);
    free(c);
}

/* ---- mmap path ---------------------------------------------------------- */

/* Maps [start, end) of the file. @return the mapping base, data at *data. */
static void *map_window(al_reader_t *r, uint64_t start, uint64_t end, int populate,
                        const char **data, size_t *map_len)
{
    uint64_t aligned = start & ~(uint64_t)(r->page - 1);
    void *m;

    *map_len = (size_t)(end - aligned);
    m = mmap(NULL, *map_len, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), r->fd,
             (off_t)aligned);
    if (m == MAP_FAILED)
        return NULL;
    (void)madvise(m, *map_len, MADV_SEQUENTIAL);
    *data = (const char *)m + (start - aligned);
    return m;
}

static al_err_t find_line_end(al_reader_t *r, uint64_t from, uint64_t *nl);

/* Narrows a plain file to the lines starting in [range_start, range_end):
 * the start moves to the first line that begins at or after range_start
 * (the byte before it is a newline), the end to the end of the line that
 * holds byte range_end - 1. */
static al_err_t apply_range(al_reader_t *r, const al_reader_opts_t *o, al_diag_t *diag)
{
    uint64_t start = o->range_start, limit = r->file_size, nl;
    char before;

    if (!r->use_mmap || r->member != NULL) {
        al_diag_set(diag, r->path, 0);
        snprintf(diag->detail, sizeof(diag->detail), "a byte range of a compressed input");
        return AL_ERR_INVALID_ARG;
    }
    if (start > r->file_size)
        start = r->file_size;
    if (start > 0 && start < r->file_size) {
        if (pread(r->fd, &before, 1, (off_t)(start - 1)) != 1)
            return fail(r, AL_ERR_IO, errno, diag);
        if (before != '\n') {
            if (find_line_end(r, start, &nl) != AL_ERR_OK)
                return fail(r, AL_ERR_IO, errno, diag);
            start = nl < r->file_size ? nl + 1 : r->file_size;
        }
    }
    if (o->range_end != AL_RANGE_END && o->range_end < r->file_size) {
        if (o->range_end == 0 || o->range_end <= start) {
            limit = start;
        } else {
            if (find_line_end(r, o->range_end - 1, &nl) != AL_ERR_OK)
                return fail(r, AL_ERR_IO, errno, diag);
            limit = nl < r->file_size ? nl + 1 : r->file_size;
        }
    }
    r->file_size = limit; /* nothing past the range is mapped or handed out */
    if (o->start_offset == 0 && o->range_start > 0) {
        r->pos = r->skip_to = r->src_prev = start;
        r->line = 1;
        r->started = 1; /* the first-chunk checks belong to the input's start */
    }
    return AL_ERR_OK;
}

/* Finds the newline ending the line that starts before `from`.
 * @return its offset, or the file size when the line runs to the end. */
static al_err_t find_line_end(al_reader_t *r, uint64_t from, uint64_t *nl)
{
    while (from < r->file_size) {
        uint64_t end = from + r->chunk_bytes < r->file_size ? from + r->chunk_bytes : r->file_size;
        const char *data;
        size_t map_len;
        void *m = map_window(r, from, end, 0, &data, &map_len);
        const char *hit;
        if (m == NULL)
            return AL_ERR_IO;
        hit = memchr(data, '\n', (size_t)(end - from));
        munmap(m, map_len);
        if (hit != NULL) {
            *nl = from + (uint64_t)(hit - data);
            return AL_ERR_OK;
        }
        from = end;
    }
    *nl = r->file_size;
    return AL_ERR_OK;
}

static al_err_t next_mapped(al_reader_t *r, al_chunk_t *c, al_diag_t *diag)
{
    uint64_t start = r->pos;
    uint64_t end = start + r->chunk_bytes < r->file_size ? start + r->chunk_bytes : r->file_size;
    const char *data;

    c->map = map_window(r, start, end, 1, &data, &c->map_len);
    if (c->map == NULL) {
        int e = errno;
        al_diag_set(diag, r->path, e);
        diag->offset = start;
        diag->has_offset = 1;
        return errno_to_err(e);
    }
    c->data = data;
    c->len = (size_t)(end - start);
    if (end < r->file_size) {
        const char *nl = memrchr(data, '\n', c->len);
        if (nl != NULL) {
            c->len = (size_t)(nl - data) + 1;
        } else {
            uint64_t line_end;
            al_err_t err = find_line_end(r, end, &line_end);
            if (err != AL_ERR_OK) {
                int e = errno;
                al_diag_set(diag, r->path, e);
                diag->offset = end;
                diag->has_offset = 1;
                return err;
            }
            c->long_line = line_end - start;
            r->pos = line_end < r->file_size ? line_end + 1 : line_end;
            c->lines = 1;
            return AL_ERR_OK;
        }
    }
    r->pos = start + c->len;
    return AL_ERR_OK;
}

/* ---- stream path -------------------------------------------------------- */

static void stream_error(al_reader_t *r, al_err_t err, int sys_errno, uint64_t offset,
                         const char *detail)
{
    r->pending = err;
    al_diag_set(&r->pending_diag, r->path, sys_errno);
    r->pending_diag.offset = offset;
    r->pending_diag.has_offset = 1;
    if (detail != NULL && r->member != NULL)
        /* the offset counts the member's decompressed bytes, not the archive's */
        snprintf(r->pending_diag.detail, sizeof(r->pending_diag.detail),
                 "%s file inside the member: %s", al_format_name(r->format), detail);
    else if (detail != NULL)
        snprintf(r->pending_diag.detail, sizeof(r->pending_diag.detail), "%s", detail);
}

/* Reads up to cap bytes of the source: the object in its bucket, the zip
 * member's decompressed bytes, or the file descriptor. @return bytes, 0 at
 * its end, -1 after an error (recorded as pending). */
static ssize_t src_read(al_reader_t *r, void *dst, size_t cap)
{
    if (r->object != NULL) {
        al_err_t err;
        al_diag_t d;
        ssize_t k = al_s3_read(r->object, dst, cap, &err, &d);
        if (k < 0) {
            r->pending = err;
            r->pending_diag = d;
        }
        r->file_size = al_s3_size(r->object);
        return k;
    }
    if (r->member != NULL) {
        al_err_t err;
        al_diag_t d;
        ssize_t k = al_zip_member_read(r->member, dst, cap, &err, &d);
        if (k < 0) {
            r->pending = err;
            r->pending_diag = d;
        }
        return k;
    }
    for (;;) {
        ssize_t k = read(r->fd, dst, cap);
        if (k >= 0 || errno != EINTR) {
            if (k < 0)
                stream_error(r, AL_ERR_IO, errno, r->in_base + r->in_len, NULL);
            return k;
        }
    }
}

/* Refills `in` once it is used up (compressed formats).
 * @return 1, or 0 after an error. */
static int src_refill(al_reader_t *r)
{
    ssize_t k;
    r->in_base += r->in_len;
    r->in_pos = r->in_len = 0;
    k = src_read(r, r->in, r->in_cap);
    if (k < 0)
        return 0;
    r->in_len = (size_t)k;
    r->in_eof = (k == 0);
    return 1;
}

/* Plain input: what the sniff left in `in` first, then straight into dst.
 * @return 0 at the end of the input or after an error, else 1. */
static int plain_step(al_reader_t *r, char *dst, size_t cap, size_t *n)
{
    size_t take = r->in_len - r->in_pos;
    ssize_t k;
    if (take > 0) {
        if (take > cap - *n)
            take = cap - *n;
        memcpy(dst + *n, r->in + r->in_pos, take);
        r->in_pos += take;
        *n += take;
        return 1;
    }
    if (r->in_eof)
        return 0;
    k = src_read(r, dst + *n, cap - *n);
    if (k <= 0) {
        r->in_eof = (k == 0);
        return 0;
    }
    *n += (size_t)k;
    r->in_base += (uint64_t)k;
    return 1;
}

/* One zstd decoding step into dst[*n..cap). @return 0 at the end of the
 * input or after an error (r->pending), else 1. */
static int zstd_step(al_reader_t *r, char *dst, size_t cap, size_t *n)
{
    ZSTD_inBuffer ib;
    ZSTD_outBuffer ob = {dst, cap, *n};
    size_t ret;
    if (r->in_pos == r->in_len && !r->in_eof)
        return src_refill(r);
    ib = (ZSTD_inBuffer){r->in, r->in_len, r->in_pos};
    if (ib.pos == ib.size && r->in_eof) {
        size_t before = ob.pos;
        if (r->zstd_hint == 0)
            return 0; /* clean end, between frames */
        /* The decoder may still hold output; only a stall is truncation. */
        ret = ZSTD_decompressStream(r->dctx, &ob, &ib);
        *n = ob.pos;
        if (ZSTD_isError(ret)) {
            stream_error(r, AL_ERR_ZSTD_CORRUPT, 0, r->in_base + ib.pos, ZSTD_getErrorName(ret));
            return 0;
        }
        r->zstd_hint = ret;
        if (ret == 0 || ob.pos > before)
            return 1;
        stream_error(r, AL_ERR_ZSTD_TRUNCATED, 0, r->in_base + r->in_pos,
                     "input ends inside a zstd frame");
        return 0;
    }
    ret = ZSTD_decompressStream(r->dctx, &ob, &ib);
    if (ZSTD_isError(ret)) {
        stream_error(r, AL_ERR_ZSTD_CORRUPT, 0, r->in_base + ib.pos, ZSTD_getErrorName(ret));
        return 0;
    }
    r->zstd_hint = ret;
    r->in_pos = ib.pos;
    *n = ob.pos;
    return 1;
}

static const char *isal_error_name(int ret)
{
    switch (ret) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
        return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER:
        return "not a gzip member header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return "CRC or length check failed";
    default:
        return "inflate error";
    }
}

/* The length of the gzip member header at p (RFC 1952): @return its length,
 * 0 when n bytes do not hold all of it yet, -1 when it is not one. */
static long gzip_header_len(const unsigned char *p, size_t n)
{
    size_t i = 10;
    unsigned flg;
    if ((n >= 1 && p[0] != 0x1F) || (n >= 2 && p[1] != 0x8B) || (n >= 3 && p[2] != 8) ||
        (n >= 4 && (p[3] & 0xE0) != 0))
        return -1;
    if (n < 10)
        return 0;
    flg = p[3];
    if (flg & 4) { /* FEXTRA */
        if (n < i + 2)
            return 0;
        i += 2 + ((size_t)p[i] | (size_t)p[i + 1] << 8);
    }
    for (unsigned bit = 8; bit <= 16; bit <<= 1) { /* FNAME, FCOMMENT */
        if (!(flg & bit))
            continue;
        while (i < n && p[i] != 0)
            i++;
        if (i >= n)
            return 0;
        i++;
    }
    if (flg & 2) /* FHCRC */
        i += 2;
    return i <= n ? (long)i : 0;
}

/* Before a member starts: gathers its whole header in `in` (moving what is
 * left to the front and reading more), because ISA-L 2.30 checks a header
 * CRC (FHCRC) wrongly when the header comes in pieces. @return 1 when the
 * header is there, 0 after an error (not a header, or cut short). */
static int gzip_gather_header(al_reader_t *r)
{
    for (;;) {
        size_t avail = r->in_len - r->in_pos;
        long hl = gzip_header_len(r->in + r->in_pos, avail);
        ssize_t k;
        if (hl > 0)
            return 1;
        if (hl < 0) {
            stream_error(r, AL_ERR_GZIP_CORRUPT, 0, r->in_base + r->in_pos,
                         "not a gzip member header: damaged, or other data after the last member");
            return 0;
        }
        if (r->in_eof) {
            stream_error(r, AL_ERR_GZIP_TRUNCATED, 0, r->in_base + r->in_len,
                         "input ends inside a gzip member header");
            return 0;
        }
        if (avail == r->in_cap) {
            stream_error(r, AL_ERR_GZIP_CORRUPT, 0, r->in_base + r->in_pos,
                         "gzip member header longer than the read buffer");
            return 0;
        }
        memmove(r->in, r->in + r->in_pos, avail);
        r->in_base += r->in_pos;
        r->in_pos = 0;
        r->in_len = avail;
        k = src_read(r, r->in + avail, r->in_cap - avail);
        if (k < 0)
            return 0;
        if (k == 0)
            r->in_eof = 1;
        r->in_len += (size_t)k;
    }
}

/* One gzip decoding step into dst[*n..cap). Members follow one another
 * (cat a.gz b.gz): when one ends, the bytes its decoder had buffered past
 * the trailer are given back and the next member starts. @return 0 at the
 * end of the input or after an error (r->pending), else 1. */
static int gzip_step(al_reader_t *r, char *dst, size_t cap, size_t *n)
{
    struct inflate_state *g = r->gz;
    size_t avail = r->in_len - r->in_pos, before = *n;
    int ret;

    if (avail == 0 && !r->in_eof)
        return src_refill(r);
    if (avail == 0 && r->in_eof && !r->gz_in_member)
        return 0; /* clean end, between members */
    if (!r->gz_in_member) {
        if (!gzip_gather_header(r))
            return 0;
        avail = r->in_len - r->in_pos;
        r->gz_in_member = 1;
    }
    g->next_in = r->in + r->in_pos;
    g->avail_in = (uint32_t)avail;
    g->next_out = (uint8_t *)dst + *n;
    g->avail_out = (uint32_t)(cap - *n);
    ret = isal_inflate(g);
    r->in_pos += avail - g->avail_in;
    *n = cap - g->avail_out;
    if (ret < 0) {
        stream_error(r, AL_ERR_GZIP_CORRUPT, 0, r->in_base + r->in_pos, isal_error_name(ret));
        return 0;
    }
    if (g->block_state == ISAL_BLOCK_FINISH) {
        size_t back = (size_t)g->read_in_length / 8;
        r->in_pos -= back <= r->in_pos ? back : 0;
        isal_inflate_reset(g);
        g->crc_flag = ISAL_GZIP;
        r->gz_in_member = 0;
        return 1;
    }
    if (avail == 0 && r->in_eof && *n == before) {
        stream_error(r, AL_ERR_GZIP_TRUNCATED, 0, r->in_base + r->in_pos,
                     "input ends inside a gzip member");
        return 0;
    }
    return 1;
}

static al_err_t zstd_init(al_reader_t *r)
{
    r->dctx = ZSTD_createDCtx();
    return r->dctx != NULL ? AL_ERR_OK : AL_ERR_NOMEM;
}

static al_err_t gzip_init(al_reader_t *r)
{
    r->gz = malloc(sizeof(*r->gz));
    if (r->gz == NULL)
        return AL_ERR_NOMEM;
    isal_inflate_init(r->gz);
    r->gz->crc_flag = ISAL_GZIP; /* parse each member's header, check its CRC */
    return AL_ERR_OK;
}

/* The format decoders, by al_format_t. A decoder recognises its input by
 * magic number and turns the source's bytes into text one step at a time:
 * step appends to dst[*n..cap) and returns 0 at the end of the input or
 * after an error (r->pending), else 1. Its state lives in the reader and
 * is freed by al_reader_close(). */
typedef struct decoder {
    const char *name;
    int (*sniff)(const unsigned char *m, size_t n); /* NULL: anything else */
    al_err_t (*init)(al_reader_t *r);
    int (*step)(al_reader_t *r, char *dst, size_t cap, size_t *n);
} decoder_t;

static const decoder_t decoders[] = {
    [AL_FORMAT_PLAIN] = {"plain", NULL, NULL, plain_step},
    [AL_FORMAT_ZSTD] = {"zstd", is_zstd, zstd_init, zstd_step},
    [AL_FORMAT_GZIP] = {"gzip", is_gzip, gzip_init, gzip_step},
};

const char *al_format_name(al_format_t f)
{
    return (size_t)f < sizeof(decoders) / sizeof(decoders[0]) ? decoders[f].name : "plain";
}

static al_err_t choose_decoder(al_reader_t *r, const unsigned char *magic, size_t nmagic)
{
    r->format = AL_FORMAT_PLAIN;
    r->dec = &decoders[AL_FORMAT_PLAIN];
    if (r->use_mmap)
        return AL_ERR_OK;
    for (size_t f = 0; f < sizeof(decoders) / sizeof(decoders[0]); f++)
        if (decoders[f].sniff != NULL && decoders[f].sniff(magic, nmagic)) {
            r->format = (al_format_t)f;
            r->dec = &decoders[f];
            r->src_prev = 0; /* a resume decompresses from the start */
            return decoders[f].init(r);
        }
    if (r->member != NULL)
        r->src_prev = 0; /* a member is read from its start */
    return AL_ERR_OK;
}

/* Fills dst with up to cap bytes of (decompressed) input. Stops short only at
 * the end of input or on an error, which it records as pending. */
static size_t stream_fill(al_reader_t *r, char *dst, size_t cap)
{
    size_t n = 0;
    while (n < cap && r->pending == AL_ERR_OK && r->dec->step(r, dst, cap, &n))
        ;
    return n;
}

/* Resume on a stream: read and drop everything below skip_to. */
static void skip_stream(al_reader_t *r)
{
    uint64_t at = 0;
    while (at < r->skip_to && r->pending == AL_ERR_OK) {
        uint64_t want = r->skip_to - at;
        size_t n = stream_fill(r, r->carry, want < r->chunk_bytes ? (size_t)want : r->chunk_bytes);
        if (n == 0)
            break;
        at += n;
    }
    r->skip_to = 0;
    if (at < r->pos) /* the input is shorter than the checkpoint says */
        r->eof = 1;
}

static al_err_t next_streamed(al_reader_t *r, al_chunk_t *c, al_diag_t *diag)
{
    size_t n, got;
    char *buf;
    const char *nl;

    if (r->carry == NULL) {
        r->carry = malloc(r->chunk_bytes);
        if (r->carry == NULL)
            return AL_ERR_NOMEM;
    }
    if (r->skip_to > 0) {
        skip_stream(r);
        if (r->eof)
            return AL_ERR_OK;
    }
    buf = malloc(r->chunk_bytes);
    if (buf == NULL)
        return AL_ERR_NOMEM;
    memcpy(buf, r->carry, r->carry_len);
    n = r->carry_len;
    r->carry_len = 0;
    got = stream_fill(r, buf + n, r->chunk_bytes - n);
    n += got;
    c->buf = buf;
    c->data = buf;
    c->len = n;
    if (n < r->chunk_bytes || r->pending != AL_ERR_OK) {
        r->eof = 1;
        if (r->pending != AL_ERR_OK) {
            /* Keep the complete lines; the torn one after them cannot be trusted. */
            nl = memrchr(buf, '\n', n);
            c->len = (nl != NULL) ? (size_t)(nl - buf) + 1 : 0;
            if (n > c->len) {
                size_t m = strlen(r->pending_diag.detail);
                snprintf(r->pending_diag.detail + m, sizeof(r->pending_diag.detail) - m,
                         "%s%zu bytes of an incomplete last line not loaded", m ? "; " : "",
                         n - c->len);
            }
            if (c->len == 0) {
                free(buf);
                c->buf = NULL;
                *diag = r->pending_diag;
                return r->pending;
            }
        }
        r->pos += c->len;
        return AL_ERR_OK;
    }
    nl = memrchr(buf, '\n', n);
    if (nl != NULL) {
        c->len = (size_t)(nl - buf) + 1;
        r->carry_len = n - c->len;
        memcpy(r->carry, buf + c->len, r->carry_len);
        r->pos += c->len;
        return AL_ERR_OK;
    }
    if (!r->started && memchr(buf, '\0', n < BINARY_SNIFF ? n : BINARY_SNIFF) != NULL) {
        /* binary data without a newline (/dev/zero, an image): hand the
         * head over for the binary check rather than skip it for ever */
        c->len = n;
        r->carry_len = 0;
        r->pos += n;
        return AL_ERR_OK;
    }
    /* A line longer than a chunk: keep its head, skip to its end. */
    c->long_line = n;
    c->lines = 1;
    for (;;) {
        size_t k = stream_fill(r, r->carry, r->chunk_bytes);
        nl = memchr(r->carry, '\n', k);
        if (nl != NULL) {
            size_t used = (size_t)(nl - r->carry);
            c->long_line += used;
            r->carry_len = k - used - 1;
            memmove(r->carry, nl + 1, r->carry_len);
            r->pos += c->long_line + 1;
            break;
        }
        c->long_line += k;
        if (k < r->chunk_bytes) {
            r->eof = 1;
            r->pos += c->long_line;
            break;
        }
    }
    return AL_ERR_OK;
}

static al_err_t reader_next(al_reader_t *r, al_chunk_t **out, al_diag_t *diag);

typedef struct {
    al_reader_t *r;
    al_chunk_t **out;
    al_diag_t *diag;
    al_err_t err;
} next_job_t;

static void next_job(void *arg)
{
    next_job_t *j = arg;
    j->err = reader_next(j->r, j->out, j->diag);
}

al_err_t al_reader_next(al_reader_t *r, al_chunk_t **out, al_diag_t *diag)
{
    next_job_t j = {r, out, diag, AL_ERR_OK};
    uint64_t at;
    if (!r->use_mmap)
        return reader_next(r, out, diag);
    if (al_map_guarded(next_job, &j) == 0)
        return j.err;
    /* the file shrank under the mapping */
    at = r->building != NULL ? r->building->offset : r->pos;
    al_chunk_release(r->building);
    r->building = NULL;
    *out = NULL;
    al_diag_set(diag, r->path, 0);
    diag->offset = at;
    diag->has_offset = 1;
    snprintf(diag->detail, sizeof(diag->detail), "it was %llu bytes when the run began",
             (unsigned long long)r->file_size);
    r->err = AL_ERR_INPUT_CHANGED;
    r->err_diag = *diag;
    return r->err;
}

static al_err_t reader_next(al_reader_t *r, al_chunk_t **out, al_diag_t *diag)
{
    al_chunk_t *c;
    al_err_t err;

    *out = NULL;
    if (r->err != AL_ERR_OK) {
        *diag = r->err_diag;
        return r->err;
    }
    if (r->use_mmap ? r->pos >= r->file_size : r->eof && r->carry_len == 0) {
        if (r->pending != AL_ERR_OK) {
            r->err = r->pending;
            r->err_diag = r->pending_diag;
            *diag = r->err_diag;
            return r->err;
        }
        return AL_ERR_OK;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return AL_ERR_NOMEM;
    r->building = c;
    c->file_id = r->file_id;
    c->offset = r->pos;
    err = r->use_mmap ? next_mapped(r, c, diag) : next_streamed(r, c, diag);
    if (err != AL_ERR_OK)
        goto fail;
    c->end = r->pos;
    {
        uint64_t src = r->member != NULL              ? al_zip_member_consumed(r->member)
                       : r->format != AL_FORMAT_PLAIN ? r->in_base + r->in_pos
                                                      : r->pos;
        c->src_bytes = src > r->src_prev ? src - r->src_prev : 0;
        r->src_prev = src > r->src_prev ? src : r->src_prev;
    }
    if (c->len == 0 && c->long_line == 0) {
        r->building = NULL;
        al_chunk_release(c);
        return reader_next(r, out, diag); /* end of input, or the pending error */
    }
    if (!r->started) {
        r->started = 1;
        if (c->len >= 3 && memcmp(c->data, "\xEF\xBB\xBF", 3) == 0) {
            c->data += 3; /* UTF-8 byte order mark: not part of line 1 */
            c->len -= 3;
            c->offset += 3;
            if (c->long_line != 0)
                c->long_line -= 3;
        }
        if (memchr(c->data, '\0', c->len < BINARY_SNIFF ? c->len : BINARY_SNIFF) != NULL) {
            al_diag_set(diag, r->path, 0);
            snprintf(diag->detail, sizeof(diag->detail), "NUL bytes in the first %d bytes",
                     BINARY_SNIFF);
            err = AL_ERR_BINARY_INPUT;
            goto fail;
        }
    }
    if (c->long_line == 0) {
        c->lines = count_newlines(c->data, c->len);
        if (c->len > 0 && c->data[c->len - 1] != '\n')
            c->lines++; /* last line of the input without a newline */
    }
    c->first_line = r->line;
    r->line += c->lines;
    r->building = NULL;
    *out = c;
    return AL_ERR_OK;
fail:
    r->building = NULL;
    al_chunk_release(c);
    r->err = err;
    r->err_diag = *diag;
    return err;
}
