/* retry.h - when to try a failed request again.
 *
 * Capped exponential backoff with full jitter (the delay is drawn uniformly
 * from [0, min(cap, base * 2^attempt)]), so a crowd of retrying requests
 * spreads out instead of arriving together. A server's Retry-After wins over
 * the drawn delay when it asks for longer. Each batch has a retry budget
 * measured from its first attempt; past it, its events go to the failed file.
 *
 * The random source is a caller-owned state, so tests are deterministic.
 * Thread-safety: pure functions over caller-owned state.
 */
#ifndef AL_RETRY_H
#define AL_RETRY_H

#include <stdint.h>

#define AL_BACKOFF_BASE_MS      250
#define AL_BACKOFF_CAP_MS       60000
#define AL_DEFAULT_RETRY_TIME_S 600

/* xorshift state; any nonzero seed. */
typedef struct {
    uint64_t s;
} al_rng_t;

void al_rng_seed(al_rng_t *r, uint64_t seed);

/* @return a uniform integer in [0, n] (n inclusive). */
uint64_t al_rng_upto(al_rng_t *r, uint64_t n);

/* @return the delay in ms before retry number `attempt` (1 = first retry):
 * full jitter over min(cap_ms, base_ms * 2^(attempt-1)); at least
 * retry_after_ms when the server sent Retry-After (0 = none). */
uint64_t al_backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t cap_ms,
                             uint64_t retry_after_ms, al_rng_t *rng);

/* Parses a Retry-After header value: delta-seconds, or an HTTP date relative
 * to now_unix_s. @return milliseconds, 0 when absent or unreadable. */
uint64_t al_retry_after_ms(const char *value, int64_t now_unix_s);

#endif
