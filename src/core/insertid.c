/* insertid.c - hashing and placing the insert_id.
 *
 * The edit is described, not performed: the batcher copies the event around
 * it (al_batch_add_edited), so the event is still copied exactly once. */
#include "insertid.h"

#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define KEY_SPAN (64 * 1024)

/* XXH3-64 of n bytes at `at` (fewer at the end of the file). */
static int hash_span(int fd, off_t at, size_t n, uint64_t *h)
{
    char *buf = malloc(n ? n : 1);
    ssize_t got;
    if (buf == NULL)
        return -1;
    got = pread(fd, buf, n, at);
    *h = XXH3_64bits(buf, got > 0 ? (size_t)got : 0);
    free(buf);
    return got < 0 ? -1 : 0;
}

al_err_t al_insert_id_input_key(const char *path, const char *member, uint64_t *key,
                                al_diag_t *diag)
{
    uint64_t parts[4] = {0, 0, 0, 0};
    struct stat st;
    size_t span;
    int fd;

    *key = 0;
    if (al_input_is_stream(path))
        return AL_ERR_OK;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not wait for a writer */
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        al_diag_set(diag, path, e);
        if (fd >= 0)
            close(fd);
        return e == ENOENT ? AL_ERR_NOT_FOUND : e == EACCES ? AL_ERR_ACCESS : AL_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) { /* a FIFO or a device: read as a stream */
        close(fd);
        return AL_ERR_OK;
    }
    parts[0] = (uint64_t)st.st_size;
    span = parts[0] < KEY_SPAN ? (size_t)parts[0] : KEY_SPAN;
    if (hash_span(fd, 0, span, &parts[1]) != 0 ||
        hash_span(fd, (off_t)(parts[0] - span), span, &parts[2]) != 0) {
        al_diag_set(diag, path, errno);
        close(fd);
        return AL_ERR_IO;
    }
    close(fd);
    if (member != NULL)
        parts[3] = XXH3_64bits(member, strlen(member));
    *key = XXH3_64bits(parts, sizeof(parts));
    return AL_ERR_OK;
}

uint64_t al_insert_id_seed(uint64_t input_key, uint64_t offset)
{
    return XXH3_64bits_withSeed(&offset, sizeof(offset), input_key);
}

void al_insert_id(const char *text, size_t len, uint64_t seed, char out[AL_INSERT_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    XXH128_hash_t h = XXH3_128bits_withSeed(text, len, seed);
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(h.high64 >> (60 - 4 * i)) & 15];
        out[16 + i] = hex[(h.low64 >> (60 - 4 * i)) & 15];
    }
    out[AL_INSERT_ID_HEX] = '\0';
}

int al_insert_id_plan(const char *text, size_t len, const al_jscan_t *scan, uint64_t seed,
                      char *buf, al_inject_t *inj)
{
    const al_jfield_t *f = &scan->field[AL_KEY_INSERT_ID];
    char id[AL_INSERT_ID_HEX + 1];
    size_t end = len;

    if (f->type == AL_JT_STRING)
        return 0;
    al_insert_id(text, len, seed, id);
    if (f->type == AL_JT_NULL) {
        /* "insert_id": null  ->  "insert_id": "<id>" */
        buf[0] = '"';
        memcpy(buf + 1, id, AL_INSERT_ID_HEX);
        buf[1 + AL_INSERT_ID_HEX] = '"';
        inj->at = f->off;
        inj->cut = f->len;
        inj->text = buf;
        inj->text_len = AL_INSERT_ID_HEX + 2;
        return 1;
    }
    /* {...}  ->  {...,"insert_id":"<id>"}; the object has members (event_type) */
    while (end > 0 && text[end - 1] != '}')
        end--;
    memcpy(buf, ",\"insert_id\":\"", 14);
    memcpy(buf + 14, id, AL_INSERT_ID_HEX);
    buf[14 + AL_INSERT_ID_HEX] = '"';
    inj->at = end - 1;
    inj->cut = 0;
    inj->text = buf;
    inj->text_len = 15 + AL_INSERT_ID_HEX;
    return 1;
}
