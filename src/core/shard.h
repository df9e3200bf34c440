/* shard.h - cutting a run's inputs among N copies (--shard I/N by input).
 *
 * Every copy reads only its share: the inputs, in byte order of their names
 * (not the order given, which a shell's locale may change from machine to
 * machine), are laid end to end by stored size and the total cut into N
 * ranges of nearly equal bytes. A plain file is read by byte range: a line
 * belongs to the copy whose range holds its first byte, so each copy starts
 * at the first line that begins at or after its range start and ends with
 * the line that crosses its range end, and every line has exactly one owner.
 * A compressed file or a zip member cannot be entered in the middle without
 * decompressing what comes before; each goes whole to the copy whose range
 * holds its middle byte. With many files that is nearly even; with a few
 * large compressed files, a copy may get more or nothing.
 *
 * The plan depends only on the names and sizes, so N copies given the same
 * inputs agree on it without talking to each other. Standard input cannot
 * be cut: al_shard_plan refuses it.
 *
 * Thread-safety: pure functions.
 */
#ifndef AL_SHARD_H
#define AL_SHARD_H

#include "error.h"
#include "sources.h"

#include <stdint.h>

#define AL_PART_END UINT64_MAX

/* One input's part for this copy. */
typedef struct {
    int take;       /* this copy reads the input */
    uint64_t start; /* its lines that start at or after this byte... */
    uint64_t end;   /* ...and before this one; AL_PART_END: to the end */
} al_part_t;

/* Plans copy `index` of `count` over the n inputs of src into parts[n].
 * @return AL_ERR_OK; INVALID_ARG when an input is a stream (diag names it). */
al_err_t al_shard_plan(const al_sources_t *src, uint32_t index, uint32_t count, al_part_t *parts,
                       al_diag_t *diag);

#endif
