/* test_fileid.c - the fingerprint of an input file: what it sees of a file,
 * and that a FIFO or a missing file is answered, never waited on. */
#include "fileid.h"
#include "fixtures.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BIG (300 * 1024) /* more than the two 64 KiB spans */

static char *big_file(const char *dir, const char *name, char first, char middle, char last)
{
    char *path = fx_path(dir, name);
    char *data = malloc(BIG);
    ck_assert_ptr_nonnull(data);
    memset(data, 'x', BIG);
    data[0] = first;
    data[BIG / 2] = middle;
    data[BIG - 1] = last;
    fx_write(path, data, BIG);
    free(data);
    return path;
}

static al_file_identity_t identity_of(const char *path)
{
    al_file_identity_t id;
    al_diag_t d = {0};
    ck_assert_int_eq(al_file_identity(path, &id, &d), AL_ERR_OK);
    return id;
}

START_TEST(same_bytes_same_fingerprint_and_ends_are_seen)
{
    char *dir = fx_tempdir();
    char *a = big_file(dir, "a", 'a', 'm', 'z');
    char *copy = big_file(dir, "copy", 'a', 'm', 'z');
    char *head = big_file(dir, "head", 'A', 'm', 'z');
    char *tail = big_file(dir, "tail", 'a', 'm', 'Z');
    char *middle = big_file(dir, "middle", 'a', 'M', 'z');
    al_file_identity_t ia = identity_of(a), ic = identity_of(copy);
    al_file_identity_t ih = identity_of(head), it = identity_of(tail);
    al_file_identity_t im = identity_of(middle);

    ck_assert_int_eq(ia.regular, 1);
    ck_assert_uint_eq(ia.size, BIG);
    ck_assert(ia.mtime_ns > 0);
    ck_assert_uint_eq(ia.head, ic.head);
    ck_assert_uint_eq(ia.tail, ic.tail);
    ck_assert_uint_ne(ia.head, ih.head);
    ck_assert_uint_eq(ia.tail, ih.tail);
    ck_assert_uint_eq(ia.head, it.head);
    ck_assert_uint_ne(ia.tail, it.tail);
    /* 128 KiB read at most: the middle of a large file is not */
    ck_assert_uint_eq(ia.head, im.head);
    ck_assert_uint_eq(ia.tail, im.tail);
    free(a);
    free(copy);
    free(head);
    free(tail);
    free(middle);
    fx_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(a_fifo_is_not_fingerprinted_and_not_waited_on)
{
    char *dir = fx_tempdir();
    char *fifo = fx_path(dir, "fifo");
    al_file_identity_t id;
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    id = identity_of(fifo);
    ck_assert_int_eq(id.regular, 0);
    ck_assert_uint_eq(id.size, 0);
    ck_assert_uint_eq(id.head, 0);
    free(fifo);
    fx_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(a_missing_file_is_an_io_error_naming_it)
{
    char *dir = fx_tempdir();
    char *gone = fx_path(dir, "gone.json");
    al_file_identity_t id;
    al_diag_t d = {0};
    ck_assert_int_eq(al_file_identity(gone, &id, &d), AL_ERR_IO);
    ck_assert_int_eq(d.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(d.path, "gone.json"));
    free(gone);
    fx_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *fileid_suite(void)
{
    Suite *s = suite_create("fileid");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, same_bytes_same_fingerprint_and_ends_are_seen);
    tcase_add_test(tc, a_fifo_is_not_fingerprinted_and_not_waited_on);
    tcase_add_test(tc, a_missing_file_is_an_io_error_naming_it);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(fileid_suite());
}
