/* sources.h - the inputs a run reads, with zip archives opened up.
 *
 * A run is given paths. Most name one input each; a zip archive (found by
 * its magic number, not its name) stands for its members, each an input of
 * its own: named "archive.zip:member" in the reject and failed files, the
 * report and the checkpoint, with its own line numbers and its own resume
 * mark. Members come in natural name order (day#2 before day#10, the order
 * Amplitude's exports are written in); directories, macOS resource forks
 * (__MACOSX/) and dot files (.DS_Store) are not events: they are skipped
 * and counted. Streams ('-', pipes) are never opened here: a stream is not
 * read ahead of the run (and a zip on a stream is refused by the reader).
 *
 * Ownership: a source list owns its names and open archives; al_sources_free()
 * releases them, after the run that borrowed them.
 *
 * Thread-safety: expand and free from one thread; during a run the archives
 * are used by the reader thread only.
 */
#ifndef AL_SOURCES_H
#define AL_SOURCES_H

#include "error.h"
#include "s3.h"
#include "zipfile.h"

#include <stdint.h>

#define AL_MAX_INPUTS 1000000u /* inputs after expansion: a bound on memory, not a format limit */

typedef struct {
    const char *name; /* what records call it: the path, or "path:member" */
    const char *path; /* the file to open ("-" = standard input) */
    al_zip_t *zip;    /* the archive holding it, or NULL */
    uint64_t member;  /* its index in the archive's directory */
    uint64_t
        stored;     /* bytes as stored: a file's size, a member's compressed size; 0 for a stream */
    int splittable; /* a plain regular file: copies can read byte ranges of it (shard.h) */
    char *own;      /* an object's URL, name and path both, allocated by the list; or NULL */
    char *etag;     /* an object's ETag in its listing (the reader holds it to it); or NULL */
} al_source_t;

typedef struct {
    al_source_t *v;
    const char *const *names; /* v[i].name, for the interfaces that take a name array */
    const char *const *files; /* v[i].path, likewise */
    uint32_t n;
    uint64_t members_skipped; /* zip entries that are not events */
    al_zip_t **zips;
    uint32_t nzips;
} al_sources_t;

/* Expands paths[n] into out (zeroed first). Plain files, zstd and gzip
 * files and streams stay one input each.
 * @return AL_ERR_OK; for an archive that cannot be read: NOT_FOUND, ACCESS,
 * IS_DIR, IO, ZIP_CORRUPT, ZIP_UNSUPPORTED (an event member that is
 * encrypted or compressed in a way ampload does not read), INVALID_ARG
 * (over AL_MAX_INPUTS inputs) or NOMEM; diag names the archive or member.
 * Nothing is left allocated after an error. */
al_err_t al_sources_expand(al_sources_t *out, const char *const *paths, uint32_t n,
                           al_diag_t *diag);

/* As al_sources_expand, and a zip member whose base name is skip (not
 * NULL) is skipped too, counted in members_skipped: the manifest of a zipped
 * export directory, with --from amplitude-export. */
al_err_t al_sources_expand_skip(al_sources_t *out, const char *const *paths, uint32_t n,
                                const char *skip, al_diag_t *diag);

/* As al_sources_expand_skip, and an object URL (s3://, gs://; s3.h) stands
 * for the objects its listing through s3 names, in key order, each an input
 * named by its own URL, its size as stored. s3 NULL refuses object URLs.
 * @return also OBJECT_MISSING (nothing matches), OBJECT_ACCESS, IO. */
al_err_t al_sources_expand_objects(al_sources_t *out, const char *const *paths, uint32_t n,
                                   const char *skip, const al_s3_conf_t *s3, al_diag_t *diag);

/* Releases names and archives. NULL or a zeroed list is fine. */
void al_sources_free(al_sources_t *s);

/* Natural order: runs of digits compare by value, the rest byte by byte.
 * @return < 0, 0 or > 0 as for strcmp. */
int al_natural_cmp(const char *a, const char *b);

/* @return 1 when a zip entry of this name may hold events: not a
 * directory, nothing under __MACOSX/, not a dot file. */
int al_member_is_event(const char *name);

#endif
