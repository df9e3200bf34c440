/* test_batch.c - request bodies: exact envelope, both limits, no event split. */
#include "batch.h"
#include "fixtures.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static al_batch_opts_t opts;

static void setup(void)
{
    al_batch_opts_init(&opts);
    strcpy(opts.api_key, "KEY\"1");
}

START_TEST(builds_the_documented_envelope)
{
    al_batch_t *b = al_batch_new(&opts);
    al_origin_t o = {.line = 3, .offset = 10, .file_id = 1};
    ck_assert_int_eq(al_batch_add(b, "{\"a\":1}", 7, &o), AL_ERR_OK);
    ck_assert_int_eq(al_batch_add(b, "{\"b\":2}", 7, &o), AL_ERR_OK);
    al_batch_finish(b);
    ck_assert_int_eq((int)b->len,
                     (int)strlen("{\"api_key\":\"KEY\\\"1\",\"events\":[{\"a\":1},{\"b\":2}],"
                                 "\"options\":{\"min_id_length\":5}}"));
    ck_assert_int_eq(memcmp(b->body,
                            "{\"api_key\":\"KEY\\\"1\",\"events\":[{\"a\":1},{\"b\":2}],"
                            "\"options\":{\"min_id_length\":5}}",
                            b->len),
                     0);
    ck_assert_uint_eq(b->events, 2);
    ck_assert_int_eq(memcmp(b->body + b->off[1], "{\"b\":2}", b->elen[1]), 0);
    ck_assert_uint_eq(b->origin[1].line, 3);
    al_batch_free(b);
}
END_TEST

START_TEST(stops_at_the_event_limit)
{
    al_batch_t *b;
    opts.max_events = 3;
    b = al_batch_new(&opts);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(al_batch_fits(b, 2), 1);
        ck_assert_int_eq(al_batch_add(b, "{}", 2, NULL), AL_ERR_OK);
    }
    ck_assert_int_eq(al_batch_fits(b, 2), 0);
    ck_assert_int_eq(al_batch_add(b, "{}", 2, NULL), AL_ERR_INVALID_ARG);
    al_batch_free(b);
}
END_TEST

START_TEST(counts_the_envelope_against_the_byte_limit)
{
    al_batch_t *b;
    size_t env = al_batch_envelope_bytes(&opts);
    char ev[200];
    memset(ev, ' ', sizeof(ev));
    ev[0] = '{';
    ev[sizeof(ev) - 1] = '}';
    opts.max_bytes = env + 200 + 1 + 200; /* exactly two events and one comma */
    b = al_batch_new(&opts);
    ck_assert_int_eq(al_batch_add(b, ev, 200, NULL), AL_ERR_OK);
    ck_assert_int_eq(al_batch_add(b, ev, 200, NULL), AL_ERR_OK);
    ck_assert_int_eq(al_batch_fits(b, 1), 0);
    al_batch_finish(b);
    ck_assert_uint_eq(b->len, opts.max_bytes);
    al_batch_free(b);
    /* one byte less: the second event must wait for the next batch */
    opts.max_bytes--;
    b = al_batch_new(&opts);
    ck_assert_int_eq(al_batch_add(b, ev, 200, NULL), AL_ERR_OK);
    ck_assert_int_eq(al_batch_fits(b, 200), 0);
    al_batch_free(b);
}
END_TEST

START_TEST(bodies_parse_as_json_with_every_event_intact)
{
    al_batch_t *b = al_batch_new(&opts);
    json_error_t err;
    json_t *doc;
    char ev[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(ev, sizeof(ev), "{\"event_type\":\"e%d\",\"n\":%d}", i, i);
        ck_assert_int_eq(al_batch_add(b, ev, (size_t)n, NULL), AL_ERR_OK);
    }
    ck_assert_int_eq(al_batch_fits(b, 2), 0);
    al_batch_finish(b);
    doc = json_loadb(b->body, b->len, 0, &err);
    ck_assert_msg(doc != NULL, "%s", err.text);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "api_key")), "KEY\"1");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "events")), 2000);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(doc, "events"), 1999), "n")),
                     1999);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(doc, "options"), "min_id_length")), 5);
    json_decref(doc);
    al_batch_free(b);
}
END_TEST

