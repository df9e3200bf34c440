/* test_reader.c - inputs to chunks: every byte once, in order, tagged right. */
#include "fixtures.h"
#include "reader.h"
#include "sources.h"

#include <errno.h>
#include <zlib.h>
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

/* Reads path (or the zip member src) to the end, checking each chunk's
 * tags against what came before. */
static void read_source(const char *path, const al_source_t *src, size_t chunk_bytes,
                        read_result_t *res)
{
    al_reader_opts_t opts = {.chunk_bytes = chunk_bytes};
    al_reader_t *r;
    al_chunk_t *c;
    uint64_t expect_offset = 0;

    memset(res, 0, sizeof(*res));
    if (src != NULL && src->zip != NULL) {
        opts.zip = src->zip;
        opts.member = src->member;
        opts.name = src->name;
    }
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

static void read_all(const char *path, size_t chunk_bytes, read_result_t *res)
{
    read_source(path, NULL, chunk_bytes, res);
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
        {"PK\x03\x04\0\0", 6,
         "a zip archive, which is read from its path (its directory is at its end), not from a "
         "stream nor from inside another archive"},
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

/* ---- zip members ---------------------------------------------------------- */

/* Opens the archive up; *n members must come out. */
static void expand_one(const char *path, al_sources_t *srcs, uint32_t n)
{
    al_diag_t d;
    const char *paths[1] = {path};
    ck_assert_int_eq(al_sources_expand(srcs, paths, 1, &d), AL_ERR_OK);
    ck_assert_uint_eq(srcs->n, n);
}

/* Stored, deflated, gzip inside stored and inside deflated: each member
 * reads back byte for byte, in natural name order, and its progress adds
 * up to its stored size. */
START_TEST(zip_members_of_every_kind_round_trip_in_natural_order)
{
    size_t n[4];
    char *t[4], *p = fx_path(dir, "export.zip"), want[64];
    fx_member_t m[4];
    al_sources_t srcs;
    const char *names[4] = {"day#10.ndjson", "day#2.json.gz", "day#1.ndjson", "day#3.json.gz"};
    const int order[4] = {2, 1, 3, 0}; /* day#1, day#2, day#3, day#10 */

    for (int i = 0; i < 4; i++) {
        t[i] = sample_text(1500 + 100 * (size_t)i, &n[i]);
        m[i] = (fx_member_t){names[i], t[i], n[i], i >= 2, i % 2 == 1};
    }
    fx_write_zip(p, m, 4);
    expand_one(p, &srcs, 4);
    for (uint32_t k = 0; k < 4; k++) {
        int i = order[k];
        read_result_t res;
        al_zip_entry_t e;
        al_diag_t d;
        snprintf(want, sizeof(want), "%s:%s", "export.zip", names[i]);
        ck_assert_str_eq(strrchr(srcs.v[k].name, '/') + 1, want);
        ck_assert_str_eq(srcs.v[k].path, p);
        read_source(p, &srcs.v[k], 4096, &res);
        ck_assert_msg(res.err == AL_ERR_OK, "%s: %s", names[i], res.diag.detail);
        ck_assert_uint_eq(res.len, n[i]);
        ck_assert_int_eq(memcmp(res.text, t[i], n[i]), 0);
        ck_assert_uint_eq(res.lines, 1500 + 100 * (uint64_t)i);
        ck_assert_int_eq(al_zip_entry(srcs.v[k].zip, srcs.v[k].member, &e, &d), AL_ERR_OK);
        ck_assert_uint_eq(res.src, e.comp_size);
        free(res.text);
    }
    al_sources_free(&srcs);
    for (int i = 0; i < 4; i++)
        free(t[i]);
    free(p);
}
END_TEST

START_TEST(an_empty_zip_member_has_no_chunks)
{
    char *p = fx_path(dir, "e.zip");
    fx_member_t m[2] = {{"empty.ndjson", "", 0, 0, 0}, {"empty2.ndjson", "", 0, 1, 0}};
    al_sources_t srcs;
    read_result_t res;
    fx_write_zip(p, m, 2);
    expand_one(p, &srcs, 2);
    for (int k = 0; k < 2; k++) {
        read_source(p, &srcs.v[k], 4096, &res);
        ck_assert_int_eq(res.err, AL_ERR_OK);
        ck_assert_uint_eq(res.chunks, 0);
        free(res.text);
    }
    al_sources_free(&srcs);
    free(p);
}
END_TEST

START_TEST(a_zip64_archive_is_read)
{
    size_t n;
    char *t = sample_text(800, &n), *p = fx_path(dir, "big.zip");
    al_sources_t srcs;
    read_result_t res;
    fx_write_zip64(p, "events.ndjson", t, n);
    expand_one(p, &srcs, 1);
    read_source(p, &srcs.v[0], 4096, &res);
    ck_assert_msg(res.err == AL_ERR_OK, "%s", res.diag.detail);
    ck_assert_uint_eq(res.len, n);
    ck_assert_int_eq(memcmp(res.text, t, n), 0);
    free(res.text);
    al_sources_free(&srcs);
    free(t);
    free(p);
}
END_TEST

/* Damage in a deflated member: the lines before it are handed out, then
 * an error naming the member and the offset in its stored bytes. */
START_TEST(corrupt_zip_member_data_is_reported_with_member_and_offset)
{
    size_t n, zn;
    char *t = sample_text(20000, &n), *p = fx_path(dir, "bad.zip"), *z;
    fx_member_t m[1] = {{"m.ndjson", t, n, 1, 0}};
    al_sources_t srcs;
    read_result_t res;
    fx_write_zip(p, m, 1);
    z = fx_read(p, &zn);
    for (size_t i = zn / 2; i < zn / 2 + 64; i++)
        z[i] = (char)(z[i] ^ 0x5A);
    fx_write(p, z, zn);
    expand_one(p, &srcs, 1);
    read_source(p, &srcs.v[0], 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_ZIP_CORRUPT);
    ck_assert_ptr_nonnull(strstr(res.diag.path, "bad.zip:m.ndjson"));
    ck_assert(res.diag.has_offset);
    ck_assert_uint_le(res.diag.offset, zn);
    /* the lines well before the damage came out as they were (lines after
     * it in the same deflate block may be garbled before the inflate sees
     * the damage: the reject file and the CRC check take care of those) */
    ck_assert_uint_gt(res.len, n / 4);
    ck_assert_uint_lt(res.len, n);
    ck_assert_int_eq(memcmp(res.text, t, n / 4), 0);
    free(res.text);
    al_sources_free(&srcs);
    free(z);
    free(t);
    free(p);
}
END_TEST

/* A stored member whose bytes changed: the CRC-32 catches it at its end. */
START_TEST(a_stored_member_with_a_wrong_crc_is_an_error)
{
    size_t n, zn;
    char *t = sample_text(300, &n), *p = fx_path(dir, "crc.zip"), *z, *hit;
    fx_member_t m[1] = {{"m.ndjson", t, n, 0, 0}};
    al_sources_t srcs;
    read_result_t res;
    fx_write_zip(p, m, 1);
    z = fx_read(p, &zn);
    hit = memmem(z, zn, t + 400, 40);
    ck_assert_ptr_nonnull(hit);
    hit[5] = (char)(hit[5] == 'x' ? 'y' : 'x');
    fx_write(p, z, zn);
    expand_one(p, &srcs, 1);
    read_source(p, &srcs.v[0], 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_ZIP_CORRUPT);
    ck_assert_msg(strstr(res.diag.detail, "CRC") != NULL, "%s", res.diag.detail);
    free(res.text);
    al_sources_free(&srcs);
    free(z);
    free(t);
    free(p);
}
END_TEST

/* A deflated member whose data inflates cleanly but not to what the
 * directory promised (its CRC-32 changed in both headers): caught by our
 * own check at the member's end. */
START_TEST(a_deflated_member_with_a_wrong_crc_is_an_error)
{
    size_t n, zn;
    char *t = sample_text(300, &n), *p = fx_path(dir, "crc.zip"), *z;
    fx_member_t m[1] = {{"m.ndjson", t, n, 1, 0}};
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)t, (uInt)n);
    unsigned char le[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                           (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
    al_sources_t srcs;
    read_result_t res;
    int hits = 0;
    fx_write_zip(p, m, 1);
    z = fx_read(p, &zn);
    for (size_t i = 0; i + 4 <= zn; i++)
        if (memcmp(z + i, le, 4) == 0) {
            z[i] = (char)(z[i] ^ 1);
            hits++;
        }
    ck_assert_int_eq(hits, 2); /* the local and the central header */
    fx_write(p, z, zn);
    expand_one(p, &srcs, 1);
    read_source(p, &srcs.v[0], 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_ZIP_CORRUPT);
    ck_assert_msg(strstr(res.diag.detail, "CRC-32") != NULL, "%s", res.diag.detail);
    ck_assert_uint_eq(res.len, n); /* every line came out; the check comes at the end */
    free(res.text);
    al_sources_free(&srcs);
    free(z);
    free(t);
    free(p);
}
END_TEST

/* An archive cut short has no central directory: refused before reading,
 * the file named. */
START_TEST(a_truncated_zip_is_refused_when_opened)
{
    size_t n, zn;
    char *t = sample_text(3000, &n), *p = fx_path(dir, "cut.zip"), *z;
    fx_member_t m[1] = {{"m.ndjson", t, n, 1, 0}};
    al_sources_t srcs;
    al_diag_t d;
    const char *paths[1] = {p};
    fx_write_zip(p, m, 1);
    z = fx_read(p, &zn);
    fx_write(p, z, zn / 2);
    ck_assert_int_eq(al_sources_expand(&srcs, paths, 1, &d), AL_ERR_ZIP_CORRUPT);
    ck_assert_str_eq(d.path, p);
    ck_assert_ptr_nonnull(strstr(d.detail, "central directory"));
    ck_assert_uint_eq(srcs.n, 0);
    free(z);
    free(t);
    free(p);
}
END_TEST

/* A zip inside a member, or one on a stream, is refused with why. */
START_TEST(a_zip_inside_a_member_is_refused)
{
    size_t n, zn;
    char *t = sample_text(10, &n), *inner = fx_path(dir, "inner.zip"), *p = fx_path(dir, "o.zip");
    char *z;
    fx_member_t m[1] = {{"m.ndjson", t, n, 0, 0}}, o[1];
    al_sources_t srcs;
    read_result_t res;
    fx_write_zip(inner, m, 1);
    z = fx_read(inner, &zn);
    o[0] = (fx_member_t){"inner.zip", z, zn, 1, 0};
    fx_write_zip(p, o, 1);
    expand_one(p, &srcs, 1);
    read_source(p, &srcs.v[0], 4096, &res);
    ck_assert_int_eq(res.err, AL_ERR_UNSUPPORTED_FORMAT);
    ck_assert_ptr_nonnull(strstr(res.diag.detail, "zip archive"));
    ck_assert_ptr_nonnull(strstr(res.diag.path, "o.zip:inner.zip"));
    al_sources_free(&srcs);
    free(z);
    free(t);
    free(inner);
    free(p);
}
END_TEST

/* ---- input shapes ---- */

static const char array_text[] = "\xEF\xBB\xBF \n[\n"
                                 "  {\"event_type\": \"a\", \"user_id\": \"user-1\"},\n"
                                 "  {\"event_type\": \"b\", \"user_id\": \"user-1\"}\n"
                                 "]\n";

/* Reads text through a pipe as standard input. */
static void read_piped(const char *text, size_t n, read_result_t *res)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], text, n), (ssize_t)n);
    close(fds[1]);
    ck_assert_int_ne(dup2(fds[0], STDIN_FILENO), -1);
    read_all("-", 65536, res);
    close(fds[0]);
}

