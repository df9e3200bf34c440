/* transform.h - edits of events on their raw bytes, before validation.
 *
 * Two kinds, applied in this order:
 *  - the Amplitude export mapping (--from amplitude-export): an export row
 *    becomes a /batch event: $insert_id -> insert_id (uuid when it has
 *    none), event_time -> time in ms read as UTC (falling back to
 *    client_event_time, then server_received_time, when absent or null),
 *    ip_address -> ip, device_carrier -> carrier, version_name ->
 *    app_version; user_id and device_id dropped when null or empty; the
 *    server-assigned fields and the ones /batch does not take dropped (the
 *    list is the table in transform.c, from the Export section of the API
 *    notes), and so is every other top-level null;
 *  - the generic edits of the command line: --rename OLD=NEW, --drop
 *    FIELD, --set FIELD=JSON, --skip-user-properties-sync (adds
 *    "$skip_user_properties_sync": true). They act on top-level fields and
 *    take precedence over the mapping for the same field.
 *
 * An edit never re-serialises: the output is the line's own bytes for each
 * member kept, a new key before the value's own bytes for a renamed one,
 * and the new members appended. When a renamed, set or generated member
 * gets the name of a member the line already has, the new one wins and the
 * old one is dropped, so an edit never makes a duplicate key. The output's
 * scan (json.h) is built while writing, so the line is scanned once.
 *
 * Thread-safety: al_edits_t is read-only once built; each thread has its
 * own al_xform_t.
 */
#ifndef AL_TRANSFORM_H
#define AL_TRANSFORM_H

#include "error.h"
#include "json.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>

#define AL_EDITS_MAX      64   /* each of --rename, --drop, --set */
#define AL_EDIT_KEY_MAX   128  /* bytes of a field name */
#define AL_EDIT_VALUE_MAX 4096 /* bytes of a --set value */
#define AL_XFORM_MEMBERS  512  /* top-level members a line may have */
#define AL_XFORM_SLOTS    256  /* the key table (a power of two, > its entries) */

typedef struct {
    char key[AL_EDIT_KEY_MAX]; /* decoded */
    uint8_t action;            /* private to transform.c */
    uint8_t user;              /* a command-line edit (the mapping gives way to it) */
    uint8_t len;               /* strlen(key) */
    uint16_t arg;              /* the rename target or set value, by index */
} al_edit_slot_t;

typedef struct {
    int from_export;
    int skip_ups; /* --skip-user-properties-sync */
    uint32_t nrename, ndrop, nset;
    char rename_to[AL_EDITS_MAX][AL_EDIT_KEY_MAX];
    char set_key[AL_EDITS_MAX][AL_EDIT_KEY_MAX];
    char set_value[AL_EDITS_MAX][AL_EDIT_VALUE_MAX];
    uint8_t set_type[AL_EDITS_MAX]; /* al_jtype_t of each value */
    uint8_t set_esc[AL_EDITS_MAX];  /* a string value with an escape */
    uint32_t set_depth;             /* deepest nesting of a set value, its own object included */
    /* key -> action, open addressing */
    al_edit_slot_t slot[AL_XFORM_SLOTS];
    uint32_t nslots;
} al_edits_t;

/* Per-thread scratch space. */
typedef struct {
    char *buf;
    size_t cap;
    al_jmember_t member[AL_XFORM_MEMBERS];
} al_xform_t;

/* No edits. */
void al_edits_init(al_edits_t *e);

/* Turns on the Amplitude export mapping. */
void al_edits_from_export(al_edits_t *e);

/* Adds a command-line edit. spec is "OLD=NEW" (rename), "FIELD" (drop) or
 * "FIELD=JSON" (set). @return AL_ERR_OK, or INVALID_ARG with what is wrong
 * in diag->detail (empty or over-long names, a value that is not JSON, a
 * field edited twice, too many edits). */
al_err_t al_edits_rename(al_edits_t *e, const char *spec, al_diag_t *diag);
al_err_t al_edits_drop(al_edits_t *e, const char *field, al_diag_t *diag);
al_err_t al_edits_set(al_edits_t *e, const char *spec, al_diag_t *diag);

/* @return 1 when any edit is configured. */
int al_edits_active(const al_edits_t *e);

/* Releases the scratch buffer. */
void al_xform_free(al_xform_t *x);

/* Applies the edits to one line (without its line ending). On success the
 * edited event is (*out, *out_len), inside x until the next call, and
 * ev->scan describes it for al_event_rules(). @return 1, or 0 with why set:
 * INVALID_JSON or NOT_OBJECT (the input line), BAD_EVENT_TIME,
 * TOO_MANY_FIELDS; NOMEM leaves why->code OK and returns -1. */
int al_transform(const al_edits_t *e, const char *line, size_t len, al_xform_t *x, const char **out,
                 size_t *out_len, al_event_t *ev, al_reason_t *why);

/* Reads "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 9 digits
 * (a 'T' for the space and a final 'Z' are accepted) as UTC.
 * @return 1 with *ms (milliseconds since 1970, negative before; the
 * fraction truncated), or 0 when the text is not such a time. */
int al_parse_utc_ms(const char *s, size_t n, int64_t *ms);

#endif
