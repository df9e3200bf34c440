/* stats.c - merging counters, reading the live ones, and the names of the
 * failure causes. The counter lists are X-macros in stats.h: adding a
 * counter is one line there. */
#include "stats.h"

#include <inttypes.h>
#include <stdatomic.h>

uint64_t al_live_done_bytes(al_live_t *l, int sending)
{
#define LOAD(f) atomic_load_explicit(&l->f, memory_order_relaxed)
    uint64_t parsed = LOAD(src_parsed), lines = LOAD(lines_read);
    uint64_t resolved = LOAD(events_sent) + LOAD(rejected) + LOAD(failed) + LOAD(skipped);
#undef LOAD
    if (!sending || lines == 0 || resolved >= lines)
        return parsed;
    return (uint64_t)((double)parsed * ((double)resolved / (double)lines));
}

void al_stats_merge(al_stats_t *d, const al_stats_t *s)
{
#define AL_STATS_ADD(name) d->name += s->name;
    AL_STATS_COUNTERS(AL_STATS_ADD)
#undef AL_STATS_ADD
    for (int i = 0; i < AL_REASON_COUNT; i++)
        d->rejected_by_reason[i] += s->rejected_by_reason[i];
    for (int i = 0; i < AL_FAIL_COUNT; i++)
        d->failed_by_cause[i] += s->failed_by_cause[i];
}

void al_live_read(al_live_t *l, al_live_view_t *v)
{
#define AL_LIVE_LOAD(name) v->name = atomic_load_explicit(&l->name, memory_order_relaxed);
    AL_LIVE_COUNTERS(AL_LIVE_LOAD)
#undef AL_LIVE_LOAD
    v->in_flight = atomic_load_explicit(&l->in_flight, memory_order_relaxed);
    v->window = atomic_load_explicit(&l->window, memory_order_relaxed);
    v->last_error = atomic_load_explicit(&l->last_error, memory_order_relaxed);
}

const char *al_fail_cause_key(al_fail_cause_t c)
{
    switch (c) {
#define AL_FAIL_KEY(name, key, text)                                                               \
    case AL_FAIL_##name:                                                                           \
        return key;
        AL_FAIL_CAUSES(AL_FAIL_KEY)
#undef AL_FAIL_KEY
    case AL_FAIL_COUNT:
        break;
    }
    return "?";
}

const char *al_fail_cause_text(al_fail_cause_t c)
{
    switch (c) {
#define AL_FAIL_TEXT(name, key, text)                                                              \
    case AL_FAIL_##name:                                                                           \
        return text;
        AL_FAIL_CAUSES(AL_FAIL_TEXT)
#undef AL_FAIL_TEXT
    case AL_FAIL_COUNT:
        break;
    }
    return "?";
}
