/* identify.h - Amplitude's Identify API: the rules of one identification
 * and the form encoding of a request body.
 *
 * An identification is a JSON object with user_id and/or device_id (the
 * same rules as an event's) and, optionally, user_properties: either plain
 * properties, or operations only ($set, $setOnce, $add, $append, $prepend,
 * $unset, $preInsert, $postInsert, $remove, $clearAll), never both; each
 * operation's value an object of properties ($clearAll: any value), $add's
 * values numbers. The line is scanned once (json.h, with its top-level
 * members listed), user_properties and each operation once more.
 *
 * Identify has no insert_id: nothing is deduplicated. $set, $setOnce,
 * $unset and $clearAll can be applied twice with the same result; $add,
 * $append, $prepend, $preInsert, $postInsert and $remove cannot, so an
 * identification that has one of them must not be resent blindly after an
 * ambiguous answer: the check says so.
 *
 * The request body is application/x-www-form-urlencoded:
 * api_key=<key>&identification=<JSON array>, each part percent-encoded.
 *
 * Thread-safety: pure functions; any thread.
 */
#ifndef AL_IDENTIFY_H
#define AL_IDENTIFY_H

#include "json.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>

#define AL_IDENT_MEMBERS 256 /* top-level fields, and operations, an identification may have */

typedef struct {
    al_jscan_t scan;     /* the line's tracked fields (user_id, device_id) */
    int non_idempotent;  /* an operation that a resend would apply twice */
    uint32_t operations; /* how many operations user_properties holds */
} al_ident_t;

/* Checks one line (without its line ending). @return 1 with id filled, or
 * 0 with why set: the shape and id reasons of an event (validate.h), or
 * USER_PROPERTIES_NOT_OBJECT, MIXED_OPERATIONS, UNKNOWN_OPERATION,
 * OPERATION_NOT_OBJECT, ADD_NOT_NUMERIC, TOO_MANY_FIELDS. */
int al_ident_check(const char *line, size_t len, const al_rules_t *rules, al_ident_t *id,
                   al_reason_t *why);

/* The most bytes al_form_encode() writes for n bytes. */
#define AL_FORM_ENCODED_MAX(n) ((n)*3)

/* Percent-encodes src[0..n) as a form value (letters, digits and "-._*"
 * kept, space as '+', every other byte %XX) into dst, which must hold
 * AL_FORM_ENCODED_MAX(n) bytes. @return bytes written. */
size_t al_form_encode(char *dst, const char *src, size_t n);

/* Decodes a form value (for the mock and the tests): '+' is a space, %XX a
 * byte. dst holds n bytes. @return bytes written, or (size_t)-1 when a %
 * is not followed by two hex digits. */
size_t al_form_decode(char *dst, const char *src, size_t n);

#endif
