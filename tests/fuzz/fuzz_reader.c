/* fuzz_reader.c - libFuzzer target: the input decoders (plain, zstd, gzip).
 *
 * Each fuzz input is written to an in-memory file and read to the end in
 * 4 KiB chunks, as the loader reads its inputs. The target checks that no
 * input crashes a decoder, reads out of bounds (the sanitizers see to that)
 * or hangs, and that the chunks it returns are whole lines with consistent
 * offsets and line numbers; a bad input must end in a clear error. */
#include "reader.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_reader_opts_t opts = {.chunk_bytes = 4096};
    char path[64];
    al_reader_t *r;
    al_chunk_t *c;
    al_diag_t d;
    al_err_t err;
    uint64_t offset = 0, line = 1;
    int fd = memfd_create("fuzz", 0);

    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err = al_reader_open(&r, path, 0, &opts, &d);
    if (err == AL_ERR_OK) {
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
    close(fd);
    return 0;
}
