/* users.h - one identification per user from the rows of Amplitude
 * exports (`ampload identify --from amplitude-export`): the user_properties
 * of each user's latest row, as $set, for a migration that needs the
 * properties without replaying the events.
 *
 * Two passes over the inputs (zip members opened up, as a run reads them).
 * The first finds, for each user - user_id, else device_id, compared as
 * written - the row with the latest event time (event_time, else
 * client_event_time, else server_received_time, read as UTC as the export
 * mapping reads them; of rows with the same time the later in input order)
 * among the rows whose user_properties is a non-empty object. It keeps a
 * 40-byte slot per user (a 128-bit hash of the id, the time, where the row
 * is) in a table at most half full, not the rows. The second pass reads the inputs again and
 * writes, for each user's row in input order,
 *   {"user_id":U,"device_id":D,"user_properties":{"$set":P}}
 * (the ids the row has, non-empty; U, D and P copied byte for byte) to
 * out_path, through a temporary file made durable and renamed: the file is
 * complete or absent.
 *
 * Thread-safety: one call at a time on a source list; runs on the caller's
 * thread.
 */
#ifndef AL_USERS_H
#define AL_USERS_H

#include "error.h"
#include "sources.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    uint64_t rows;         /* lines read (first pass) */
    uint64_t users;        /* identifications written: one per user */
    uint64_t rows_older;   /* rows of a user who has a later one */
    uint64_t rows_without; /* blank, not a JSON object, no id, no time that
                              can be read, or no user_properties to set */
} al_users_stats_t;

/* Derives the identifications of the inputs src into out_path. *stop (may
 * be NULL) interrupts between chunks. @return AL_ERR_OK; an input's error
 * (diag names it, with the offset); WRITE for out_path; NOMEM; INTERRUPTED. */
al_err_t al_users_from_export(const al_sources_t *src, const char *out_path, atomic_int *stop,
                              al_users_stats_t *st, al_diag_t *diag);

#endif
