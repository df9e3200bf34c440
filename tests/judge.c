/* judge.c - see judge.h. */
#include "judge.h"

#include "event_check.h"
#include "fixtures.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static void push(hashes_t *h, uint64_t x)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4096;
        h->v = realloc(h->v, h->cap * sizeof(uint64_t));
    }
    h->v[h->n++] = x;
}

uint64_t judge_canonical(json_t *j)
{
    char *s;
    uint64_t h;
    json_object_del(j, "insert_id");
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    h = XXH3_64bits(s, strlen(s));
    free(s);
    return h;
}

/* The loader's own rule on top of Amplitude's (the mock takes any integer
 * time): a positive time outside [1e11, 1e14] is not in milliseconds. */
static const char *time_unit(json_t *j)
{
    json_t *t = json_object_get(j, "time");
    json_int_t v = json_is_integer(t) ? json_integer_value(t) : 0;
    if (v > 0 && v < 100000000000LL)
        return "time_in_seconds";
    if (v > 100000000000000LL)
        return "time_in_microseconds";
    return NULL;
}

static void judge_line(void *ctx, const char *line, size_t len)
{
    verdicts_t *v = ctx;
    const char *why = mock_check_line(line, len, 5, 1024 * 1024);
    json_t *j = NULL;
    json_error_t err;
    v->lines++;
    if (why == NULL) {
        j = json_loadb(line, len, JSON_ALLOW_NUL, &err);
        why = time_unit(j);
        if (why != NULL)
            json_decref(j);
    }
    if (why == NULL) {
        push(&v->valid, judge_canonical(j));
        json_decref(j);
    } else if (strcmp(why, "blank") == 0) {
        v->blank++;
    } else {
        v->invalid++;
        v->invalid_line[v->lines] = 1;
    }
}

void judge_input(const char *path, verdicts_t *out)
{
    size_t n;
    char *text = fx_read(path, &n);
    ck_assert_ptr_nonnull(text);
    free(text);
    memset(out, 0, sizeof(*out));
    out->invalid_line = calloc(n + 2, 1);
    fx_each_line(path, judge_line, out);
}

typedef struct {
    hashes_t *h;
    hashes_t ids;
} record_ctx_t;

static void record_line(void *ctx, const char *line, size_t len)
{
    record_ctx_t *r = ctx;
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    const char *id = json_string_value(json_object_get(j, "insert_id"));
    ck_assert_msg(id != NULL, "recorded event without insert_id: %.*s", (int)len, line);
    push(&r->ids, XXH3_64bits(id, strlen(id)));
    push(r->h, judge_canonical(j));
    json_decref(j);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void judge_record(const char *path, hashes_t *out)
{
    record_ctx_t r = {out, {0}};
    memset(out, 0, sizeof(*out));
    fx_each_line(path, record_line, &r);
    qsort(r.ids.v, r.ids.n, sizeof(uint64_t), cmp_u64);
    for (size_t i = 1; i < r.ids.n; i++)
        ck_assert_msg(r.ids.v[i] != r.ids.v[i - 1], "the same insert_id was recorded twice");
    hashes_free(&r.ids);
}

void judge_assert_same(hashes_t *want, hashes_t *got, const char *what)
{
    size_t missing = 0, extra = 0, i = 0, j = 0;
    qsort(want->v, want->n, sizeof(uint64_t), cmp_u64);
    qsort(got->v, got->n, sizeof(uint64_t), cmp_u64);
    while (i < want->n || j < got->n) {
        if (j == got->n || (i < want->n && want->v[i] < got->v[j]))
            missing++, i++;
        else if (i == want->n || got->v[j] < want->v[i])
            extra++, j++;
        else
            i++, j++;
    }
    ck_assert_msg(missing == 0 && extra == 0,
                  "%s: %zu events expected, %zu found; %zu missing, %zu extra", what, want->n,
                  got->n, missing, extra);
}

typedef struct {
    const verdicts_t *v;
    char *seen;
    long records;
    /* several inputs: record names, and the lines before each in the whole */
    const char *const *names;
    const uint64_t *base;
    size_t n;
} rejects_ctx_t;

static void reject_line(void *ctx, const char *line, size_t len)
{
    rejects_ctx_t *r = ctx;
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    long ln = (long)json_integer_value(json_object_get(j, "line"));
    ck_assert_msg(j != NULL, "reject record is not JSON: %s", err.text);
    if (r->names != NULL) {
        const char *file = json_string_value(json_object_get(j, "file"));
        size_t k = 0;
        while (k < r->n && (file == NULL || strcmp(file, r->names[k]) != 0))
            k++;
        ck_assert_msg(k < r->n, "reject record of an unknown input: %s", file ? file : "?");
        ln += (long)r->base[k];
    }
    ck_assert_msg(ln >= 1 && ln <= r->v->lines && r->v->invalid_line[ln],
                  "line %ld in the reject file is valid", ln);
    ck_assert_msg(!r->seen[ln], "line %ld is in the reject file twice", ln);
    r->seen[ln] = 1;
    r->records++;
    json_decref(j);
}

void judge_assert_rejects_in(const char *reject_path, const verdicts_t *v, const char *const *names,
                             const uint64_t *base, size_t n)
{
    rejects_ctx_t r = {v, calloc((size_t)v->lines + 2, 1), 0, names, base, n};
    fx_each_line(reject_path, reject_line, &r);
    ck_assert_int_eq(r.records, v->invalid);
    free(r.seen);
}

void judge_assert_rejects(const char *reject_path, const verdicts_t *v)
{
    rejects_ctx_t r = {v, calloc((size_t)v->lines + 2, 1), 0, NULL, NULL, 0};
    fx_each_line(reject_path, reject_line, &r);
    ck_assert_int_eq(r.records, v->invalid);
    free(r.seen);
}

void hashes_free(hashes_t *h)
{
    free(h->v);
    memset(h, 0, sizeof(*h));
}

void judge_free(verdicts_t *v)
{
    hashes_free(&v->valid);
    free(v->invalid_line);
}
