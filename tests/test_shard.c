/* test_shard.c - cutting inputs among copies: every line read by exactly
 * one copy, whatever N and wherever the cuts fall. */
#include "fixtures.h"
#include "reader.h"
#include "shard.h"
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

/* Every line every copy reads, as "input:offset:text" lines, with the
 * bytes each copy read added to *bytes. */
typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void read_part(const al_sources_t *src, uint32_t i, const al_part_t *p, text_t *out,
                      uint64_t *bytes)
{
    al_reader_opts_t ro = {.chunk_bytes = 4096};
    al_reader_t *r;
    al_chunk_t *c;
    al_diag_t d;
    if (p->start > 0 || p->end != AL_PART_END) {
        ro.range_start = p->start;
        ro.range_end = p->end == AL_PART_END ? AL_RANGE_END : p->end;
    }
    ck_assert_int_eq(al_reader_open(&r, src->v[i].path, i, &ro, &d), AL_ERR_OK);
    while (al_reader_next(r, &c, &d) == AL_ERR_OK && c != NULL) {
        const char *q = c->data, *end = c->data + c->len;
        char head[64];
        if (c->long_line != 0) { /* a line longer than a chunk: its start and length */
            int k = snprintf(head, sizeof(head), "%u:%llu:<%llu bytes>\n", i,
                             (unsigned long long)c->offset, (unsigned long long)c->long_line);
            put(out, head, (size_t)k);
            q = end;
        }
        while (q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            const char *le = nl != NULL ? nl : end;
            int k = snprintf(head, sizeof(head), "%u:%llu:", i,
                             (unsigned long long)(c->offset + (uint64_t)(q - c->data)));
            put(out, head, (size_t)k);
            put(out, q, (size_t)(le - q));
            put(out, "\n", 1);
            q = nl != NULL ? nl + 1 : end;
        }
        al_chunk_release(c);
    }
    *bytes += al_reader_bytes_read(r);
    al_reader_close(r);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines of t (destroys it). */
static char **lines_of(text_t *t, size_t *n)
{
    size_t cap = 16;
    char **v = malloc(cap * sizeof(*v));
    *n = 0;
    for (char *p = t->buf, *nl; p != NULL && *p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof(*v));
        v[(*n)++] = p;
    }
    qsort(v, *n, sizeof(*v), cmp_line);
    return v;
}

/* For each N, the copies' lines together are the whole inputs' lines, each once. */
static void check_all_counts(const char *const *paths, uint32_t n, uint32_t max_count)
{
    al_sources_t src;
    al_diag_t d;
    text_t whole = {0};
    uint64_t bytes = 0;
    size_t nw;
    char **w;

    ck_assert_int_eq(al_sources_expand(&src, paths, n, &d), AL_ERR_OK);
    for (uint32_t i = 0; i < src.n; i++) {
        al_part_t all = {1, 0, AL_PART_END};
        read_part(&src, i, &all, &whole, &bytes);
    }
    w = lines_of(&whole, &nw);
    for (uint32_t count = 1; count <= max_count; count++) {
        text_t got = {0};
        al_part_t *parts = calloc(src.n, sizeof(*parts));
        size_t ng;
        char **g;
        uint64_t copy_bytes = 0;
        for (uint32_t k = 0; k < count; k++) {
            ck_assert_int_eq(al_shard_plan(&src, k, count, parts, &d), AL_ERR_OK);
            for (uint32_t i = 0; i < src.n; i++)
                if (parts[i].take)
                    read_part(&src, i, &parts[i], &got, &copy_bytes);
        }
        g = lines_of(&got, &ng);
        ck_assert_msg(ng == nw, "N=%u: %zu lines read, the inputs have %zu", count, ng, nw);
        for (size_t i = 0; i < nw; i++)
            ck_assert_msg(strcmp(w[i], g[i]) == 0, "N=%u: '%s' vs '%s'", count, w[i], g[i]);
        free(g);
        free(got.buf);
        free(parts);
    }
    free(w);
    free(whole.buf);
    al_sources_free(&src);
}

