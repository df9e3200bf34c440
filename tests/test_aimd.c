/* test_aimd.c - the concurrency window grows, shrinks and stays in bounds. */
#include "aimd.h"
#include "fixtures.h"

START_TEST(starts_at_eight_and_grows_by_one_per_full_window_round)
{
    al_aimd_t a;
    al_aimd_init(&a, 64, 1);
    ck_assert_uint_eq(al_aimd_window(&a), 8);
    al_aimd_success(&a, 20, 8, 0);
    ck_assert_uint_eq(al_aimd_window(&a), 9);
    /* not at full window: no growth */
    al_aimd_success(&a, 20, 3, 0);
    ck_assert_uint_eq(al_aimd_window(&a), 9);
    for (int i = 0; i < 200; i++)
        al_aimd_success(&a, 20, al_aimd_window(&a), 0);
    ck_assert_uint_eq(al_aimd_window(&a), 64);
}
END_TEST

START_TEST(cuts_by_a_tenth_on_congestion_once_per_round_trip)
{
    al_aimd_t a;
    al_aimd_init(&a, 64, 1);
    for (int i = 0; i < 200; i++)
        al_aimd_success(&a, 100, al_aimd_window(&a), 0);
    ck_assert_uint_eq(al_aimd_window(&a), 64);
    al_aimd_congestion(&a, 1000);
    ck_assert_uint_eq(al_aimd_window(&a), 57);
    al_aimd_congestion(&a, 1050); /* same round trip: ignored */
    ck_assert_uint_eq(al_aimd_window(&a), 57);
    al_aimd_congestion(&a, 1200);
    ck_assert_uint_eq(al_aimd_window(&a), 51);
    for (uint64_t t = 2000; t < 200000; t += 1000)
        al_aimd_congestion(&a, t);
    ck_assert_uint_eq(al_aimd_window(&a), 1);
}
END_TEST

START_TEST(treats_a_latency_spike_as_congestion)
{
    al_aimd_t a;
    al_aimd_init(&a, 64, 1);
    for (int i = 0; i < 10; i++)
        al_aimd_success(&a, 20, al_aimd_window(&a), 0);
    ck_assert_uint_eq(al_aimd_window(&a), 18);
    al_aimd_success(&a, 2000, 18, 5000);
    ck_assert_uint_eq(al_aimd_window(&a), 16);
}
END_TEST

START_TEST(a_fixed_window_never_moves)
{
    al_aimd_t a;
    al_aimd_init(&a, 4, 0);
    al_aimd_success(&a, 10, 4, 0);
    al_aimd_congestion(&a, 100);
    ck_assert_uint_eq(al_aimd_window(&a), 4);
    al_aimd_init(&a, 3, 1); /* adaptive below the start value starts at the cap */
    ck_assert_uint_eq(al_aimd_window(&a), 3);
}
END_TEST

static Suite *aimd_suite(void)
{
    Suite *s = suite_create("aimd");
    TCase *tc = tcase_create("aimd");
    tcase_add_test(tc, starts_at_eight_and_grows_by_one_per_full_window_round);
    tcase_add_test(tc, cuts_by_a_tenth_on_congestion_once_per_round_trip);
    tcase_add_test(tc, treats_a_latency_spike_as_congestion);
    tcase_add_test(tc, a_fixed_window_never_moves);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(aimd_suite());
}