START_TEST(grows_its_buffer_up_to_the_limit_and_resets)
{
    al_batch_t *b = al_batch_new(&opts);
    size_t big = 1500 * 1000;
    char *ev = malloc(big);
    memset(ev, ' ', big);
    ev[0] = '{';
    ev[big - 1] = '}';
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(al_batch_fits(b, big), 1);
        ck_assert_int_eq(al_batch_add(b, ev, big, NULL), AL_ERR_OK);
    }
    ck_assert_int_eq(al_batch_fits(b, big), 0); /* 13 x 1.5 MB + envelope > 19.5 MB */
    al_batch_finish(b);
    ck_assert_uint_le(b->len, opts.max_bytes);
    al_batch_reset(b);
    ck_assert_uint_eq(b->events, 0);
    ck_assert_uint_eq(b->len, al_batch_envelope_bytes(&opts) -
                                  strlen("],\"options\":{\"min_id_length\":5}}"));
    free(ev);
    al_batch_free(b);
}
END_TEST

START_TEST(omits_options_when_min_id_length_is_zero)
{
    al_batch_t *b;
    opts.min_id_length = 0;
    opts.api_key[0] = '\0';
    b = al_batch_new(&opts);
    al_batch_add(b, "{}", 2, NULL);
    al_batch_finish(b);
    ck_assert_int_eq(memcmp(b->body, "{\"api_key\":\"\",\"events\":[{}]}", b->len), 0);
    al_batch_free(b);
}
END_TEST

START_TEST(freed_batches_are_reused_empty_and_drained)
{
    al_batch_opts_t o, o2;
    al_batch_t *a, *b, *c;
    al_batch_opts_init(&o);
    snprintf(o.api_key, sizeof(o.api_key), "key-one");
    al_batch_opts_init(&o2);
    snprintf(o2.api_key, sizeof(o2.api_key), "another-key");
    o2.min_id_length = 0;
    al_batch_pool_drain();

    a = al_batch_new(&o);
    ck_assert_int_eq(al_batch_add(a, "{\"e\":1}", 7, NULL), AL_ERR_OK);
    al_batch_finish(a);
    al_batch_free(a);
    /* the same memory comes back, empty, with the new options' envelope */
    b = al_batch_new(&o2);
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(b->events, 0);
    ck_assert_int_eq(b->finished, 0);
    ck_assert_ptr_eq(b->opts, &o2);
    ck_assert_int_eq(al_batch_add(b, "{\"f\":2}", 7, NULL), AL_ERR_OK);
    al_batch_finish(b);
    ck_assert_uint_eq(b->len, strlen("{\"api_key\":\"another-key\",\"events\":[{\"f\":2}]}"));
    ck_assert_int_eq(
        memcmp(b->body, "{\"api_key\":\"another-key\",\"events\":[{\"f\":2}]}", b->len), 0);
    /* a body grown far past the usual size is not kept */
    c = al_batch_new(&o);
    {
        size_t big = 3u << 20;
        char *ev = malloc(big);
        memset(ev, ' ', big);
        ev[0] = '{';
        ev[big - 1] = '}';
        ck_assert_int_eq(al_batch_add(c, ev, big, NULL), AL_ERR_OK);
        free(ev);
    }
    al_batch_free(c);
    al_batch_free(b);
    a = al_batch_new(&o);
    ck_assert_ptr_eq(a, b); /* b was kept; c was freed */
    ck_assert_uint_le(a->cap, 2u << 20);
    al_batch_free(a);
    al_batch_pool_drain();
}
END_TEST

/* Inflates a gzip stream with zlib: another implementation than batch.c's
 * ISA-L. */
