/* validate.h - Amplitude's per-event rules, applied to one NDJSON line.
 *
 * al_event_check() runs the JSON scanner (json.h) over the line once and then
 * checks the extracted top-level fields against the rules Amplitude enforces
 * on /batch (see docs/amplitude-rules in README):
 *   - the line is at most max_event_bytes long and is a JSON object;
 *   - event_type is present, a string, and not empty;
 *   - user_id and/or device_id is present (null counts as absent); each
 *     present one is a string of at least min_id_length characters and not
 *     one of the placeholder values Amplitude refuses ("null", "anonymous", ...);
 *   - time, when present and not null, is an integer (ms since epoch);
 *     a positive one below AL_TIME_MIN_MS is refused as seconds, one above
 *     AL_TIME_MAX_MS as microseconds or nanoseconds (in milliseconds they
 *     would be before 1973-03-03 or after the year 5138, where nobody can
 *     delete them); 0 and negative times pass, as Amplitude takes them.
 *     A time the export mapping derived from a date (transform.h) keeps
 *     the mapping's rules and is not checked so;
 *   - insert_id, when present and not null, is a string;
 *   - none of these keys occurs twice (Amplitude's parser would keep one of
 *     them silently; the loader refuses to guess which);
 *   - containers are nested at most AL_MAX_PROPERTY_DEPTH levels below the
 *     event object.
 * A failed check yields a reason code plus the details needed to print it.
 *
 * Thread-safety: pure functions; any thread.
 */
#ifndef AL_VALIDATE_H
#define AL_VALIDATE_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define AL_MAX_PROPERTY_DEPTH      40
#define AL_DEFAULT_MIN_ID_LENGTH   5
#define AL_DEFAULT_MAX_EVENT_BYTES (1024u * 1024u)
#define AL_TIME_MIN_MS             100000000000LL    /* 1e11 ms: 1973-03-03 09:46:40 UTC */
#define AL_TIME_MAX_MS             100000000000000LL /* 1e14 ms: in the year 5138 */

/* X(name, report key, description). Descriptions are formatted by
 * al_reason_format(). */
#define AL_REASON_MAP(X)                                                                           \
    X(OK, "ok", "valid")                                                                           \
    X(INVALID_JSON, "invalid_json", "invalid JSON")                                                \
    X(TOO_LONG, "too_long", "line longer than the event size limit")                               \
    X(NOT_OBJECT, "not_object", "not a JSON object")                                               \
    X(TOO_DEEP, "too_deep", "nesting deeper than 40 levels")                                       \
    X(DUPLICATE_KEY, "duplicate_key", "duplicate key")                                             \
    X(MISSING_EVENT_TYPE, "missing_event_type", "missing event_type")                              \
    X(EVENT_TYPE_NOT_STRING, "event_type_not_string", "event_type is not a string")                \
    X(EVENT_TYPE_EMPTY, "event_type_empty", "event_type is empty")                                 \
    X(MISSING_ID, "missing_id", "missing user_id and device_id")                                   \
    X(ID_NOT_STRING, "id_not_string", "id is not a string")                                        \
    X(ID_TOO_SHORT, "id_too_short", "id shorter than the minimum length")                          \
    X(ID_PLACEHOLDER, "id_placeholder", "id is a placeholder value Amplitude refuses")             \
    X(TIME_NOT_INTEGER, "time_not_integer", "time is not an integer")                              \
    X(TIME_IN_SECONDS, "time_in_seconds", "time looks like seconds, not milliseconds")             \
    X(TIME_IN_MICROSECONDS, "time_in_microseconds",                                                \
      "time looks like microseconds or nanoseconds, not milliseconds")                             \
    X(INSERT_ID_NOT_STRING, "insert_id_not_string", "insert_id is not a string")                   \
    X(BAD_EVENT_TIME, "bad_event_time", "no event time that can be read")                          \
    X(TOO_MANY_FIELDS, "too_many_fields", "more top-level fields than an edit handles")            \
    X(USER_PROPERTIES_NOT_OBJECT, "user_properties_not_object",                                    \
      "user_properties is not an object")                                                          \
    X(MIXED_OPERATIONS, "mixed_operations",                                                        \
      "user_properties mixes operations ($set, ...) and plain properties")                         \
    X(UNKNOWN_OPERATION, "unknown_operation", "unknown user_properties operation")                 \
    X(OPERATION_NOT_OBJECT, "operation_not_object", "an operation's value is not an object")       \
    X(ADD_NOT_NUMERIC, "add_not_numeric", "$add of a value that is not a number")

