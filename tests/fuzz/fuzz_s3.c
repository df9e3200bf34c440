/* fuzz_s3.c - libFuzzer target for what an object store answers: a
 * ListObjectsV2 page (read as the listing of a key, a prefix or a pattern,
 * chosen by the first byte) and an error document. Every object handed out
 * must have a NUL-terminated key, and the continuation token must be
 * NUL-terminated within its buffer. */
#include "s3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int on_entry(void *ctx, const al_s3_entry_t *e)
{
    size_t *n = ctx;
    if (e->key == NULL || e->etag == NULL || strlen(e->key) == 0)
        abort();
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"day/", "day/*.json.gz", "day/**", "day/x", ""};
    char token[64], code[32], message[48];
    int truncated = 0;
    size_t n = 0;
    if (size < 1)
        return 0;
    al_s3_parse_listing((const char *)data + 1, size - 1, keys[data[0] % 5], on_entry, &n,
                        &truncated, token, sizeof(token));
    if (memchr(token, '\0', sizeof(token)) == NULL)
        abort();
    al_s3_parse_error((const char *)data + 1, size - 1, code, sizeof(code), message,
                      sizeof(message));
    if (memchr(code, '\0', sizeof(code)) == NULL || memchr(message, '\0', sizeof(message)) == NULL)
        abort();
    return 0;
}
