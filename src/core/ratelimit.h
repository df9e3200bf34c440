/* ratelimit.h - the client-side events/s ceiling (--rate).
 *
 * A token bucket, in the style of curl's lib/ratelimit: it holds at most
 * `burst` tokens, gains `rate` tokens a second, and a batch of n events may
 * go when n tokens are there. Time is passed in, never read, so the bucket is
 * tested with a fake clock.
 *
 * Thread-safety: one owner (the sender thread).
 */
#ifndef AL_RATELIMIT_H
#define AL_RATELIMIT_H

#include <stdint.h>

typedef struct {
    double rate;  /* tokens per second; 0 = unlimited */
    double burst; /* bucket size */
    double tokens;
    uint64_t last_ms;
} al_bucket_t;

/* Starts full at now_ms. With burst = one batch, no window of T seconds
 * lets more than rate * T + burst tokens go, the first one included (a
 * bucket as deep as a second's rate would let twice the rate go in the
 * first second). */
void al_bucket_init(al_bucket_t *b, double rate, double burst, uint64_t now_ms);

/* Takes n tokens if they are there. @return 0 when taken, else the ms to
 * wait until they will be (nothing is taken then). Unlimited buckets always
 * return 0. */
uint64_t al_bucket_take(al_bucket_t *b, double n, uint64_t now_ms);

#endif
