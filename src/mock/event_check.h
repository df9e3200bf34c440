/* event_check.h - an independent judge of Amplitude events, built on jansson.
 *
 * The loader validates events with its own hand-written scanner for speed.
 * This module decides the same questions a second way - parse the line into
 * a tree with a general JSON library, then inspect the tree - so the mock
 * server and the tests never trust the code they are checking. It returns the
 * same reason keys as the loader's reports (validate.h), in the same order of
 * precedence, so verdicts can be compared line by line.
 *
 * Thread-safety: pure; any thread.
 */
#ifndef AL_MOCK_EVENT_CHECK_H
#define AL_MOCK_EVENT_CHECK_H

#include <stddef.h>

#include <jansson.h>

/* Judges one line (line ending removed). @return NULL when it is a valid
 * event, "blank" for a blank line, or the reason key ("id_too_short", ...). */
const char *mock_check_line(const char *line, size_t len, unsigned min_id_length,
                            size_t max_event_bytes);

/* Judges one parsed event object. @return NULL when valid, else a reason key;
 * *field (may be NULL) gets the field at fault ("user_id", "time", ...). */
const char *mock_check_event(json_t *event, unsigned min_id_length, const char **field);

/* json_loadb, except that integers beyond int64 (which Amplitude accepts)
 * are read as reals instead of failing the whole document.
 * @return the document or NULL with err filled. */
json_t *mock_json_load(const char *buf, size_t len, size_t flags, json_error_t *err);

#endif