START_TEST(every_line_has_one_owner_whatever_the_cuts)
{
    char *a = fx_path(dir, "a.ndjson"), *b = fx_path(dir, "b.ndjson"),
         *e = fx_path(dir, "e.ndjson");
    char *h = fx_path(dir, "h.ndjson"), *z = fx_path(dir, "z.ndjson.zst");
    char *g = fx_path(dir, "g.ndjson.gz");
    const char *paths[6] = {h, b, a, e, z, g}; /* not in name order: the plan sorts */
    text_t t = {0};
    char line[200];

    /* a: lines of every length 0..99, CRLF ones among them, no final newline */
    for (int i = 0; i < 300; i++) {
        int len = (i * 37) % 100;
        memset(line, 'a' + i % 26, (size_t)len);
        put(&t, line, (size_t)len);
        put(&t, i % 7 == 0 ? "\r\n" : "\n", i % 7 == 0 ? 2 : 1);
    }
    put(&t, "last line without newline", 25);
    fx_write(a, t.buf, t.len);
    /* b: one line longer than any range, between short ones */
    t.len = 0;
    put(&t, "short\n", 6);
    for (int i = 0; i < 5000; i++)
        put(&t, "x", 1);
    put(&t, "\nafter\n", 7);
    fx_write(b, t.buf, t.len);
    fx_write(e, "", 0);       /* empty */
    fx_write(h, "\n\n\n", 3); /* blank lines only */
    fx_write_zstd(z, "{\"z\":1}\n{\"z\":2}\n", 16, 1 << 20);
    fx_write_gzip(g, "{\"g\":1}\n{\"g\":2}\n", 16, 1 << 20, 0);
    check_all_counts(paths, 6, 9);
    free(t.buf);
    free(a);
    free(b);
    free(e);
    free(h);
    free(z);
    free(g);
}
END_TEST

/* The split of each byte: a cut right after a newline, right before one,
 * in the middle of a line, for every position of a small file. */
START_TEST(a_cut_at_every_byte)
{
    char *a = fx_path(dir, "a.ndjson");
    const char *paths[1] = {a};
    fx_write(a, "l1\nline2\n\nl4\r\nl5", 16);
    check_all_counts(paths, 1, 16);
    free(a);
}
END_TEST

START_TEST(compressed_inputs_go_whole_and_the_plan_ignores_the_given_order)
{
    char *names[8];
    const char *paths[8], *rev[8];
    al_sources_t s1, s2;
    al_part_t p1[8], p2[8];
    al_diag_t d;
    uint32_t owners[4] = {0};

    for (int i = 0; i < 8; i++) {
        char n[32];
        snprintf(n, sizeof(n), "part-%d.ndjson.zst", i);
        names[i] = fx_path(dir, n);
        fx_write_zstd(names[i], "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 24, 1 << 20);
        paths[i] = names[i];
        rev[7 - i] = names[i];
    }
    ck_assert_int_eq(al_sources_expand(&s1, paths, 8, &d), AL_ERR_OK);
    ck_assert_int_eq(al_sources_expand(&s2, rev, 8, &d), AL_ERR_OK);
    for (uint32_t k = 0; k < 4; k++) {
        ck_assert_int_eq(al_shard_plan(&s1, k, 4, p1, &d), AL_ERR_OK);
        ck_assert_int_eq(al_shard_plan(&s2, k, 4, p2, &d), AL_ERR_OK);
        for (int i = 0; i < 8; i++) {
            ck_assert_int_eq(p1[i].take, p2[7 - i].take); /* the same file, either order */
            if (p1[i].take) {
                ck_assert_uint_eq(p1[i].start, 0);
                ck_assert(p1[i].end == AL_PART_END);
                owners[k]++;
            }
        }
    }
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(owners[k], 2); /* eight equal files: two each */
    al_sources_free(&s1);
    al_sources_free(&s2);
    for (int i = 0; i < 8; i++)
        free(names[i]);
}
END_TEST

START_TEST(standard_input_cannot_be_cut)
{
    const char *paths[1] = {"-"};
    al_sources_t s;
    al_part_t p[1];
    al_diag_t d;
    ck_assert_int_eq(al_sources_expand(&s, paths, 1, &d), AL_ERR_OK);
    ck_assert_int_eq(al_shard_plan(&s, 0, 2, p, &d), AL_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(d.detail, "--shard-by device"));
    al_sources_free(&s);
}
END_TEST

static Suite *shard_suite(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_line_has_one_owner_whatever_the_cuts);
    tcase_add_test(tc, a_cut_at_every_byte);
    tcase_add_test(tc, compressed_inputs_go_whole_and_the_plan_ignores_the_given_order);
    tcase_add_test(tc, standard_input_cannot_be_cut);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(shard_suite());
}
