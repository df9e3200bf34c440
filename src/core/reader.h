/* reader.h - turns one input (file or '-') into newline-aligned chunks.
 *
 * A chunk holds whole lines only; it is tagged with its input, the byte
 * offset of its first byte and the number of its first line, so any line can
 * be reported as file:line@offset. Plain regular files are mapped with mmap(2)
 * one window per chunk (MADV_SEQUENTIAL); releasing a chunk unmaps it, so the
 * resident size of a 100 GB input stays at a few chunks. Everything else
 * is streamed into heap buffers through one decoder interface: a source of
 * bytes (a file, a stream, a zip member inflated by zipfile.h, or an object
 * in a bucket read by s3.h) under a
 * format decoder (plain, zstd or gzip, found by magic number, not by name),
 * so a gzip file inside a zip (Amplitude's export layout) is decoded twice
 * with nothing special. Offsets of compressed input count decompressed
 * bytes. A resumed input starts at a given offset and line: mapped files
 * simply map from there; streamed ones are read and discarded up to it,
 * without parsing.
 *
 * Ownership: each chunk owns its mapping or buffer and does not depend on the
 * reader: it may outlive it and be released from any thread.
 *
 * Thread-safety: a reader belongs to one thread (the reader thread). Chunks
 * may be released from any thread.
 */
#ifndef AL_READER_H
#define AL_READER_H

#include "error.h"
#include "s3.h"
#include "zipfile.h"

#include <stddef.h>
#include <stdint.h>

#define AL_DEFAULT_CHUNK_BYTES (8u * 1024u * 1024u)

typedef enum { AL_FORMAT_PLAIN = 0, AL_FORMAT_ZSTD = 1, AL_FORMAT_GZIP = 2 } al_format_t;

/* @return "plain", "zstd" or "gzip"; static storage. */
const char *al_format_name(al_format_t f);

typedef struct al_chunk {
    const char *data; /* whole lines; the last may lack '\n' only at end of input */
    size_t len;
    uint32_t file_id;    /* the caller's number for the input */
    uint64_t offset;     /* byte offset of data[0] in the (decompressed) input */
    uint64_t first_line; /* 1-based number of the line starting at data[0] */
    uint64_t lines;      /* lines in this chunk (blank ones included) */
    /* When nonzero, the chunk holds only the first len bytes of one line of
     * long_line bytes (its ending excluded) that does not fit in a chunk. */
    uint64_t long_line;
    uint64_t end;           /* input offset just past the chunk's last line */
    uint64_t src_bytes;     /* input bytes as stored (compressed for zstd) this chunk
                             * consumed: for progress against the file size */
    struct al_track *track; /* resolution counter (checkpoint.h), or NULL */
    /* Private to the reader. */
    void *map;
    size_t map_len;
    char *buf;
} al_chunk_t;

typedef struct al_reader al_reader_t;

typedef struct {
    size_t chunk_bytes;    /* target chunk size; lines longer than this become long_line chunks */
    uint64_t start_offset; /* resume: first byte to hand out (a line start), 0 = the beginning */
    uint64_t start_line;   /* resume: number of the line at start_offset */
    /* A zip member (sources.h): the archive and the member's index; path is
     * then the archive's. NULL reads path itself. */
    al_zip_t *zip;
    uint64_t member;
    const char *name; /* what errors call the input (a member's "a.zip:m"); NULL = path */
    /* A byte range of a plain file (shard.h), or 0 and 0 for all of it: the
     * lines that start at or after range_start (the first such line: the
     * reader finds it) and before range_end (AL_RANGE_END: the end of the
     * file); the last may run past range_end. Line numbers then count from
     * 1 at the range's first line (the lines before it are not read), unless
     * range_start is 0. start_offset, when set, is where to resume inside
     * the range. Only for plain regular files. */
    uint64_t range_start, range_end;
    /* How objects are reached: needed when path is an object URL (s3://,
     * gs://; s3.h), which is then read as a stream of ranged GETs. NULL
     * refuses such a path. Borrowed for the reader's life. */
    const al_s3_conf_t *s3;
    const char
        *etag; /* the object's ETag in its listing, to hold it to; NULL: the first answer's */
} al_reader_opts_t;

