/* retry.c - backoff arithmetic and Retry-After parsing.
 *
 * Kept free of clocks and threads: the sender passes in the attempt number,
 * the server's wish and a random state, and gets a number back. */
#include "retry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void al_rng_seed(al_rng_t *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

uint64_t al_rng_upto(al_rng_t *r, uint64_t n)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return n == UINT64_MAX ? x : x % (n + 1);
}

uint64_t al_backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t cap_ms,
                             uint64_t retry_after_ms, al_rng_t *rng)
{
    uint64_t ceiling = base_ms;
    uint64_t d;

    for (uint32_t i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    d = al_rng_upto(rng, ceiling);
    return d < retry_after_ms ? retry_after_ms : d;
}

uint64_t al_retry_after_ms(const char *value, int64_t now_unix_s)
{
    char *end;
    unsigned long long secs;
    struct tm tm;

    if (value == NULL)
        return 0;
    while (*value == ' ')
        value++;
    if (*value >= '0' && *value <= '9') {
        secs = strtoull(value, &end, 10);
        if (secs > 86400)
            secs = 86400; /* a day: beyond any sensible wish */
        return (uint64_t)secs * 1000;
    }
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    memset(&tm, 0, sizeof(tm));
    if (strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL) {
        int64_t at = (int64_t)timegm(&tm);
        return at > now_unix_s ? (uint64_t)(at - now_unix_s) * 1000 : 0;
    }
    return 0;
}