/* The refusal names the input, the offset, what it is and the command. */
static void assert_refused(const read_result_t *res, const char *path_end, uint64_t offset,
                           const char *what, const char *command)
{
    size_t pl = strlen(res->diag.path), el = strlen(path_end);
    ck_assert_msg(res->err == AL_ERR_INPUT_SHAPE, "%s: err %d", path_end, (int)res->err);
    ck_assert_uint_eq(res->chunks, 0); /* nothing of it handed out */
    ck_assert_msg(pl >= el && strcmp(res->diag.path + pl - el, path_end) == 0, "%s",
                  res->diag.path);
    ck_assert(res->diag.has_offset);
    ck_assert_uint_eq(res->diag.offset, offset);
    ck_assert_msg(strstr(res->diag.detail, what) != NULL, "%s", res->diag.detail);
    ck_assert_msg(strstr(res->diag.detail, command) != NULL, "%s", res->diag.detail);
}

START_TEST(a_json_array_is_refused_from_every_source)
{
    size_t n = sizeof(array_text) - 1;
    char *plain = fx_path(dir, "a.json"), *zst = fx_path(dir, "a.json.zst"),
         *gz = fx_path(dir, "a.json.gz"), *zip = fx_path(dir, "x.zip");
    fx_member_t m[2] = {{"in/b.json", array_text, n, 1, 1}, {"in/c.json", array_text, n, 0, 0}};
    al_sources_t srcs;
    read_result_t res;

    fx_write(plain, array_text, n);
    read_all(plain, 4096, &res);
    assert_refused(&res, "a.json", 5, "a JSON array", "jq -c '.[]' ");
    ck_assert_ptr_nonnull(strstr(res.diag.detail, "a.json > "));
    fx_write_zstd(zst, array_text, n, 7);
    read_all(zst, 4096, &res);
    assert_refused(&res, "a.json.zst", 5, "a JSON array", "zstd -dc ");
    fx_write_gzip(gz, array_text, n, 9, 1);
    read_all(gz, 4096, &res);
    assert_refused(&res, "a.json.gz", 5, "a JSON array", "gzip -dc ");
    fx_write_zip(zip, m, 2);
    expand_one(zip, &srcs, 2);
    for (uint32_t k = 0; k < 2; k++) {
        read_source(zip, &srcs.v[k], 4096, &res);
        assert_refused(&res, k == 0 ? "x.zip:in/b.json" : "x.zip:in/c.json", 5, "a JSON array",
                       "unzip -p ");
    }
    ck_assert_ptr_nonnull(strstr(res.diag.detail, "> c.ndjson"));
    al_sources_free(&srcs);
    read_piped(array_text, n, &res);
    assert_refused(&res, "<stdin>", 5, "a JSON array", "| jq -c '.[]' | ampload -");
    free(plain);
    free(zst);
    free(gz);
    free(zip);
}
END_TEST

