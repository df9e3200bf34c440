/* test_reader.c - inputs to chunks: every byte once, in order, tagged right. */
#include "fixtures.h"
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

typedef struct {
    char *text; /* concatenated chunk data */
    size_t len;
    uint64_t lines;
    uint64_t chunks;
    uint64_t long_lines;
    uint64_t long_len; /* length of the last long line */
    uint64_t src;      /* sum of src_bytes: the input as stored */
    al_err_t err;
    al_diag_t diag;
} read_result_t;

/* Reads path to the end, checking each chunk's tags against what came before. */
static void read_all(const char *path, size_t chunk_bytes, read_result_t *res)
{
    al_reader_opts_t opts = {.chunk_bytes = chunk_bytes};
    al_reader_t *r;
    al_chunk_t *c;
    uint64_t expect_offset = 0;

    memset(res, 0, sizeof(*res));
    res->err = al_reader_open(&r, path, 7, &opts, &res->diag);
    if (res->err != AL_ERR_OK)
        return;
    res->text = malloc(1);
    for (;;) {
        res->err = al_reader_next(r, &c, &res->diag);
        if (res->err != AL_ERR_OK || c == NULL)
            break;
        ck_assert_uint_eq(c->file_id, 7);
        ck_assert_uint_eq(c->first_line, res->lines + 1);
        if (res->chunks == 0 && c->offset == 3)
            expect_offset = 3; /* byte order mark skipped */
        ck_assert_uint_eq(c->offset, expect_offset);
        if (c->long_line != 0) {
            ck_assert_uint_eq(c->lines, 1);
            res->long_lines++;
            res->long_len = c->long_line;
            expect_offset += c->long_line + 1;
        } else {
            res->text = realloc(res->text, res->len + c->len + 1);
            memcpy(res->text + res->len, c->data, c->len);
            res->len += c->len;
            expect_offset += c->len;
        }
        res->lines += c->lines;
        res->src += c->src_bytes;
        res->chunks++;
        al_chunk_release(c);
    }
    al_reader_close(r);
}

/* Lines of varying length, some empty, CRLF on some. */
static char *sample_text(size_t lines, size_t *n)
{
    char *t = malloc(lines * 400 + 1);
    size_t o = 0;
    for (size_t i = 0; i < lines; i++) {
        size_t len = (i * 7919) % 300;
        for (size_t k = 0; k < len; k++)
            t[o++] = (char)('a' + (i + k) % 26);
        if (i % 5 == 0)
            t[o++] = '\r';
        t[o++] = '\n';
    }
    *n = o;
    return t;
}

START_TEST(plain_file_round_trips_through_small_chunks)
{
    size_t n;
    char *t = sample_text(2000, &n);
    char *p = fx_path(dir, "a.ndjson");
    read_result_t res;
    fx_write(p, t, n);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.len, n);
    ck_assert_int_eq(memcmp(res.text, t, n), 0);
    ck_assert_uint_eq(res.lines, 2000);
    ck_assert_uint_gt(res.chunks, 50);
    ck_assert_uint_eq(res.src, n); /* progress reaches the file size exactly */
    free(res.text);
    free(t);
    free(p);
}
END_TEST

START_TEST(zstd_multi_frame_file_round_trips)
{
    size_t n;
    char *t = sample_text(3000, &n);
    char *p = fx_path(dir, "a.data"); /* no .zst suffix: found by magic */
    read_result_t res;
    fx_write_zstd(p, t, n, 10000);
    read_all(p, 8192, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.len, n);
    ck_assert_int_eq(memcmp(res.text, t, n), 0);
    ck_assert_uint_eq(res.lines, 3000);
    {
        /* progress of compressed input counts compressed bytes, to the end */
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(res.src, (uint64_t)st.st_size);
    }
    free(res.text);
    free(t);
    free(p);
}
END_TEST

START_TEST(skippable_zstd_frames_are_ignored)
{
    size_t n;
    char *t = sample_text(50, &n);
    char *z = fx_path(dir, "z.zst"), *p = fx_path(dir, "s.zst");
    size_t zn;
    char *zdata;
    unsigned char skip[12] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 'j', 'u', 'n', 'k'};
    char *all;
    read_result_t res;
    fx_write_zstd(z, t, n, 1 << 20);
    zdata = fx_read(z, &zn);
    all = malloc(zn + 24);
    memcpy(all, skip, 12);
    memcpy(all + 12, zdata, zn);
    memcpy(all + 12 + zn, skip, 12);
    fx_write(p, all, zn + 24);
    read_all(p, 1 << 20, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.len, n);
    ck_assert_int_eq(memcmp(res.text, t, n), 0);
    free(res.text);
    free(all);
    free(zdata);
    free(t);
    free(z);
    free(p);
}
END_TEST