typedef enum {
#define AL_REASON_ENUM(name, key, desc) AL_REASON_##name,
    AL_REASON_MAP(AL_REASON_ENUM)
#undef AL_REASON_ENUM
        AL_REASON_COUNT
} al_reason_code_t;

typedef struct {
    uint32_t min_id_length;   /* characters; Amplitude's options.min_id_length */
    uint32_t max_event_bytes; /* longest accepted line, without its line ending */
} al_rules_t;

/* Why a line was refused: code plus the details its sentence needs. */
typedef struct {
    al_reason_code_t code;
    uint32_t column;         /* INVALID_JSON: 1-based byte column */
    const char *json_error;  /* INVALID_JSON: scanner message, static */
    al_json_key_t key;       /* which field, for the per-field reasons */
    const char *placeholder; /* ID_PLACEHOLDER: the refused value, static */
    uint64_t length;         /* TOO_LONG: the line's length; TIME_IN_*: the time */
    const char *field;       /* BAD_EVENT_TIME: the export field that is not a time, or NULL;
                              * identify reasons: the operation or property concerned */
} al_reason_t;

/* What the batcher and later stages need from a valid event. */
typedef struct {
    al_jscan_t scan;
    /* time was derived by the export mapping from a date (al_transform
     * sets it), not given as a number: al_event_rules() leaves its range
     * to the mapping's rules. al_event_check() clears it. */
    int time_derived;
} al_event_t;

/* Sets the documented defaults. */
void al_rules_init(al_rules_t *r);

/* Checks one line (without its line ending). On success fills ev and returns 1.
 * On failure fills why and returns 0. line is borrowed for the call only. */
int al_event_check(const char *line, size_t len, const al_rules_t *rules, al_event_t *ev,
                   al_reason_t *why);

/* Applies the rules to a line already scanned into ev->scan (by
 * al_json_scan, or by an edit that describes its output the same way:
 * transform.h). Same results as al_event_check(). */
int al_event_rules(const char *line, size_t len, const al_rules_t *rules, al_event_t *ev,
                   al_reason_t *why);

/* The parts of the rules an identification (identify.h) shares with an
 * event, on a scanned line: al_shape_rules - the size limit, a JSON
 * object, no tracked key twice, the nesting depth (it clears why first);
 * al_id_rules - user_id and/or device_id, each valid.
 * @return 1, or 0 with why set. */
int al_shape_rules(size_t len, const al_rules_t *rules, const al_jscan_t *scan, al_reason_t *why);
int al_id_rules(const char *line, const al_rules_t *rules, const al_jscan_t *scan,
                al_reason_t *why);

/* Formats why as a sentence ("user_id shorter than 5"). Never writes more
 * than cap bytes; always NUL-terminates. @return buf. */
char *al_reason_format(const al_reason_t *why, const al_rules_t *rules, char *buf, size_t cap);

/* @return a nonzero 64-bit hash of an id's decoded text. Equal ids give
 * equal hashes, whichever way their JSON spelled them. */
uint64_t al_id_hash(const char *text, size_t len);

/* @return al_id_hash() of the string field f of line (decoding escapes), or
 * 0 when the field is absent, null or not a string. */
uint64_t al_event_id_hash(const char *line, const al_jfield_t *f);

/* @return the stable snake_case key for code ("id_too_short"), used in reports. */
const char *al_reason_key(al_reason_code_t code);

#endif
