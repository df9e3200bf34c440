/* test_retry.c - backoff bounds, growth, cap, Retry-After. */
#include "fixtures.h"
#include "retry.h"

START_TEST(full_jitter_stays_within_the_doubling_ceiling)
{
    al_rng_t rng;
    al_rng_seed(&rng, 7);
    for (uint32_t attempt = 1; attempt <= 12; attempt++) {
        uint64_t ceiling = 250ULL << (attempt - 1);
        uint64_t max_seen = 0;
        if (ceiling > 60000)
            ceiling = 60000;
        for (int i = 0; i < 2000; i++) {
            uint64_t d = al_backoff_delay_ms(attempt, 250, 60000, 0, &rng);
            ck_assert_uint_le(d, ceiling);
            if (d > max_seen)
                max_seen = d;
        }
        /* the draw covers the range: the largest of 2000 is near the top */
        ck_assert_uint_ge(max_seen, ceiling * 9 / 10);
    }
}
END_TEST

START_TEST(spreads_delays_instead_of_repeating_one)
{
    al_rng_t rng;
    uint64_t low = 0, high = 0;
    al_rng_seed(&rng, 99);
    for (int i = 0; i < 1000; i++) {
        uint64_t d = al_backoff_delay_ms(5, 250, 60000, 0, &rng); /* ceiling 4000 */
        if (d < 2000)
            low++;
        else
            high++;
    }
    ck_assert_uint_gt(low, 400);
    ck_assert_uint_gt(high, 400);
}
END_TEST

START_TEST(retry_after_sets_the_minimum_delay)
{
    al_rng_t rng;
    al_rng_seed(&rng, 1);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_ge(al_backoff_delay_ms(1, 250, 60000, 7000, &rng), 7000);
}
END_TEST

START_TEST(parses_retry_after_seconds_and_dates)
{
    ck_assert_uint_eq(al_retry_after_ms("30", 0), 30000);
    ck_assert_uint_eq(al_retry_after_ms(" 2", 0), 2000);
    ck_assert_uint_eq(al_retry_after_ms(NULL, 0), 0);
    ck_assert_uint_eq(al_retry_after_ms("soon", 0), 0);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    ck_assert_uint_eq(al_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7000);
    ck_assert_uint_eq(al_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0);
    ck_assert_uint_eq(al_retry_after_ms("99999999", 0), 86400000);
}
END_TEST

static Suite *retry_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, full_jitter_stays_within_the_doubling_ceiling);
    tcase_add_test(tc, spreads_delays_instead_of_repeating_one);
    tcase_add_test(tc, retry_after_sets_the_minimum_delay);
    tcase_add_test(tc, parses_retry_after_seconds_and_dates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(retry_suite());
}
