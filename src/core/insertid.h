/* insertid.h - a deterministic insert_id for events that have none.
 *
 * Amplitude drops a repeated insert_id (for 7 days), which is what makes a
 * retry, a partly ingested 5xx, or a resume after a crash safe. Events that
 * arrive without one get one here: the 128-bit XXH3 hash of the event's bytes
 * seeded with where the line is - its byte offset in its (decompressed)
 * input - and which input it is: a key made of the stored file's size and
 * the hashes of its first and last 64 KiB (and, for a zip member, the
 * member's name). Every copy of a scaled-out run knows both without reading
 * what comes before the line, so the id is the same whether the input is
 * read whole or cut among copies, whatever the thread count, chunk size or
 * batch. Two different files holding the same line at the same offset (a
 * heartbeat without `time` opening each hourly file) get different ids, so
 * Amplitude keeps both; the same file compressed differently is another
 * input, with other ids. Standard input has no key (0): its ids depend on
 * offsets and bytes alone.
 *
 * The id is put into the raw text without re-serialising it: before the
 * event's closing brace, or in place of an "insert_id": null.
 *
 * Thread-safety: pure functions; any thread.
 */
#ifndef AL_INSERTID_H
#define AL_INSERTID_H

#include "batch.h"
#include "error.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define AL_INSERT_ID_HEX 32

/* The key of an input: path is the stored file (a zip member's archive),
 * member the member's name or NULL. Reads 128 KiB at most. A stream ("-",
 * a pipe) has key 0. @return AL_ERR_OK, or IO/NOT_FOUND/ACCESS (diag). */
al_err_t al_insert_id_input_key(const char *path, const char *member, uint64_t *key,
                                al_diag_t *diag);

/* @return the seed of the line at byte `offset` of the input with this key. */
uint64_t al_insert_id_seed(uint64_t input_key, uint64_t offset);

/* Writes the id of line text[0..len) with the given seed into out
 * (AL_INSERT_ID_HEX hex digits and a NUL). */
void al_insert_id(const char *text, size_t len, uint64_t seed, char out[AL_INSERT_ID_HEX + 1]);

/* Plans the edit that gives a validated event its id. scan is the event's
 * scan (al_event_check filled it); seed is al_insert_id_seed()'s; buf (at
 * least 64 bytes, owned by the caller) receives the inserted text, which inj
 * points to. @return 1 when the event needs an id (inj is filled), 0 when it
 * has one. */
int al_insert_id_plan(const char *text, size_t len, const al_jscan_t *scan, uint64_t seed,
                      char *buf, al_inject_t *inj);

#endif