START_TEST(pretty_printed_json_is_refused)
{
    static const char *const texts[] = {
        "{\n  \"event_type\": \"a\",\n  \"user_id\": \"user-1\"\n}\n",
        "{\"event_type\": \"a\",\n \"user_id\": \"user-1\"}\n{\"event_type\": \"b\",\n "
        "\"user_id\": \"user-1\"}\n",
        "\n\n{\"event_type\": \"a\", \"event_properties\": {\n    \"k\": 1\n  }, \"user_id\": "
        "\"user-1\"}\n"};
    static const uint64_t at[] = {0, 0, 2};
    char *p = fx_path(dir, "p.json");
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        read_result_t res;
        fx_write(p, texts[i], strlen(texts[i]));
        read_all(p, 4096, &res);
        assert_refused(&res, "p.json", at[i], "pretty-printed JSON", "jq -c . ");
        read_piped(texts[i], strlen(texts[i]), &res);
        assert_refused(&res, "<stdin>", at[i], "pretty-printed JSON", "jq -c . | ampload -");
    }
    free(p);
}
END_TEST

START_TEST(csv_and_tsv_header_rows_are_refused)
{
    static const char *const texts[] = {"event_type,user_id,time\nopen,user-1,1700000000000\n",
                                        "\"event type\",\"user id\"\r\n\"a,b\",user-1\r\n",
                                        "event_type\tuser_id\nopen\tuser-1\n",
                                        "event_type;user_id\nopen;user-1\n"};
    static const char *const what[] = {"CSV", "CSV", "TSV", "CSV"};
    static const char *const tool[] = {"mlr --icsv --ojsonl cat ", "mlr --icsv --ojsonl cat ",
                                       "mlr --itsv --ojsonl cat ",
                                       "mlr --icsv --ojsonl --ifs ';' cat "};
    char *p = fx_path(dir, "e.csv");
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        read_result_t res;
        fx_write(p, texts[i], strlen(texts[i]));
        read_all(p, 4096, &res);
        assert_refused(&res, "e.csv", 0, what[i], tool[i]);
        ck_assert_ptr_nonnull(strstr(res.diag.detail, "e.csv > "));
    }
    free(p);
}
END_TEST

