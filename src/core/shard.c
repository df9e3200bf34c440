/* shard.c - the plan: names sorted, sizes laid end to end, the total cut at
 * floor(k * total / count) for k = 0..count. */
#include "shard.h"

#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b, void *ctx)
{
    const al_sources_t *src = ctx;
    const uint32_t *x = a, *y = b;
    return strcmp(src->v[*x].name, src->v[*y].name);
}

/* Boundary k of count over total bytes. */
static uint64_t bound(uint64_t total, uint32_t k, uint32_t count)
{
    return (uint64_t)(((unsigned __int128)total * k) / count);
}

/* The copy whose range holds byte x. */
static uint32_t owner(uint64_t total, uint64_t x, uint32_t count)
{
    uint32_t k;
    if (total == 0)
        return 0;
    k = (uint32_t)(((unsigned __int128)x * count) / total);
    if (k >= count)
        k = count - 1;
    while (k > 0 && bound(total, k, count) > x) /* rounding */
        k--;
    while (k + 1 < count && bound(total, k + 1, count) <= x)
        k++;
    return k;
}

al_err_t al_shard_plan(const al_sources_t *src, uint32_t index, uint32_t count, al_part_t *parts,
                       al_diag_t *diag)
{
    uint32_t *order;
    uint64_t total = 0, at = 0, lo, hi;

    memset(diag, 0, sizeof(*diag));
    for (uint32_t i = 0; i < src->n; i++) {
        if (al_input_is_stream(src->v[i].path)) {
            al_diag_set(diag, src->v[i].name, 0);
            snprintf(diag->detail, sizeof(diag->detail),
                     "a stream cannot be cut among copies (use --shard-by device)");
            return AL_ERR_INVALID_ARG;
        }
        total += src->v[i].stored;
    }
    order = malloc(sizeof(*order) * (src->n ? src->n : 1));
    if (order == NULL)
        return AL_ERR_NOMEM;
    for (uint32_t i = 0; i < src->n; i++)
        order[i] = i;
    qsort_r(order, src->n, sizeof(*order), by_name, (void *)src);
    lo = bound(total, index, count);
    hi = bound(total, index + 1, count);
    for (uint32_t k = 0; k < src->n; k++) {
        const al_source_t *s = &src->v[order[k]];
        al_part_t *p = &parts[order[k]];
        uint64_t a = at, b = at + s->stored;
        *p = (al_part_t){0, 0, AL_PART_END};
        if (s->splittable && s->stored > 0) {
            uint64_t from = a > lo ? a : lo, to = b < hi ? b : hi;
            if (from < to) {
                p->take = 1;
                p->start = from - a;
                p->end = to == b ? AL_PART_END : to - a;
            }
        } else {
            p->take = owner(total, a + s->stored / 2, count) == index;
        }
        at = b;
    }
    free(order);
    return AL_ERR_OK;
}
