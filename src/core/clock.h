/* clock.h - the one monotonic clock of ampload: backoff, deadlines,
 * latency, elapsed time and rates all read it. Never the wall clock, which
 * jumps. Thread-safety: any thread. */
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

#endif
