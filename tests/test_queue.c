/* test_queue.c - the bounded queue: order, back-pressure, close semantics. */
#include "fixtures.h"
#include "queue.h"

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

START_TEST(delivers_items_in_order)
{
    al_queue_t q;
    ck_assert_int_eq(al_queue_init(&q, 3), AL_ERR_OK);
    for (intptr_t i = 1; i <= 3; i++)
        ck_assert_int_eq(al_queue_push(&q, (void *)i), 1);
    for (intptr_t i = 1; i <= 3; i++)
        ck_assert_ptr_eq(al_queue_pop(&q), (void *)i);
    al_queue_destroy(&q);
}
END_TEST

static al_queue_t bq;
static _Atomic int pushed;

static void *producer(void *arg)
{
    (void)arg;
    for (intptr_t i = 1; i <= 10; i++) {
        if (!al_queue_push(&bq, (void *)i))
            break;
        pushed++;
    }
    return NULL;
}

START_TEST(blocks_the_producer_while_full)
{
    pthread_t t;
    ck_assert_int_eq(al_queue_init(&bq, 2), AL_ERR_OK);
    pthread_create(&t, NULL, producer, NULL);
    usleep(100 * 1000);
    ck_assert_int_eq(pushed, 2); /* the third push waits for room */
    for (intptr_t i = 1; i <= 10; i++)
        ck_assert_ptr_eq(al_queue_pop(&bq), (void *)i);
    pthread_join(t, NULL);
    ck_assert_int_eq(pushed, 10);
    al_queue_destroy(&bq);
}
END_TEST

static void *heavy_producer(void *arg)
{
    (void)arg;
    for (intptr_t i = 1; i <= 4; i++) {
        if (!al_queue_push_sized(&bq, (void *)i, 60))
            break;
        pushed++;
    }
    return NULL;
}

/* Room for 8 items but 100 bytes: items of 60 bytes go one at a time, and
 * an item heavier than the bound still passes into an empty queue. */
START_TEST(blocks_the_producer_while_the_bytes_would_pass_the_bound)
{
    pthread_t t;
    pushed = 0;
    ck_assert_int_eq(al_queue_init(&bq, 8), AL_ERR_OK);
    al_queue_set_byte_cap(&bq, 100);
    pthread_create(&t, NULL, heavy_producer, NULL);
    usleep(100 * 1000);
    ck_assert_int_eq(pushed, 1);
    for (intptr_t i = 1; i <= 4; i++)
        ck_assert_ptr_eq(al_queue_pop(&bq), (void *)i);
    pthread_join(t, NULL);
    ck_assert_int_eq(pushed, 4);
    ck_assert_int_eq(al_queue_push_sized(&bq, (void *)5, 500), 1);
    ck_assert_uint_eq(bq.bytes, 500);
    ck_assert_ptr_eq(al_queue_pop(&bq), (void *)5);
    ck_assert_uint_eq(bq.bytes, 0);
    al_queue_destroy(&bq);
}
END_TEST

START_TEST(close_drains_then_returns_null_and_refuses_pushes)
{
    al_queue_t q;
    al_queue_init(&q, 4);
    al_queue_push(&q, (void *)1);
    al_queue_close(&q);
    ck_assert_int_eq(al_queue_push(&q, (void *)2), 0);
    ck_assert_ptr_eq(al_queue_pop(&q), (void *)1);
    ck_assert_ptr_null(al_queue_pop(&q));
    al_queue_destroy(&q);
}
END_TEST

static void *closer(void *arg)
{
    usleep(50 * 1000);
    al_queue_close(arg);
    return NULL;
}

START_TEST(close_wakes_a_waiting_consumer)
{
    al_queue_t q;
    pthread_t t;
    al_queue_init(&q, 1);
    pthread_create(&t, NULL, closer, &q);
    ck_assert_ptr_null(al_queue_pop(&q));
    pthread_join(t, NULL);
    al_queue_destroy(&q);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, delivers_items_in_order);
    tcase_add_test(tc, blocks_the_producer_while_full);
    tcase_add_test(tc, blocks_the_producer_while_the_bytes_would_pass_the_bound);
    tcase_add_test(tc, close_drains_then_returns_null_and_refuses_pushes);
    tcase_add_test(tc, close_wakes_a_waiting_consumer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(queue_suite());
}