static char *gunzip(const void *in, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = 64u << 20;
    char *out = malloc(cap);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(z.avail_in, 0);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

START_TEST(gzip_bodies_inflate_to_the_plain_body)
{
    al_batch_opts_t o;
    al_batch_t *b;
    const void *wire;
    size_t wire_len, n;
    char ev[200], *plain;

    al_batch_opts_init(&o);
    snprintf(o.api_key, sizeof(o.api_key), "k");
    /* off: the wire is the body */
    b = al_batch_new(&o);
    ck_assert_int_eq(al_batch_add(b, "{\"e\":1}", 7, NULL), AL_ERR_OK);
    al_batch_finish(b);
    wire = al_batch_wire(b, &wire_len);
    ck_assert_ptr_eq(wire, b->body);
    ck_assert_uint_eq(wire_len, b->len);
    al_batch_free(b);
    /* on: the wire is a gzip stream of exactly the body, much smaller */
    o.gzip_level = 1;
    b = al_batch_new(&o);
    for (int i = 0; i < 2000; i++) {
        int len = snprintf(ev, sizeof(ev),
                           "{\"event_type\":\"Page Viewed\",\"user_id\":\"user_%06d@example.com\","
                           "\"time\":%d}",
                           i % 300, 1700000000 + i);
        ck_assert_int_eq(al_batch_add(b, ev, (size_t)len, NULL), AL_ERR_OK);
    }
    al_batch_finish(b);
    wire = al_batch_wire(b, &wire_len);
    ck_assert_ptr_eq(wire, b->gz);
    ck_assert_uint_eq(wire_len, b->gz_len);
    ck_assert_uint_lt(wire_len, b->len / 4);
    plain = gunzip(wire, wire_len, &n);
    ck_assert_uint_eq(n, b->len);
    ck_assert_int_eq(memcmp(plain, b->body, n), 0);
    free(plain);
    /* reused from the pool, a batch is compressed afresh */
    al_batch_free(b);
    b = al_batch_new(&o);
    ck_assert_uint_eq(b->gz_len, 0);
    ck_assert_int_eq(al_batch_add(b, "{\"e\":2}", 7, NULL), AL_ERR_OK);
    al_batch_finish(b);
    wire = al_batch_wire(b, &wire_len);
    plain = gunzip(wire, wire_len, &n);
    ck_assert_uint_eq(n, b->len);
    ck_assert_int_eq(memcmp(plain, b->body, n), 0);
    free(plain);
    al_batch_free(b);
    al_batch_pool_drain();
}
END_TEST

/* zlib's level-1 gzip size of n bytes: the size --gzip must not exceed. */
static size_t zlib_level1_size(const void *in, size_t n)
{
    z_stream z;
    size_t cap = n + n / 100 + 1024, out;
    unsigned char *buf = malloc(cap);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out = z.total_out;
    deflateEnd(&z);
    free(buf);
    return out;
}

typedef struct {
    al_batch_t *b;
} fill_t;

static void add_line(void *ctx, const char *line, size_t len)
{
    fill_t *f = ctx;
    if (!al_batch_fits(f->b, len))
        return;
    ck_assert_int_eq(al_batch_add(f->b, line, len, NULL), AL_ERR_OK);
}

/* On generated events (varied ids, properties, times), the gzip body is
 * byte for byte the plain one once inflated by zlib, and no larger than
 * zlib's level 1 would make it; incompressible bytes go as stored blocks. */
START_TEST(gzip_bodies_are_no_larger_than_zlib_level_1)
{
    char *dir = fx_tempdir(), *path = fx_path(dir, "ev.ndjson"), *plain;
    al_batch_opts_t o;
    fill_t f;
    const void *wire;
    size_t wire_len, n, zsize;
    char ev[1200];
    uint64_t x = 88172645463325252ULL;

    fx_generate(path, 2000, 17, NULL);
    al_batch_opts_init(&o);
    snprintf(o.api_key, sizeof(o.api_key), "k");
    o.gzip_level = 1;
    f.b = al_batch_new(&o);
    fx_each_line(path, add_line, &f);
    al_batch_finish(f.b);
    ck_assert_uint_gt(f.b->events, 1000);
    wire = al_batch_wire(f.b, &wire_len);
    zsize = zlib_level1_size(f.b->body, f.b->len);
    ck_assert_msg(wire_len <= zsize, "gzip body %zu bytes, zlib level 1 %zu", wire_len, zsize);
    plain = gunzip(wire, wire_len, &n);
    ck_assert_uint_eq(n, f.b->len);
    ck_assert_int_eq(memcmp(plain, f.b->body, n), 0);
    free(plain);
    al_batch_free(f.b);
    /* random hex in every event: little to gain, still exact */
    f.b = al_batch_new(&o);
    for (int i = 0; i < 500; i++) {
        int len =
            snprintf(ev, sizeof(ev), "{\"event_type\":\"r\",\"user_id\":\"u%05d\",\"p\":\"", i);
        for (int k = 0; k < 1000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ev[len++] = "0123456789abcdef"[x & 15];
        }
        len += snprintf(ev + len, sizeof(ev) - (size_t)len, "\"}");
        ck_assert_int_eq(al_batch_add(f.b, ev, (size_t)len, NULL), AL_ERR_OK);
    }
    al_batch_finish(f.b);
    wire = al_batch_wire(f.b, &wire_len);
    ck_assert_ptr_eq(wire, f.b->gz);
    plain = gunzip(wire, wire_len, &n);
    ck_assert_uint_eq(n, f.b->len);
    ck_assert_int_eq(memcmp(plain, f.b->body, n), 0);
    free(plain);
    al_batch_free(f.b);
    al_batch_pool_drain();
    fx_rmtree(dir);
    free(dir);
    free(path);
}
END_TEST

/* Identify: the body is the JSON array; the wire is the form, each value
 * percent-encoded, and a subset rebuilt from it is a form again. */
START_TEST(an_identify_batch_goes_as_a_form)
{
    static const char *const e1 = "{\"user_id\":\"a b\"}", *const e2 = "{\"p\":\"%\u00e9\"}";
    static const char *const all =
        "api_key=k%26%3D%2B+y&identification="
        "%5B%7B%22user_id%22%3A%22a+b%22%7D%2C%7B%22p%22%3A%22%25%C3%A9%22%7D%5D";
    static const char *const second = "api_key=k%26%3D%2B+y&identification="
                                      "%5B%7B%22p%22%3A%22%25%C3%A9%22%7D%5D";
    al_batch_opts_t fo;
    al_batch_t *b, *c;
    al_origin_t o = {.line = 1};
    const char *wire;
    size_t n;

    al_batch_opts_init(&fo);
    strcpy(fo.api_key, "k&=+ y");
    fo.form = 1;
    b = al_batch_new(&fo);
    ck_assert_int_eq(al_batch_add(b, e1, strlen(e1), &o), AL_ERR_OK);
    ck_assert_int_eq(al_batch_add(b, e2, strlen(e2), &o), AL_ERR_OK);
    ck_assert_int_eq(al_batch_finish(b), AL_ERR_OK);
    ck_assert_uint_eq(b->len, strlen(e1) + strlen(e2) + 3);
    ck_assert_int_eq(memcmp(b->body, "[{\"user_id\":\"a b\"},{\"p\":\"%\u00e9\"}]", b->len), 0);
    wire = al_batch_wire(b, &n);
    ck_assert_uint_eq(n, strlen(all));
    ck_assert_int_eq(memcmp(wire, all, n), 0);
    c = al_batch_new(&fo);
    ck_assert_int_eq(al_batch_add_from(c, b, 1), AL_ERR_OK);
    ck_assert_int_eq(al_batch_finish(c), AL_ERR_OK);
    wire = al_batch_wire(c, &n);
    ck_assert_uint_eq(n, strlen(second));
    ck_assert_int_eq(memcmp(wire, second, n), 0);
    al_batch_free(b);
    al_batch_free(c);
}
END_TEST

static Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, freed_batches_are_reused_empty_and_drained);
    tcase_add_test(tc, builds_the_documented_envelope);
    tcase_add_test(tc, gzip_bodies_inflate_to_the_plain_body);
    tcase_add_test(tc, gzip_bodies_are_no_larger_than_zlib_level_1);
    tcase_add_test(tc, stops_at_the_event_limit);
    tcase_add_test(tc, counts_the_envelope_against_the_byte_limit);
    tcase_add_test(tc, bodies_parse_as_json_with_every_event_intact);
    tcase_add_test(tc, grows_its_buffer_up_to_the_limit_and_resets);
    tcase_add_test(tc, omits_options_when_min_id_length_is_zero);
    tcase_add_test(tc, an_identify_batch_goes_as_a_form);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(batch_suite());
}
