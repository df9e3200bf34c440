/* queue.h - bounded blocking queue of pointers between pipeline stages.
 *
 * The bound is the back-pressure: a producer blocks while the queue is full,
 * so a slow consumer slows the producer instead of growing memory. Closing
 * the queue wakes everyone: producers fail, consumers drain what is left and
 * then receive NULL.
 *
 * Ownership: a pushed item belongs to the queue until a consumer pops it.
 * Thread-safety: all functions may be called from any thread, except
 * al_queue_init/destroy (owner thread, no other user).
 */
#ifndef AL_QUEUE_H
#define AL_QUEUE_H

#include "error.h"

#include <pthread.h>
#include <stddef.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **items;
    size_t *sizes; /* bytes each item weighs (al_queue_push_sized), else 0 */
    size_t cap, head, count;
    size_t bytes, byte_cap; /* weight held, and its bound (SIZE_MAX: none) */
    int closed;
} al_queue_t;

/* @return AL_ERR_OK or NOMEM. cap >= 1. */
al_err_t al_queue_init(al_queue_t *q, size_t cap);

/* Blocks while full. @return 1 when queued, 0 when the queue is closed (the
 * caller keeps the item). */
int al_queue_push(al_queue_t *q, void *item);

/* Like al_queue_push, for an item that weighs `bytes`: also blocks while the
 * queue holds something and the weight would pass its byte bound, so a few
 * huge items cannot hold as much memory as many small ones may. */
int al_queue_push_sized(al_queue_t *q, void *item, size_t bytes);

/* Bounds the weight the queue holds (see al_queue_push_sized). Before use. */
void al_queue_set_byte_cap(al_queue_t *q, size_t byte_cap);

/* Blocks while empty. @return the oldest item, or NULL once closed and empty. */
void *al_queue_pop(al_queue_t *q);

/* Takes the oldest item without waiting. @return 1 with *item set, 0 when
 * empty but open, -1 when closed and empty. */
int al_queue_try_pop(al_queue_t *q, void **item);

/* Refuses further pushes; pops continue until empty. Idempotent. */
void al_queue_close(al_queue_t *q);

/* Frees the queue's storage; items still inside are not touched. */
void al_queue_destroy(al_queue_t *q);

#endif
