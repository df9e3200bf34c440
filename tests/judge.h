/* judge.h - what an input should turn into, decided by event_check (jansson).
 *
 * For inputs too large to keep as text (a million events), events are kept
 * as 64-bit hashes of their canonical form: sorted keys, no insert_id (ampload
 * adds one to events that have none). */
#ifndef AL_TEST_JUDGE_H
#define AL_TEST_JUDGE_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

typedef struct {
    uint64_t *v;
    size_t n, cap;
} hashes_t;

typedef struct {
    hashes_t valid; /* canonical hashes of the valid events */
    long lines, invalid, blank;
    char *invalid_line; /* by line number: 1 when refused */
} verdicts_t;

/* Judges every line of a plain NDJSON file. */
void judge_input(const char *path, verdicts_t *out);

/* Hashes of the events in a record file; checks each has a unique insert_id. */
void judge_record(const char *path, hashes_t *out);

/* Both multisets hold the same events, as often. Sorts both. */
void judge_assert_same(hashes_t *want, hashes_t *got, const char *what);

/* The reject file holds exactly the refused lines of v, once each. */
void judge_assert_rejects(const char *reject_path, const verdicts_t *v);

/* The same for a run over several inputs (the members of a zip archive):
 * names[k] is input k's name in the records, base[k] the lines before it
 * when the inputs are read one after another as the judged text. */
void judge_assert_rejects_in(const char *reject_path, const verdicts_t *v, const char *const *names,
                             const uint64_t *base, size_t n);

/* The canonical hash of one event (drops its insert_id). */
uint64_t judge_canonical(json_t *j);

void judge_free(verdicts_t *v);
void hashes_free(hashes_t *h);

#endif
