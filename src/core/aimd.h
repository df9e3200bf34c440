/* aimd.h - adaptive concurrency: how many requests to keep in flight.
 *
 * Additive increase, multiplicative decrease, as TCP does for its window.
 * The limit starts at a useful value and grows by one each time a request
 * completes while the window was full and its latency was normal (within
 * twice the moving average); it is cut by a factor 0.9 on a sign of
 * congestion: 429, 503, a timeout, or latency far above the average. The
 * limit stays within [1, max]. Cuts are at most one per round trip, so a burst
 * of failures from one overloaded moment does not collapse the window.
 *
 * Thread-safety: one owner (the sender thread).
 */
#ifndef AL_AIMD_H
#define AL_AIMD_H

#include <stdint.h>

#define AL_AIMD_START      8
#define AL_MAX_CONCURRENCY 64

typedef struct {
    double limit;       /* current window; use al_aimd_window() */
    uint32_t max;       /* --concurrency */
    double avg_ms;      /* moving average of normal latencies, 0 until the first */
    uint64_t cut_until; /* no further cut before this time (ms) */
} al_aimd_t;

/* Starts at min(AL_AIMD_START, max). A fixed window: pass adaptive = 0 and
 * the window stays at max. */
void al_aimd_init(al_aimd_t *a, uint32_t max, int adaptive);

/* @return the number of requests allowed in flight now (>= 1). */
uint32_t al_aimd_window(const al_aimd_t *a);

/* A request succeeded after latency_ms; in_flight is how many were in
 * flight when it completed (itself included). */
void al_aimd_success(al_aimd_t *a, uint64_t latency_ms, uint32_t in_flight, uint64_t now_ms);

/* A request met congestion (429, 503, timeout) at now_ms. */
void al_aimd_congestion(al_aimd_t *a, uint64_t now_ms);

#endif
