/* fuzz_response.c - libFuzzer target: the server's answers, as /batch and
 * as Identify read them (response.h), and the Identify journal as a resume
 * reads it back (journal.h): bytes nobody on this side wrote.
 *
 * The first byte picks the HTTP status; the rest is the body. The parse must
 * never crash or over-read, must say one kind, must mark only positions of
 * the batch, and must never let the key through into the error text. The
 * same bytes, written as a journal file, must either load into a set that
 * answers only with the documented states or be refused as damaged at an
 * offset inside the file. */
#include "journal.h"
#include "response.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = {200, 201, 204, 400, 401, 403, 404, 408,
                                413, 415, 429, 500, 502, 503, 504, 302};
#define SECRET "fuzz-secret-key-0123"

static void check(const al_response_t *r, uint32_t n)
{
    if (r->kind > AL_RESP_RETRY || r->refused > n || r->nreasons > AL_RESP_MAX_REASONS)
        abort();
    for (uint32_t i = n; i < AL_MAX_BATCH_EVENTS; i++)
        if (r->mark[i] != AL_MARK_NONE)
            abort();
    if (strstr(r->error, SECRET) != NULL || memchr(r->error, '\0', sizeof(r->error)) == NULL)
        abort();
}

static void journal(const uint8_t *data, size_t size)
{
    char path[64];
    al_mark_t marks[2] = {{0, 1, 0}, {64, 3, 0}};
    al_jset_t *set = NULL;
    al_diag_t d;
    FILE *fp;
    snprintf(path, sizeof(path), "/tmp/fuzz-journal-%d", (int)getpid());
    fp = fopen(path, "wb");
    if (fp == NULL)
        return;
    fwrite(data, 1, size, fp);
    fclose(fp);
    switch (al_jset_load(path, marks, 2, &set, &d)) {
    case AL_ERR_JOURNAL_CORRUPT:
        if (!d.has_offset || d.offset > size)
            abort();
        break;
    case AL_ERR_OK:
        for (uint64_t off = 0; off < 256; off += 8) {
            int s = al_jset_state(set, (uint32_t)(off & 1), off);
            if (s != 0 && s != AL_JOURNAL_SENT && s != AL_JOURNAL_ACKED)
                abort();
        }
        al_jset_free(set);
        break;
    default:
        break;
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_response_t r;
    long status;
    uint32_t n;
    char *body;

    if (size < 2)
        return 0;
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    n = 1 + data[1] % 40;
    body = malloc(size - 2 ? size - 2 : 1); /* exactly the body: ASan sees an over-read */
    memcpy(body, data + 2, size - 2);
    if (al_response_parse(&r, status, body, size - 2, n, SECRET) == AL_ERR_OK)
        check(&r, n);
    al_response_free(&r);
    if (al_response_parse_identify(&r, status, body, size - 2, n, SECRET) == AL_ERR_OK)
        check(&r, n);
    al_response_free(&r);
    free(body);
    journal(data, size);
    return 0;
}
