/* aimd.c - additive increase / multiplicative decrease of the window.
 *
 * A fixed window (adaptive off) is the same struct with limit = max and the
 * update functions doing nothing, so the sender has one code path. */
#include "aimd.h"

void al_aimd_init(al_aimd_t *a, uint32_t max, int adaptive)
{
    if (max < 1)
        max = 1;
    a->max = max;
    a->limit = adaptive ? (max < AL_AIMD_START ? max : AL_AIMD_START) : max;
    a->avg_ms = adaptive ? 0 : -1; /* -1 marks a fixed window */
    a->cut_until = 0;
}

uint32_t al_aimd_window(const al_aimd_t *a)
{
    uint32_t w = (uint32_t)a->limit;
    return w < 1 ? 1 : w;
}

void al_aimd_success(al_aimd_t *a, uint64_t latency_ms, uint32_t in_flight, uint64_t now_ms)
{
    double lat = (double)latency_ms;

    if (a->avg_ms < 0)
        return;
    if (a->avg_ms > 0 && lat > 4 * a->avg_ms + 50) {
        /* Far slower than usual: the server is queueing our requests. */
        al_aimd_congestion(a, now_ms);
        return;
    }
    a->avg_ms = a->avg_ms == 0 ? lat : 0.9 * a->avg_ms + 0.1 * lat;
    if (in_flight >= al_aimd_window(a) && lat <= 2 * a->avg_ms + 10 && a->limit < a->max)
        a->limit += 1;
}

void al_aimd_congestion(al_aimd_t *a, uint64_t now_ms)
{
    if (a->avg_ms < 0 || now_ms < a->cut_until)
        return;
    a->limit *= 0.9;
    if (a->limit < 1)
        a->limit = 1;
    /* one cut per round trip */
    a->cut_until = now_ms + (uint64_t)(a->avg_ms > 0 ? a->avg_ms : 100);
}
