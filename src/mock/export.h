/* export.h - the mock's projects and its Export API.
 *
 * With --export the mock keeps every event it accepts, per project (one per
 * API key), with the hour it was "uploaded" (now, or the event's own time
 * with --upload-time event, so tests can spread events over hours and days).
 * GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH (HTTP Basic auth,
 * api_key:secret_key) answers as Amplitude does: a zip whose members are
 * gzipped NDJSON rows in the export shape (fields named and typed as in
 * Amplitude's exports, server fields added), one member per hour and part
 * of 1000 rows, named "<app>/<app>_<YYYY-MM-DD>_<H>#<part>.json.gz"; the end
 * hour is included; 404 when the window holds nothing; 400 when it holds
 * more than --export-max-events rows (Amplitude's "over 4 GB"). The zip is
 * written here by hand, stored members, gzip by zlib: an implementation
 * independent of the loader's libzip and ISA-L.
 *
 * Thread-safety: every call under the mock's lock.
 */
#ifndef AMPLOAD_MOCK_EXPORT_H
#define AMPLOAD_MOCK_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mock_store mock_store_t;

typedef struct {
    int keep;               /* --export: keep the events for GET /api/2/export */
    int upload_from_event;  /* --upload-time event */
    uint64_t max_events;    /* --export-max-events: 400 above; 0 = no limit */
    const char *api_key;    /* --api-key: the only key, or NULL */
    const char *secret_key; /* --secret-key: the only secret, or NULL (any) */
    const char *record_dir; /* --record-dir: DIR/<app>.ndjson per project, or NULL */
} mock_store_opts_t;

/* @return a store, or NULL (out of memory, or record_dir not writable). */
mock_store_t *mock_store_new(const mock_store_opts_t *o);
void mock_store_free(mock_store_t *s);

/* The project number of an API key (the exports' "app"). */
uint32_t mock_project_app(const char *key);

/* Keeps an accepted event of the project of key. */
void mock_store_add(mock_store_t *s, const char *key, json_t *ev, uint64_t now_ms);

/* "YYYYMMDDTHH" as hours since 1970. @return 1, or 0 when malformed. */
int mock_export_parse_hour(const char *s, int64_t *hour);

/* Answers GET /api/2/export. auth is the Authorization header (or NULL),
 * start and end the query's values (or NULL).
 * @return the HTTP status; *body (malloc'd) and *len the answer, *ctype its
 * Content-Type. */
int mock_export(mock_store_t *s, const char *auth, const char *start, const char *end, char **body,
                size_t *len, const char **ctype);

#endif
