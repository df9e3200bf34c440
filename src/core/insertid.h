/* insertid.h - a deterministic insert_id for events that have none.
 *
 * Amplitude drops a repeated insert_id (for 7 days), which is what makes a
 * retry, a partly ingested 5xx, or a resume after a crash safe. Events that
 * arrive without one get one here: the 128-bit XXH3 hash of the event's bytes
 * seeded with its line number in its input, as 32 hex digits. The same line
 * of the same file gets the same id on every run, whatever the thread count,
 * chunk size or batch it lands in. (Two inputs holding the same line at the
 * same line number - the same file plain and compressed, say - give the same
 * id, and Amplitude keeps one: they are the same event.)
 *
 * The id is put into the raw text without re-serialising it: before the
 * event's closing brace, or in place of an "insert_id": null.
 *
 * Thread-safety: pure functions; any thread.
 */
#ifndef AL_INSERTID_H
#define AL_INSERTID_H

#include "batch.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define AL_INSERT_ID_HEX 32

/* Writes the id of line text[0..len) at line number line_no into out
 * (AL_INSERT_ID_HEX hex digits and a NUL). */
void al_insert_id(const char *text, size_t len, uint64_t line_no, char out[AL_INSERT_ID_HEX + 1]);

/* Plans the edit that gives a validated event its id. scan is the event's
 * scan (al_event_check filled it); buf (at least 64 bytes, owned by the
 * caller) receives the inserted text, which inj points to.
 * @return 1 when the event needs an id (inj is filled), 0 when it has one. */
int al_insert_id_plan(const char *text, size_t len, const al_jscan_t *scan, uint64_t line_no,
                      char *buf, al_inject_t *inj);

#endif
