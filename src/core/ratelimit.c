/* ratelimit.c - token bucket refilled lazily from the elapsed time. */
#include "ratelimit.h"

void al_bucket_init(al_bucket_t *b, double rate, double burst, uint64_t now_ms)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ms = now_ms;
}

uint64_t al_bucket_take(al_bucket_t *b, double n, uint64_t now_ms)
{
    double missing;

    if (b->rate <= 0)
        return 0;
    if (now_ms > b->last_ms) {
        b->tokens += b->rate * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ms = now_ms;
    }
    if (n > b->burst)
        n = b->burst; /* a batch larger than the bucket waits for a full one */
    if (b->tokens >= n) {
        b->tokens -= n;
        return 0;
    }
    missing = n - b->tokens;
    return (uint64_t)(missing * 1000.0 / b->rate) + 1;
}
