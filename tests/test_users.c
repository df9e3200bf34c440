/* test_users.c - one identification per user from export rows. */
#include "fixtures.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Derives from the given files. @return the output text (malloc'd). */
static char *derive(const char *const *paths, uint32_t n, al_users_stats_t *st)
{
    al_sources_t src;
    al_diag_t d;
    char *out = fx_path(dir, "users.ndjson"), *text;
    size_t len;
    ck_assert_int_eq(al_sources_expand(&src, paths, n, &d), AL_ERR_OK);
    ck_assert_int_eq(al_users_from_export(&src, out, NULL, st, &d), AL_ERR_OK);
    al_sources_free(&src);
    text = fx_read(out, &len);
    free(out);
    return text;
}

START_TEST(the_latest_row_of_each_user_gives_its_properties)
{
    static const char rows[] =
        "{\"user_id\":\"u-1\",\"event_time\":\"2024-01-02 "
        "00:00:00.5\",\"user_properties\":{\"a\":1}}\n"
        "{\"user_id\":\"u-2\",\"device_id\":\"d-2\",\"event_time\":\"2024-01-01 00:00:00\","
        "\"user_properties\":{\"b\":\"x&y\"}}\n"
        "{\"user_id\":\"u-1\",\"event_time\":\"2024-01-01 "
        "00:00:00\",\"user_properties\":{\"a\":0}}\n"
        "{\"user_id\":null,\"device_id\":\"d-3\",\"event_time\":null,"
        "\"client_event_time\":\"2024-01-03 00:00:00\",\"user_properties\":{ \"c\" : [1,2] }}\n"
        "{\"user_id\":\"u-1\",\"event_time\":\"2024-01-02 "
        "00:00:00.5\",\"user_properties\":{\"a\":2}}\n"
        "{\"user_id\":\"u-4\",\"event_time\":\"2024-01-05 00:00:00\",\"user_properties\":{}}\n"
        "{\"user_id\":\"u-5\",\"event_time\":\"not a time\",\"user_properties\":{\"e\":1}}\n"
        "{\"user_id\":\"\",\"device_id\":\"\",\"event_time\":\"2024-01-05 00:00:00\","
        "\"user_properties\":{\"f\":1}}\n"
        "{\"device_id\":\"u-1\",\"event_time\":\"2024-02-01 "
        "00:00:00\",\"user_properties\":{\"g\":1}}\n"
        "not json\n"
        "\n";
    const char *paths[1];
    char *in = fx_path(dir, "rows.ndjson"), *text;
    al_users_stats_t st;

    fx_write(in, rows, strlen(rows));
    paths[0] = in;
    text = derive(paths, 1, &st);
    /* input order of the winning rows; a tie goes to the later row; a
     * device_id equal to a user_id is another user */
    ck_assert_str_eq(text,
                     "{\"user_id\":\"u-2\",\"device_id\":\"d-2\",\"user_properties\":{\"$set\":"
                     "{\"b\":\"x&y\"}}}\n"
                     "{\"device_id\":\"d-3\",\"user_properties\":{\"$set\":{ \"c\" : [1,2] }}}\n"
                     "{\"user_id\":\"u-1\",\"user_properties\":{\"$set\":{\"a\":2}}}\n"
                     "{\"device_id\":\"u-1\",\"user_properties\":{\"$set\":{\"g\":1}}}\n");
    ck_assert_uint_eq(st.rows, 11);
    ck_assert_uint_eq(st.users, 4);
    ck_assert_uint_eq(st.rows_older, 2);
    ck_assert_uint_eq(st.rows_without, 5);
    free(text);
    free(in);
}
END_TEST

START_TEST(rows_spread_over_compressed_files_and_many_users)
{
    char *a = fx_path(dir, "a.ndjson.gz"), *b = fx_path(dir, "b.ndjson.zst"), *text;
    const char *paths[2] = {a, b};
    size_t cap = 4000 * 120, la = 0, lb = 0;
    char *ta = malloc(cap), *tb = malloc(cap);
    al_users_stats_t st;
    uint64_t lines = 0;

    /* 3000 users; in a.gz each has an early row, in b.zst a later one for
     * the even ones: those come from b, the odd ones from a */
    for (int u = 0; u < 3000; u++)
        la += (size_t)sprintf(ta + la,
                              "{\"user_id\":\"user-%04d\",\"event_time\":\"2024-01-01 00:00:00\","
                              "\"user_properties\":{\"v\":\"a\"}}\n",
                              u);
    for (int u = 0; u < 3000; u += 2)
        lb += (size_t)sprintf(tb + lb,
                              "{\"user_id\":\"user-%04d\",\"event_time\":\"2024-01-01 00:00:01\","
                              "\"user_properties\":{\"v\":\"b\"}}\n",
                              u);
    fx_write_gzip(a, ta, la, 10000, 0);
    fx_write_zstd(b, tb, lb, 8192);
    text = derive(paths, 2, &st);
    ck_assert_uint_eq(st.users, 3000);
    ck_assert_uint_eq(st.rows_older, 1500);
    for (char *p = text; *p; p = strchr(p, '\n') + 1) {
        int u;
        char v;
        ck_assert_int_eq(
            sscanf(p, "{\"user_id\":\"user-%d\",\"user_properties\":{\"$set\":{\"v\":\"%c", &u, &v),
            2);
        ck_assert_int_eq(v, u % 2 ? 'a' : 'b');
        lines++;
    }
    ck_assert_uint_eq(lines, 3000);
    free(text);
    free(ta);
    free(tb);
    free(a);
    free(b);
}
END_TEST

static Suite *users_suite(void)
{
    Suite *s = suite_create("users");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, the_latest_row_of_each_user_gives_its_properties);
    tcase_add_test(tc, rows_spread_over_compressed_files_and_many_users);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(users_suite());
}