START_TEST(counts_a_last_line_without_newline)
{
    char *p = fx_path(dir, "a.ndjson");
    char *z = fx_path(dir, "a.zst");
    read_result_t res;
    fx_write(p, "one\ntwo\nthree", 13);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.lines, 3);
    ck_assert_uint_eq(res.len, 13);
    free(res.text);
    fx_write_zstd(z, "one\ntwo\nthree", 13, 1000);
    read_all(z, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.lines, 3);
    free(res.text);
    free(p);
    free(z);
}
END_TEST

START_TEST(skips_a_utf8_byte_order_mark)
{
    char *p = fx_path(dir, "bom.ndjson");
    read_result_t res;
    fx_write(p, "\xEF\xBB\xBF{}\n{}\n", 9);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.len, 6);
    ck_assert_int_eq(memcmp(res.text, "{}\n{}\n", 6), 0);
    ck_assert_uint_eq(res.lines, 2);
    free(res.text);
    free(p);
}
END_TEST

static void check_long_line(int zstd)
{
    size_t long_len = 20000, n = 0;
    char *t = malloc(long_len + 100);
    char *p = fx_path(dir, zstd ? "long.zst" : "long.ndjson");
    read_result_t res;
    n += (size_t)sprintf(t, "short1\n");
    memset(t + n, 'x', long_len);
    n += long_len;
    n += (size_t)sprintf(t + n, "\nshort2\nshort3\n");
    if (zstd)
        fx_write_zstd(p, t, n, 5000);
    else
        fx_write(p, t, n);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.long_lines, 1);
    ck_assert_uint_eq(res.long_len, long_len);
    ck_assert_uint_eq(res.lines, 4);
    ck_assert_uint_eq(res.len, n - long_len - 1);
    ck_assert_int_eq(memcmp(res.text, "short1\nshort2\nshort3\n", res.len), 0);
    free(res.text);
    free(t);
    free(p);
}

START_TEST(reports_a_line_longer_than_a_chunk_as_one_long_line)
{
    check_long_line(0);
    check_long_line(1);
}
END_TEST

START_TEST(reads_standard_input)
{
    int fds[2];
    read_result_t res;
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "a\nb\n", 4), 4);
    close(fds[1]);
    ck_assert_int_ne(dup2(fds[0], STDIN_FILENO), -1);
    read_all("-", 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.lines, 2);
    ck_assert_uint_eq(res.len, 4);
    free(res.text);
}
END_TEST

START_TEST(reads_zstd_from_standard_input)
{
    int fds[2];
    char *z = fx_path(dir, "in.zst");
    size_t zn;
    char *zdata;
    read_result_t res;
    fx_write_zstd(z, "a\nb\nc\n", 6, 2);
    zdata = fx_read(z, &zn);
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], zdata, zn), (ssize_t)zn);
    close(fds[1]);
    ck_assert_int_ne(dup2(fds[0], STDIN_FILENO), -1);
    read_all("-", 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.lines, 3);
    free(res.text);
    free(zdata);
    free(z);
}
END_TEST

START_TEST(an_empty_file_has_no_chunks)
{
    char *p = fx_path(dir, "empty.ndjson");
    read_result_t res;
    fx_write(p, "", 0);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.chunks, 0);
    ck_assert_uint_eq(res.lines, 0);
    free(res.text);
    free(p);
}
END_TEST

START_TEST(refuses_missing_files_and_directories)
{
    char *p = fx_path(dir, "nope.ndjson");
    read_result_t res;
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_NOT_FOUND);
    ck_assert_str_eq(res.diag.path, p);
    read_all(dir, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_IS_DIR);
    free(p);
}
END_TEST

START_TEST(refuses_unreadable_files)
{
    char *p = fx_path(dir, "secret.ndjson");
    read_result_t res;
    fx_write(p, "{}\n", 3);
    ck_assert_int_eq(chmod(p, 0), 0);
    if (geteuid() == 0) {
        /* root reads anything: drop to nobody in a child to see the refusal */
        pid_t pid = fork();
        int st;
        if (pid == 0) {
            ck_assert_int_eq(chmod(dir, 0755), 0);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(2);
            read_all(p, 4096, &res);
            _exit(res.err == AL_ERR_ACCESS ? 0 : 1);
        }
        waitpid(pid, &st, 0);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child saw no EACCES");
    } else {
        read_all(p, 4096, &res);
        ck_assert_int_eq(res.err, AL_ERR_ACCESS);
    }
    free(p);
}
END_TEST

