/* test_sources.c - inputs with zip archives opened up: natural member
 * order, what is skipped, names, and refusals before anything is read. */
#include "fixtures.h"
#include "sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void)
{
    dir = fx_tempdir();
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

START_TEST(natural_order_compares_numbers_by_value)
{
    ck_assert_int_lt(al_natural_cmp("day#2.json.gz", "day#10.json.gz"), 0);
    ck_assert_int_gt(al_natural_cmp("day#10.json.gz", "day#9.json.gz"), 0);
    ck_assert_int_lt(al_natural_cmp("123_2026-01-01_9#0", "123_2026-01-01_10#0"), 0);
    ck_assert_int_lt(al_natural_cmp("a1b2", "a1b10"), 0);
    ck_assert_int_eq(al_natural_cmp("x007", "x7"), 0); /* equal by value; ties broken by caller */
    ck_assert_int_lt(al_natural_cmp("x", "x1"), 0);
    ck_assert_int_lt(al_natural_cmp("abc", "abd"), 0);
    ck_assert_int_eq(al_natural_cmp("same", "same"), 0);
    ck_assert_int_lt(al_natural_cmp("99999999999999999999", "100000000000000000000"), 0);
}
END_TEST

START_TEST(only_event_members_are_inputs)
{
    ck_assert(al_member_is_event("a.json.gz"));
    ck_assert(al_member_is_event("123/123_2026-01-01_0#0.json.gz"));
    ck_assert(!al_member_is_event("123/"));
    ck_assert(!al_member_is_event("__MACOSX/._a.json.gz"));
    ck_assert(!al_member_is_event("x/__MACOSX/a.json"));
    ck_assert(!al_member_is_event(".DS_Store"));
    ck_assert(!al_member_is_event("sub/.hidden"));
    ck_assert(!al_member_is_event(""));
}
END_TEST

/* Files stay one input each; an archive becomes its event members, in
 * natural order, named archive:member; the rest is counted. */
START_TEST(archives_open_up_between_other_inputs)
{
    char *a = fx_path(dir, "a.ndjson"), *z = fx_path(dir, "x.zip"), *b = fx_path(dir, "b.ndjson");
    const char *paths[3] = {a, z, b};
    fx_member_t m[] = {
        {"2026/", NULL, 0, 0, 0},
        {"2026/day#10.json", "{}\n", 3, 0, 0},
        {"__MACOSX/2026/._day#10.json", "junk", 4, 0, 0},
        {"2026/day#9.json", "{}\n", 3, 1, 0},
        {"2026/.DS_Store", "junk", 4, 0, 0},
        {"2026/day#9b.json", "{}\n", 3, 1, 1},
    };
    al_sources_t s;
    al_diag_t d;
    char want[4096];

    fx_write(a, "{}\n", 3);
    fx_write(b, "{}\n", 3);
    fx_write_zip(z, m, sizeof(m) / sizeof(m[0]));
    ck_assert_int_eq(al_sources_expand(&s, paths, 3, &d), AL_ERR_OK);
    ck_assert_uint_eq(s.n, 5);
    ck_assert_uint_eq(s.nzips, 1);
    ck_assert_uint_eq(s.members_skipped, 3);
    ck_assert_str_eq(s.names[0], a);
    ck_assert_ptr_null(s.v[0].zip);
    snprintf(want, sizeof(want), "%s:2026/day#9.json", z);
    ck_assert_str_eq(s.names[1], want);
    snprintf(want, sizeof(want), "%s:2026/day#9b.json", z);
    ck_assert_str_eq(s.names[2], want);
    snprintf(want, sizeof(want), "%s:2026/day#10.json", z);
    ck_assert_str_eq(s.names[3], want);
    for (int i = 1; i <= 3; i++) {
        ck_assert_str_eq(s.files[i], z);
        ck_assert_ptr_nonnull(s.v[i].zip);
    }
    ck_assert_str_eq(s.names[4], b);
    al_sources_free(&s);
    ck_assert_uint_eq(s.n, 0);
    al_sources_free(&s); /* twice is fine */
    free(a);
    free(b);
    free(z);
}
END_TEST

START_TEST(an_archive_without_event_members_is_no_input)
{
    char *z = fx_path(dir, "empty.zip");
    const char *paths[1] = {z};
    fx_member_t m[] = {{"d/", NULL, 0, 0, 0}, {"__MACOSX/x", "j", 1, 0, 0}};
    al_sources_t s;
    al_diag_t d;
    fx_write_zip(z, m, 2);
    ck_assert_int_eq(al_sources_expand(&s, paths, 1, &d), AL_ERR_OK);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(s.members_skipped, 2);
    al_sources_free(&s);
    /* an empty archive as `zip` writes it: only the end record */
    fx_write(z, "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
    ck_assert_int_eq(al_sources_expand(&s, paths, 1, &d), AL_ERR_OK);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(s.nzips, 1);
    al_sources_free(&s);
    free(z);
}
END_TEST

/* What cannot be read is refused when the archive is opened, naming it. */
START_TEST(refusals_name_the_archive_and_member)
{
    char *z = fx_path(dir, "bad.zip"), *missing = fx_path(dir, "nope.zip");
    const char *paths[1] = {z}, *mp[1] = {missing};
    al_sources_t s;
    al_diag_t d;

    /* a zip's magic, then nothing a zip needs */
    static const char junk[] = "PK\x03\x04 and then garbage, no central directory";
    fx_write(z, junk, sizeof(junk) - 1);
    ck_assert_int_eq(al_sources_expand(&s, paths, 1, &d), AL_ERR_ZIP_CORRUPT);
    ck_assert_str_eq(d.path, z);
    ck_assert_uint_eq(s.n, 0);
    /* a missing file is the reader's to report: it stays one input */
    ck_assert_int_eq(al_sources_expand(&s, mp, 1, &d), AL_ERR_OK);
    ck_assert_uint_eq(s.n, 1);
    al_sources_free(&s);
    free(z);
    free(missing);
}
END_TEST

static Suite *sources_suite(void)
{
    Suite *s = suite_create("sources");
    TCase *tc = tcase_create("sources");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, natural_order_compares_numbers_by_value);
    tcase_add_test(tc, only_event_members_are_inputs);
    tcase_add_test(tc, archives_open_up_between_other_inputs);
    tcase_add_test(tc, an_archive_without_event_members_is_no_input);
    tcase_add_test(tc, refusals_name_the_archive_and_member);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(sources_suite());
}
