/* test_ratelimit.c - the token bucket under a fake clock. */
#include "fixtures.h"
#include "ratelimit.h"

START_TEST(lets_a_full_bucket_go_at_once_then_waits)
{
    al_bucket_t b;
    al_bucket_init(&b, 1000, 2000, 0);
    ck_assert_uint_eq(al_bucket_take(&b, 2000, 0), 0);
    /* empty: 500 tokens need 500 ms at 1000/s */
    ck_assert_uint_eq(al_bucket_take(&b, 500, 0), 501);
    ck_assert_uint_eq(al_bucket_take(&b, 500, 499), 2);
    ck_assert_uint_eq(al_bucket_take(&b, 500, 500), 0);
}
END_TEST

START_TEST(holds_the_long_run_rate)
{
    al_bucket_t b;
    uint64_t now = 0, sent = 0;
    al_bucket_init(&b, 5000, 2000, 0);
    while (now < 60000) {
        uint64_t wait = al_bucket_take(&b, 2000, now);
        if (wait == 0)
            sent += 2000;
        else
            now += wait;
    }
    /* 60 s at 5000/s plus the initial burst */
    ck_assert_uint_ge(sent, 300000);
    ck_assert_uint_le(sent, 302000 + 2000);
}
END_TEST

/* A sender taking batches as soon as the bucket lets them go: no sliding
 * one-second window holds more than the rate plus one batch, the first
 * second included. */
START_TEST(no_second_holds_more_than_the_rate_plus_one_batch)
{
    static uint64_t at[64];
    al_bucket_t b;
    uint64_t now = 0;
    size_t n = 0;
    al_bucket_init(&b, 20000, 2000, 0);
    while (n < 64) {
        uint64_t wait = al_bucket_take(&b, 2000, now);
        if (wait == 0)
            at[n++] = now;
        else
            now += wait;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t events = 0;
        for (size_t j = i; j < n && at[j] < at[i] + 1000; j++)
            events += 2000;
        ck_assert_uint_le(events, 20000 + 2000);
    }
}
END_TEST

START_TEST(never_fills_beyond_its_burst)
{
    al_bucket_t b;
    al_bucket_init(&b, 100, 200, 0);
    ck_assert_uint_eq(al_bucket_take(&b, 200, 1000000), 0);
    ck_assert_uint_gt(al_bucket_take(&b, 1, 1000000), 0);
}
END_TEST

START_TEST(unlimited_buckets_never_wait)
{
    al_bucket_t b;
    al_bucket_init(&b, 0, 0, 0);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(al_bucket_take(&b, 2000, 0), 0);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("bucket");
    tcase_add_test(tc, lets_a_full_bucket_go_at_once_then_waits);
    tcase_add_test(tc, holds_the_long_run_rate);
    tcase_add_test(tc, never_fills_beyond_its_burst);
    tcase_add_test(tc, no_second_holds_more_than_the_rate_plus_one_batch);
    tcase_add_test(tc, unlimited_buckets_never_wait);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(ratelimit_suite());
}