START_TEST(refuses_other_compression_formats_by_magic)
{
    static const struct {
        const char *bytes;
        size_t n;
        const char *name;
    } m[] = {
        {"BZh91AY", 7, "bzip2-compressed"},
        {"\xFD"
         "7zXZ\0\0",
         7, "xz-compressed"},
        {"PK\x03\x04\0\0", 6, "zip-compressed"},
        {"\x04\x22\x4D\x18\0\0", 6, "lz4-compressed"},
    };
    char *p = fx_path(dir, "events.ndjson");
    read_result_t res;
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        fx_write(p, m[i].bytes, m[i].n);
        read_all(p, 4096, &res);
        ck_assert_int_eq(res.err, AL_ERR_UNSUPPORTED_FORMAT);
        ck_assert_str_eq(res.diag.detail, m[i].name);
    }
    free(p);
}
END_TEST

START_TEST(refuses_binary_files)
{
    char *p = fx_path(dir, "bin.ndjson");
    read_result_t res;
    fx_write(p, "{}\n\0\0\0\x01\x02", 8);
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_BINARY_INPUT);
    ck_assert_uint_eq(res.lines, 0);
    free(res.text);
    free(p);
}
END_TEST

START_TEST(reports_truncated_zstd_after_the_lines_before_it)
{
    size_t n, zn;
    char *t = sample_text(3000, &n);
    char *full = fx_path(dir, "full.zst"), *cut = fx_path(dir, "cut.zst");
    char *z;
    read_result_t res;
    fx_write_zstd(full, t, n, n / 2 + 1); /* two frames; cut inside the second */
    z = fx_read(full, &zn);
    fx_write(cut, z, zn - 100);
    read_all(cut, 8192, &res);
    ck_assert_int_eq(res.err, AL_ERR_ZSTD_TRUNCATED);
    ck_assert_int_eq(res.diag.has_offset, 1);
    ck_assert_uint_eq(res.diag.offset, zn - 100);
    ck_assert_str_eq(res.diag.path, cut);
    /* everything returned is a prefix of the input made of whole lines */
    ck_assert_uint_gt(res.len, n / 2);
    ck_assert_int_eq(memcmp(res.text, t, res.len), 0);
    ck_assert_int_eq(res.text[res.len - 1], '\n');
    free(res.text);
    free(z);
    free(t);
    free(full);
    free(cut);
}
END_TEST

START_TEST(reports_corrupt_zstd_with_its_offset)
{
    size_t n, zn;
    char *t = sample_text(3000, &n);
    char *p = fx_path(dir, "bad.zst");
    char *z;
    read_result_t res;
    fx_write_zstd(p, t, n, n + 1);
    z = fx_read(p, &zn);
    for (size_t i = zn / 2; i < zn / 2 + 16; i++)
        z[i] = (char)(z[i] ^ 0x5A);
    fx_write(p, z, zn);
    read_all(p, 1 << 20, &res);
    ck_assert_int_eq(res.err, AL_ERR_ZSTD_CORRUPT);
    ck_assert_int_eq(res.diag.has_offset, 1);
    ck_assert_uint_le(res.diag.offset, zn);
    ck_assert_str_ne(res.diag.detail, "");
    free(res.text);
    free(z);
    free(t);
    free(p);
}
END_TEST

/* gzip: members one after another (cat a.gz b.gz), headers with extra,
 * name, comment and header CRC, found by magic, through small chunks. */
START_TEST(gzip_multi_member_file_round_trips)
{
    size_t n;
    char *t = sample_text(3000, &n);
    char *p = fx_path(dir, "b.data");
    read_result_t res;
    for (int headers = 0; headers < 2; headers++) {
        fx_write_gzip(p, t, n, 10000 + (size_t)headers * 7777, headers);
        read_all(p, 8192, &res);
        ck_assert_msg(res.err == AL_ERR_OK, "error %d: %s at %llu", res.err, res.diag.detail,
                      (unsigned long long)res.diag.offset);
        ck_assert_uint_eq(res.len, n);
        ck_assert_int_eq(memcmp(res.text, t, n), 0);
        ck_assert_uint_eq(res.lines, 3000);
        {
            struct stat st;
            ck_assert_int_eq(stat(p, &st), 0);
            ck_assert_uint_eq(res.src, (uint64_t)st.st_size);
        }
        free(res.text);
    }
    free(t);
    free(p);
}
END_TEST

