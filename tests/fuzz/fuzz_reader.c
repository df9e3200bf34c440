/* fuzz_reader.c - libFuzzer target: the input decoders (plain, zstd, gzip)
 * and zip archives (the directory, each member inflated, a gzip or zstd
 * file inside a member).
 *
 * Each fuzz input is written to an in-memory file, opened up as the loader
 * does (al_sources_expand) and each input read to the end in 4 KiB chunks. The target checks that
 * no input crashes a decoder, reads out of bounds (the sanitizers see to that) or hangs, and that
 * the chunks it returns are whole lines with consistent offsets and line numbers; a bad input must
 * end in a clear error. The same inputs go through the derivation of one identification per user
 * from export rows (users.h), whose every output line must be a valid identification. */
#include "identify.h"
#include "reader.h"
#include "sources.h"
#include "users.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads one input to its end, checking what the reader promises. */
static void read_all(const char *path, const al_source_t *src)
{
    al_reader_opts_t opts = {.chunk_bytes = 4096};
    al_reader_t *r;
    al_chunk_t *c;
    al_diag_t d;
    al_err_t err;
    uint64_t offset = 0, line = 1;

    if (src != NULL && src->zip != NULL) {
        opts.zip = src->zip;
        opts.member = src->member;
        opts.name = src->name;
    }
    err = al_reader_open(&r, path, 0, &opts, &d);
    if (err == AL_ERR_INPUT_SHAPE && (!d.has_offset || strstr(d.detail, "convert with: ") == NULL))
        abort(); /* a refused shape says where, what it is and what to do */
    if (err != AL_ERR_OK) {
        if (d.path[0] == '\0')
            abort();
        return;
    }
    for (int chunks = 0; chunks < 100000; chunks++) {
        err = al_reader_next(r, &c, &d);
        if (err != AL_ERR_OK) {
            if (d.path[0] == '\0') /* every error names its input */
                abort();
            break;
        }
        if (c == NULL)
            break;
        if (c->first_line != line || (c->offset != offset && !(offset == 0 && c->offset == 3)))
            abort();
        if (c->long_line == 0 && c->len > 0 && c->end != c->offset + c->len)
            abort();
        line += c->lines;
        offset = c->end;
        al_chunk_release(c);
    }
    al_reader_close(r);
}

/* Derives identifications from the inputs; each line written must pass
 * the Identify rules (its ids and properties come from a row that had them). */
static void derive(const al_sources_t *srcs)
{
    char out[64];
    al_users_stats_t st;
    al_diag_t d;
    al_rules_t rules;
    FILE *fp;
    char line[1 << 16];
    snprintf(out, sizeof(out), "/tmp/fuzz-users-%d.ndjson", (int)getpid());
    if (al_users_from_export(srcs, out, NULL, &st, &d) != AL_ERR_OK)
        return;
    if (st.users + st.rows_older + st.rows_without != st.rows)
        abort();
    al_rules_init(&rules);
    rules.min_id_length = 1;
    fp = fopen(out, "r");
    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
        al_ident_t id;
        al_reason_t why;
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            n--;
        /* a placeholder id or properties nested near the limit are
         * refused with their reason, like any identification's */
        if (!al_ident_check(line, n, &rules, &id, &why) && why.code != AL_REASON_ID_PLACEHOLDER &&
            why.code != AL_REASON_TOO_DEEP)
            abort();
    }
    if (fp != NULL)
        fclose(fp);
    unlink(out);
}

/* The same bytes as a stream (a pipe): the shape is judged from the same
 * head, and what is read is every byte, the head the shape check looked at
 * included. */
static void read_stream(const uint8_t *data, size_t size, al_err_t file_err)
{
    al_reader_opts_t opts = {.chunk_bytes = 4096};
    al_reader_t *r;
    al_chunk_t *c;
    al_diag_t d;
    al_err_t err;
    char path[64];
    size_t got = 0;
    int fds[2];

    if (pipe(fds) != 0 || (size > 0 && write(fds[1], data, size) != (ssize_t)size))
        abort(); /* max_len is far below a pipe's buffer */
    close(fds[1]);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
    err = al_reader_open(&r, path, 0, &opts, &d);
    if ((err == AL_ERR_INPUT_SHAPE) != (file_err == AL_ERR_INPUT_SHAPE))
        abort();
    if (err == AL_ERR_OK) {
        while ((err = al_reader_next(r, &c, &d)) == AL_ERR_OK && c != NULL) {
            got = (size_t)c->end;
            al_chunk_release(c);
        }
        /* plain text is read to its last byte, the peeked head included */
        if (err == AL_ERR_OK && al_reader_format(r) == AL_FORMAT_PLAIN && got != size)
            abort();
        al_reader_close(r);
    }
    close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *paths[1];
    char path[64];
    al_sources_t srcs;
    al_diag_t d;
    int fd = memfd_create("fuzz", 0);

    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    paths[0] = path;
    if (!al_zip_sniff(data, size)) { /* a zip is read from its path only */
        al_reader_t *r;
        al_reader_opts_t opts = {.chunk_bytes = 4096};
        al_err_t ferr = al_reader_open(&r, path, 0, &opts, &d);
        al_reader_close(ferr == AL_ERR_OK ? r : NULL);
        read_stream(data, size, ferr);
    }
    if (al_sources_expand(&srcs, paths, 1, &d) == AL_ERR_OK) {
        for (uint32_t i = 0; i < srcs.n; i++)
            read_all(srcs.v[i].path, &srcs.v[i]);
        derive(&srcs);
        al_sources_free(&srcs);
    } else if (d.path[0] == '\0') {
        abort();
    }
    close(fd);
    return 0;
}
