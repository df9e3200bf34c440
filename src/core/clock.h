/* clock.h - the one monotonic clock of ampload: backoff, deadlines,
 * latency, elapsed time and rates all read it. Never the wall clock, which
 * jumps. And the one calendar rule, for the UTC times of exports.
 * Thread-safety: any thread. */
#ifndef AL_CLOCK_H
#define AL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* @return milliseconds on CLOCK_MONOTONIC. */
static inline uint64_t al_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* @return seconds on CLOCK_MONOTONIC, with fractions. */
static inline double al_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* @return the days since 1970-01-01 of a proleptic Gregorian date (month
 * 1..12, day 1..31; negative before 1970): H. Hinnant's days_from_civil. */
static inline int64_t al_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

#endif
