/* queue.c - a ring buffer under one mutex with two condition variables.
 *
 * Items are big (a chunk of megabytes, a batch of 2000 events), so the queue
 * moves a few hundred items per second at most: one mutex is plenty and keeps
 * the code obviously correct. */
#include "queue.h"

#include <stdint.h>
#include <stdlib.h>

al_err_t al_queue_init(al_queue_t *q, size_t cap)
{
    q->items = calloc(cap ? cap : 1, sizeof(void *));
    q->sizes = calloc(cap ? cap : 1, sizeof(size_t));
    if (q->items == NULL || q->sizes == NULL) {
        free(q->items);
        free(q->sizes);
        return AL_ERR_NOMEM;
    }
    q->bytes = 0;
    q->byte_cap = SIZE_MAX;
    q->cap = cap ? cap : 1;
    q->head = q->count = 0;
    q->closed = 0;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return AL_ERR_OK;
}

void al_queue_set_byte_cap(al_queue_t *q, size_t byte_cap)
{
    q->byte_cap = byte_cap;
}

int al_queue_push(al_queue_t *q, void *item)
{
    return al_queue_push_sized(q, item, 0);
}

int al_queue_push_sized(al_queue_t *q, void *item, size_t bytes)
{
    int ok = 0;
    pthread_mutex_lock(&q->lock);
    while ((q->count == q->cap || (q->count > 0 && q->bytes + bytes > q->byte_cap)) && !q->closed)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (!q->closed) {
        q->items[(q->head + q->count) % q->cap] = item;
        q->sizes[(q->head + q->count) % q->cap] = bytes;
        q->bytes += bytes;
        q->count++;
        ok = 1;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void *al_queue_pop(al_queue_t *q)
{
    void *item = NULL;
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->count > 0) {
        item = q->items[q->head];
        q->bytes -= q->sizes[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_broadcast(&q->not_full); /* weights differ: any may fit now */
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

int al_queue_try_pop(al_queue_t *q, void **item)
{
    int rc;
    pthread_mutex_lock(&q->lock);
    if (q->count > 0) {
        *item = q->items[q->head];
        q->bytes -= q->sizes[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_broadcast(&q->not_full);
        rc = 1;
    } else {
        rc = q->closed ? -1 : 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void al_queue_close(al_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void al_queue_destroy(al_queue_t *q)
{
    free(q->items);
    free(q->sizes);
    q->items = NULL;
    q->sizes = NULL;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}
