/* identify.h - the mock's Identify API: user properties per project.
 *
 * POST /identify takes Amplitude's form body (api_key=...&identification=...,
 * application/x-www-form-urlencoded, the identification a JSON object or an
 * array of them) and applies each identification to the user properties of
 * its user (user_id, else device_id) in the key's project: plain properties
 * as $set; $set, $setOnce, $unset, $clearAll, $add, $append, $prepend,
 * $preInsert, $postInsert and $remove with Amplitude's meanings. So a test
 * can read the resulting properties (GET /users) and see whether a
 * non-idempotent operation was applied twice.
 *
 * The form is decoded here, by hand, independently of the loader's encoder.
 *
 * Thread-safety: every call under the mock's lock.
 */
#ifndef AMPLOAD_MOCK_IDENTIFY_H
#define AMPLOAD_MOCK_IDENTIFY_H

#include <jansson.h>
#include <stddef.h>

typedef struct mock_users mock_users_t;

/* @return an empty store of user properties, or NULL. */
mock_users_t *mock_users_new(void);
void mock_users_free(mock_users_t *u);

/* Reads a form body: the values of api_key and identification, decoded
 * (malloc'd, NUL-terminated; NULL when the field is absent).
 * @return 0, or -1 when the body is not a valid form (a bad %-escape). */
int mock_form_fields(const char *body, size_t len, char **api_key, char **identification);

/* Checks one identification as Amplitude would take it. @return NULL when
 * it can be applied, else what is wrong (static text). */
const char *mock_identification_error(json_t *idn);

/* Applies one (checked) identification to the project of key. */
void mock_users_apply(mock_users_t *u, const char *key, json_t *idn);

/* @return {"<app>": {"<user>": {properties}}} for every project: users
 * named "user:<user_id>" or "device:<device_id>". New reference. */
json_t *mock_users_dump(const mock_users_t *u);

#endif