/* An empty member between others, and a file that is one empty member. */
START_TEST(empty_gzip_members_are_nothing)
{
    char *a = fx_path(dir, "a.gz"), *b = fx_path(dir, "b.gz"), *all = fx_path(dir, "all.gz");
    char *ta, *tb, *cat;
    size_t na, nb;
    read_result_t res;
    fx_write_gzip(a, "x\ny\n", 4, 100, 0);
    fx_write_gzip(b, "", 0, 100, 1);
    ta = fx_read(a, &na);
    tb = fx_read(b, &nb);
    cat = malloc(na * 2 + nb);
    memcpy(cat, ta, na);
    memcpy(cat + na, tb, nb);
    memcpy(cat + na + nb, ta, na);
    fx_write(all, cat, na * 2 + nb);
    read_all(all, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.len, 8);
    ck_assert_int_eq(memcmp(res.text, "x\ny\nx\ny\n", 8), 0);
    free(res.text);
    read_all(b, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_OK);
    ck_assert_uint_eq(res.lines, 0);
    free(res.text);
    free(ta);
    free(tb);
    free(cat);
    free(a);
    free(b);
    free(all);
}
END_TEST

START_TEST(reports_truncated_gzip_after_the_lines_before_it)
{
    size_t n, zn;
    char *t = sample_text(3000, &n);
    char *full = fx_path(dir, "full.gz"), *cut = fx_path(dir, "cut.gz");
    char *z;
    read_result_t res;
    fx_write_gzip(full, t, n, n / 2 + 1, 0); /* two members; cut inside the second */
    z = fx_read(full, &zn);
    fx_write(cut, z, zn - 100);
    read_all(cut, 8192, &res);
    ck_assert_int_eq(res.err, AL_ERR_GZIP_TRUNCATED);
    ck_assert_int_eq(res.diag.has_offset, 1);
    ck_assert_uint_eq(res.diag.offset, zn - 100);
    ck_assert_uint_gt(res.len, n / 2);
    ck_assert_int_eq(memcmp(res.text, t, res.len), 0);
    ck_assert_int_eq(res.text[res.len - 1], '\n');
    free(res.text);
    free(z);
    free(t);
    free(full);
    free(cut);
}
END_TEST

/* Damage shows as a deflate error or, at the latest, as the member's CRC. */
START_TEST(reports_corrupt_gzip_with_its_offset)
{
    size_t n, zn;
    char *t = sample_text(3000, &n);
    char *p = fx_path(dir, "bad.gz");
    char *z;
    read_result_t res;
    fx_write_gzip(p, t, n, n + 1, 0);
    z = fx_read(p, &zn);
    for (size_t i = zn / 2; i < zn / 2 + 16; i++)
        z[i] = (char)(z[i] ^ 0x5A);
    fx_write(p, z, zn);
    read_all(p, 1 << 20, &res);
    ck_assert_int_eq(res.err, AL_ERR_GZIP_CORRUPT);
    ck_assert_int_eq(res.diag.has_offset, 1);
    ck_assert_uint_le(res.diag.offset, zn);
    ck_assert_str_ne(res.diag.detail, "");
    free(res.text);
    /* garbage after the last member is not a member */
    fx_write_gzip(p, "a\n", 2, 100, 0);
    z = realloc(z, 64);
    {
        size_t gn;
        char *g = fx_read(p, &gn);
        memcpy(z, g, gn);
        memcpy(z + gn, "junk!", 5);
        fx_write(p, z, gn + 5);
        free(g);
    }
    read_all(p, 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_GZIP_CORRUPT);
    ck_assert_uint_eq(res.lines, 1);
    free(res.text);
    free(z);
    free(t);
    free(p);
}
END_TEST

static Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_file_round_trips_through_small_chunks);
    tcase_add_test(tc, zstd_multi_frame_file_round_trips);
    tcase_add_test(tc, skippable_zstd_frames_are_ignored);
    tcase_add_test(tc, counts_a_last_line_without_newline);
    tcase_add_test(tc, skips_a_utf8_byte_order_mark);
    tcase_add_test(tc, reports_a_line_longer_than_a_chunk_as_one_long_line);
    tcase_add_test(tc, reads_standard_input);
    tcase_add_test(tc, reads_zstd_from_standard_input);
    tcase_add_test(tc, an_empty_file_has_no_chunks);
    tcase_add_test(tc, refuses_missing_files_and_directories);
    tcase_add_test(tc, refuses_unreadable_files);
    tcase_add_test(tc, refuses_other_compression_formats_by_magic);
    tcase_add_test(tc, refuses_binary_files);
    tcase_add_test(tc, reports_truncated_zstd_after_the_lines_before_it);
    tcase_add_test(tc, reports_corrupt_zstd_with_its_offset);
    tcase_add_test(tc, gzip_multi_member_file_round_trips);
    tcase_add_test(tc, empty_gzip_members_are_nothing);
    tcase_add_test(tc, reports_truncated_gzip_after_the_lines_before_it);
    tcase_add_test(tc, reports_corrupt_gzip_with_its_offset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(reader_suite());
}
