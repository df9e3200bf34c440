/* insertid.c - hashing and placing the insert_id.
 *
 * The edit is described, not performed: the batcher copies the event around
 * it (al_batch_add_edited), so the event is still copied exactly once. */
#include "insertid.h"

#include <string.h>
#include <xxhash.h>

void al_insert_id(const char *text, size_t len, uint64_t line_no, char out[AL_INSERT_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    XXH128_hash_t h = XXH3_128bits_withSeed(text, len, line_no);
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(h.high64 >> (60 - 4 * i)) & 15];
        out[16 + i] = hex[(h.low64 >> (60 - 4 * i)) & 15];
    }
    out[AL_INSERT_ID_HEX] = '\0';
}

int al_insert_id_plan(const char *text, size_t len, const al_jscan_t *scan, uint64_t line_no,
                      char *buf, al_inject_t *inj)
{
    const al_jfield_t *f = &scan->field[AL_KEY_INSERT_ID];
    char id[AL_INSERT_ID_HEX + 1];
    size_t end = len;

    if (f->type == AL_JT_STRING)
        return 0;
    al_insert_id(text, len, line_no, id);
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