#define AL_RANGE_END UINT64_MAX

/* Opens path ("-" = standard input), or the zip member opts names, and
 * sniffs its format. Refuses what it cannot read with a specific error:
 * NOT_FOUND, IS_DIR, ACCESS, UNSUPPORTED_FORMAT (bzip2, xz, lz4; a zip on a
 * stream or inside a member), ZIP_CORRUPT, ZIP_UNSUPPORTED, IO, and
 * INPUT_SHAPE for text that is not NDJSON: a JSON array ('[' first, after
 * an optional byte order mark and whitespace), JSON spread over lines (a
 * first line "{" alone, or one that starts a JSON value the next lines
 * continue), CSV or TSV (a header row of delimited names, and a second line
 * with as many fields). The shape is read from the first 16 KiB of the
 * decompressed input when it is opened at its start (a resume skips it:
 * the input passed it then); diag has the offset where it shows and, in
 * detail, what the input is and the command that converts it. Nothing of
 * a refused input is handed out. A stream's first bytes are kept for
 * al_reader_next(), not lost.
 * @return AL_ERR_OK and *out, which the caller closes with al_reader_close(). */
al_err_t al_reader_open(al_reader_t **out, const char *path, uint32_t file_id,
                        const al_reader_opts_t *opts, al_diag_t *diag);

/* Produces the next chunk, or *out = NULL at the end of input.
 * Errors: IO, ZSTD_CORRUPT and ZSTD_TRUNCATED, GZIP_CORRUPT and GZIP_TRUNCATED,
 * ZIP_CORRUPT (diag has the compressed offset; in a zip member, the offset
 * in the member's stored bytes, or for a compressed file inside a member in
 * its decompressed bytes;
 * lines that decoded completely before the damage were already returned),
 * INPUT_CHANGED (a mapped file shrank while it was read: diag has the offset),
 * BINARY_INPUT (NUL bytes at the start of the input), NOMEM.
 * After an error the reader only returns that error again.
 * @return AL_ERR_OK; the caller owns *out and must al_chunk_release() it. */
al_err_t al_reader_next(al_reader_t *r, al_chunk_t **out, al_diag_t *diag);

/* @return the input's format, known after al_reader_open(). */
al_format_t al_reader_format(const al_reader_t *r);

/* @return the input's size on disk (a member's: compressed, as stored), or
 * 0 when unknown (pipes). */
uint64_t al_reader_file_size(const al_reader_t *r);

/* @return the number of the next line the reader would hand out. */
uint64_t al_reader_next_line(const al_reader_t *r);

/* @return the (decompressed) bytes read so far. */
uint64_t al_reader_bytes_read(const al_reader_t *r);

/* Closes the input. Chunks already returned stay valid. NULL is ignored. */
void al_reader_close(al_reader_t *r);

/* Frees a chunk and its memory. Any thread. NULL is ignored. */
void al_chunk_release(al_chunk_t *c);

/* @return 1 when path is read as a stream: '-' (standard input) or not a
 * regular file (a pipe, <(cmd), a FIFO, a device). An object in a bucket
 * (s3://, gs://) is not: it can be read again. A stream is read once,
 * in order, is never sniffed ahead of the run, and cannot be resumed.
 * Thread-safety: any thread. */
int al_input_is_stream(const char *path);

/* Runs fn(ctx) so that a SIGBUS raised by touching a mapped chunk whose
 * file shrank (al_chunk_t.map != NULL) ends fn early instead of the process.
 * fn must leave its own state consistent at any point where it reads mapped
 * bytes (or the caller repairs it). Nestable; the handler is installed once
 * for the process. @return 0 when fn returned, 1 when the input vanished
 * under it. Thread-safety: any thread. */
int al_map_guarded(void (*fn)(void *ctx), void *ctx);

#endif
