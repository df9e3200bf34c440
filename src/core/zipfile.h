/* zipfile.h - zip archives as inputs: the container read by libzip, the data
 * inflated by ISA-L.
 *
 * An archive is opened once: libzip reads its central directory (zip64
 * included) and the archive stays open while its members are read, one
 * member at a time. A member's stored bytes come from libzip untouched
 * (ZIP_FL_COMPRESSED) and are inflated here with ISA-L's raw inflate, which
 * is several times faster than the zlib libzip would use; the CRC-32 and
 * the size in the central directory are checked when the member ends, so
 * a damaged member is an error, never silently short. Members stored
 * (method 0) and other methods libzip decodes (bzip2 on Debian) come
 * through libzip, which checks their CRC-32 itself. Encrypted members are
 * refused (al_zip_entry says so before anything is read).
 *
 * Ownership: an archive owns its entries' names; a member reader borrows
 * its archive, which must outlive it.
 *
 * Thread-safety: an archive and its member readers belong to one thread at
 * a time (libzip keeps one file position per archive); different archives
 * are independent.
 */
#ifndef AL_ZIPFILE_H
#define AL_ZIPFILE_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct al_zip al_zip_t;
typedef struct al_zip_member al_zip_member_t;

/* What the central directory says of one member. */
typedef struct {
    const char *name;   /* UTF-8 (libzip converts CP437 names); owned by the archive */
    uint64_t size;      /* decompressed bytes */
    uint64_t comp_size; /* bytes as stored in the archive */
    int is_dir;         /* a directory entry (name ends with '/') */
    /* NULL when the member can be read, else why not ("encrypted", ...) */
    const char *unreadable;
} al_zip_entry_t;

/* @return 1 when the first n bytes at m start a zip archive (a local file
 * header, or the end record of an empty archive). */
int al_zip_sniff(const unsigned char *m, size_t n);

/* Opens the archive at path and reads its central directory.
 * @return AL_ERR_OK and *out (closed with al_zip_close); NOT_FOUND, ACCESS,
 * IS_DIR, IO, or ZIP_CORRUPT (diag names the file and what libzip found). */
al_err_t al_zip_open(al_zip_t **out, const char *path, al_diag_t *diag);

/* @return the number of entries in the central directory. */
uint64_t al_zip_count(const al_zip_t *z);

/* Describes entry i (< al_zip_count). @return AL_ERR_OK, or ZIP_CORRUPT. */
al_err_t al_zip_entry(al_zip_t *z, uint64_t i, al_zip_entry_t *e, al_diag_t *diag);

/* Closes the archive. Its member readers must be closed first. NULL is ignored. */
void al_zip_close(al_zip_t *z);

/* Starts reading entry i. name (borrowed, may be NULL) is what errors call
 * the member, e.g. "export.zip:day#1.json.gz".
 * @return AL_ERR_OK and *out; ZIP_UNSUPPORTED, ZIP_CORRUPT or NOMEM. */
al_err_t al_zip_member_open(al_zip_member_t **out, al_zip_t *z, uint64_t i, const char *name,
                            al_diag_t *diag);

/* Reads up to cap decompressed bytes into dst.
 * @return the number of bytes (> 0); 0 at the member's end, once its size
 * and CRC-32 are verified; -1 on an error, *err set to ZIP_CORRUPT (bad
 * data, bad CRC or size, cut short) or IO, and diag naming the member and
 * the offset in its stored bytes. After an error it returns -1 again. */
ssize_t al_zip_member_read(al_zip_member_t *m, void *dst, size_t cap, al_err_t *err,
                           al_diag_t *diag);

/* @return the member's stored bytes consumed so far (for progress). */
uint64_t al_zip_member_consumed(const al_zip_member_t *m);

/* Ends the read. NULL is ignored. */
void al_zip_member_close(al_zip_member_t *m);

#endif