/* What only resembles those shapes is read as NDJSON, every byte of it:
 * its bad lines are the validator's to report. */
START_TEST(ndjson_that_resembles_another_shape_is_read)
{
    char longline[20000 + 64];
    static const char *const texts[] = {
        /* a broken first line, then lines of their own */
        "{\"event_type\": \"a\", \"user_id\": \"user-1\"\n{\"event_type\": \"b\"}\n",
        "{\"event_type\": \"a\",\n{\"event_type\": \"b\"}\n{\"event_type\": \"c\"}\n",
        /* one line, cut short */
        "{\"event_type\": \"a\",\n",
        /* prose with a comma, and a second line that has none */
        "hello, world\nthis is a log line\n",
        /* a row of numbers is no header */
        "1,2,3\n4,5,6\n", "plain text\n", "{}\n{\"a\": 1}\n", NULL};
    char *p = fx_path(dir, "n.ndjson");
    memset(longline, 0, sizeof(longline));
    memcpy(longline, "{\"event_type\": \"", 16);
    memset(longline + 16, 'x', 20000); /* the first line does not end in view */
    memcpy(longline + 20016, "\",\n\"user_id\": 1}\n", 17);
    for (size_t i = 0; i <= sizeof(texts) / sizeof(texts[0]) - 1; i++) {
        const char *t = texts[i] != NULL ? texts[i] : longline;
        read_result_t res;
        fx_write(p, t, strlen(t));
        read_all(p, 65536, &res);
        ck_assert_msg(res.err == AL_ERR_OK, "%zu: %s", i, res.diag.detail);
        ck_assert_uint_eq(res.len, strlen(t));
        free(res.text);
        read_piped(t, strlen(t), &res);
        ck_assert_msg(res.err == AL_ERR_OK, "%zu: %s", i, res.diag.detail);
        ck_assert_uint_eq(res.len, strlen(t));
        ck_assert_int_eq(memcmp(res.text, t, res.len), 0);
        free(res.text);
    }
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
    tcase_add_test(tc, zip_members_of_every_kind_round_trip_in_natural_order);
    tcase_add_test(tc, an_empty_zip_member_has_no_chunks);
    tcase_add_test(tc, a_zip64_archive_is_read);
    tcase_add_test(tc, corrupt_zip_member_data_is_reported_with_member_and_offset);
    tcase_add_test(tc, a_stored_member_with_a_wrong_crc_is_an_error);
    tcase_add_test(tc, a_deflated_member_with_a_wrong_crc_is_an_error);
    tcase_add_test(tc, a_truncated_zip_is_refused_when_opened);
    tcase_add_test(tc, a_zip_inside_a_member_is_refused);
    tcase_add_test(tc, a_json_array_is_refused_from_every_source);
    tcase_add_test(tc, pretty_printed_json_is_refused);
    tcase_add_test(tc, csv_and_tsv_header_rows_are_refused);
    tcase_add_test(tc, ndjson_that_resembles_another_shape_is_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(reader_suite());
}
