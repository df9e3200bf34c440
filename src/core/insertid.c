/* insertid.c - hashing and placing the insert_id.
 *
 * The edit is described, not performed: the batcher copies the event around
 * it (al_batch_add_edited), so the event is still copied exactly once. */
#include "insertid.h"

#include "fileid.h"
#include "reader.h"

#include <errno.h>
#include <string.h>
#include <xxhash.h>

al_err_t al_insert_id_input_key(const char *path, const char *member, uint64_t *key,
                                al_diag_t *diag)
{
    /* the checkpoint's fingerprint less the time: a copy of the file, or the
     * same file touched, is the same input */
    uint64_t parts[4] = {0, 0, 0, 0};
    al_file_identity_t id;
    al_err_t err;

    *key = 0;
    if (al_s3_is_url(path)) {
        /* an object: its URL, the same on every run (two objects never
         * share the key their events' insert_ids come from) */
        *key = XXH3_64bits(path, strlen(path));
        return AL_ERR_OK;
    }
    if (al_input_is_stream(path))
        return AL_ERR_OK;
    err = al_file_identity(path, &id, diag);
    if (err != AL_ERR_OK)
        return diag->sys_errno == ENOENT   ? AL_ERR_NOT_FOUND
               : diag->sys_errno == EACCES ? AL_ERR_ACCESS
                                           : err;
    if (!id.regular)
        return AL_ERR_OK;
    parts[0] = id.size;
    parts[1] = id.head;
    parts[2] = id.tail;
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
