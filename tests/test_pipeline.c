/* test_pipeline.c - the threaded read path against an independent judge.
 *
 * Each run is compared line by line with event_check (jansson): every valid
 * line must arrive in exactly one batch, byte for byte; every other line
 * must be counted under the same reason; the counts must add up. */
#include "event_check.h"
#include "fixtures.h"
#include "pipeline.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static al_state_t *st; /* dir as the state directory, fresh (no checkpoint) */

static void setup(void)
{
    al_diag_t d;
    dir = fx_tempdir();
    ck_assert_int_eq(al_state_new(dir, &st, &d), AL_ERR_OK);
}

static void teardown(void)
{
    al_state_free(st);
    fx_rmtree(dir);
    free(dir);
}

/* Replaces st with the state of a run resuming input paths[0] at mark: a
 * checkpoint written as a run would, then taken and resumed. */
static void resume_at(const char *const *paths, const al_mark_t *mark)
{
    al_resume_opts_t ro = {.names = paths, .n = 1};
    al_ckpt_t *ck;
    al_diag_t d;
    ck_assert_int_eq(
        al_ckpt_new(&ck, al_state_path(st, AL_STATE_CHECKPOINT), paths, NULL, 1, NULL, mark, &d),
        AL_ERR_OK);
    ck_assert_int_eq(al_ckpt_save(ck, NULL, 0, &d), AL_ERR_OK);
    al_ckpt_free(ck);
    ck_assert_int_eq(al_state_take(st, &d), AL_ERR_OK);
    ck_assert_int_eq(al_state_resume(st, &ro, NULL, &d), AL_ERR_OK);
    ck_assert(al_state_resumed(st));
}

typedef struct {
    pthread_mutex_t lock;
    const char *text; /* the input, to compare event bytes with */
    /* several inputs (zip members): each one's text, and the number of
     * lines before it in the whole; NULL for one input */
    char **texts;
    const uint64_t *line_base;
    uint8_t *seen; /* times each line arrived, by line number */
    uint64_t nlines;
    uint64_t batches;
    uint64_t events;
    int fail_after; /* refuse the batch after this many, 0 = never */
    int bad;        /* a batch broke a limit or carried foreign bytes */
    /* sharding: which shard sent each id key seen so far (-1 none), read from
     * the event by jansson; NULL when not checked */
    int shard;
    int *key_shard;
} collector_t;

/* Shard test ids: "dev-NN" -> NN, "user-NN" -> 100 + NN (device first). */
static int shard_key_of(const char *event, size_t len)
{
    json_t *ev = json_loadb(event, len, 0, NULL);
    const char *dev = json_string_value(json_object_get(ev, "device_id"));
    const char *user = json_string_value(json_object_get(ev, "user_id"));
    int k = -1, nn;
    if (dev != NULL && sscanf(dev, "dev-%d", &nn) == 1)
        k = nn;
    else if (dev == NULL && user != NULL && sscanf(user, "user-%d", &nn) == 1)
        k = 100 + nn;
    json_decref(ev);
    return k;
}

static al_err_t collect(void *ctx, al_batch_t *b)
{
    collector_t *c = ctx;
    al_err_t err = AL_ERR_OK;
    pthread_mutex_lock(&c->lock);
    c->batches++;
    if (c->fail_after && (int)c->batches > c->fail_after) {
        err = AL_ERR_WRITE;
        goto out;
    }
    if (b->len > b->opts->max_bytes || b->events > b->opts->max_events || !b->finished)
        c->bad = 1;
    for (uint32_t i = 0; i < b->events; i++) {
        const al_origin_t *o = &b->origin[i];
        const char *text = c->texts != NULL ? c->texts[o->file_id] : c->text;
        uint64_t line = o->line + (c->line_base != NULL ? c->line_base[o->file_id] : 0);
        if (o->line == 0 || line > c->nlines ||
            memcmp(b->body + b->off[i], text + o->offset, b->elen[i]) != 0)
            c->bad = 1;
        else
            c->seen[line]++;
        if (c->key_shard != NULL) {
            int k = shard_key_of(b->body + b->off[i], b->elen[i]);
            if (k < 0 || (c->key_shard[k] >= 0 && c->key_shard[k] != c->shard))
                c->bad = 1; /* one id's events went through two shards */
            else
                c->key_shard[k] = c->shard;
        }
        c->events++;
    }
out:
    pthread_mutex_unlock(&c->lock);
    al_batch_free(b);
    return err;
}

typedef struct {
    uint64_t lines, blank, valid;
    uint64_t by_reason[AL_REASON_COUNT];
    uint8_t *valid_line; /* by line number */
} expected_t;

static void judge(const char *text, size_t n, expected_t *e, unsigned min_id, size_t max_bytes)
{
    const char *p = text, *end = text + n;
    memset(e, 0, sizeof(*e));
    e->valid_line = calloc(n + 2, 1);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        const char *why;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        e->lines++;
        why = mock_check_line(p, len, min_id, max_bytes);
        if (why == NULL) {
            e->valid++;
            e->valid_line[e->lines] = 1;
        } else if (strcmp(why, "blank") == 0) {
            e->blank++;
        } else {
            int k;
            for (k = 1; k < AL_REASON_COUNT; k++)
                if (strcmp(al_reason_key((al_reason_code_t)k), why) == 0)
                    break;
            ck_assert_msg(k < AL_REASON_COUNT, "unknown reason %s", why);
            e->by_reason[k]++;
        }
        p = nl ? nl + 1 : end;
    }
}

/* Runs path (plain, or compressed: then text_path holds its text) and
 * compares every line with the judge. */
static void run_and_compare_text(const char *path, const char *text_path, uint32_t threads,
                                 size_t chunk_bytes)
{
    al_pipeline_opts_t o;
    collector_t c;
    expected_t e;
    al_stats_t s;
    al_diag_t d;
    al_input_t in;
    al_live_t live;
    size_t n;
    char *text = fx_read(text_path, &n);
    char *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[1] = {path};
    size_t stored;
    free(fx_read(path, &stored)); /* progress counts bytes as stored */

    judge(text, n, &e, 5, 1024 * 1024);
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.lock, NULL);
    c.text = text;
    c.nlines = e.lines;
    c.seen = calloc(e.lines + 2, 1);
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 1;
    o.threads = threads;
    o.chunk_bytes = chunk_bytes;
    o.state = st;
    o.sink = collect;
    o.sink_ctx = &c;
    memset(&live, 0, sizeof(live));
    o.live = &live;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_OK);
    /* the live view, added per chunk, ends where the merged counts do */
    ck_assert_uint_eq(atomic_load(&live.lines_read), s.lines_read);
    ck_assert_uint_eq(atomic_load(&live.rejected), s.rejected_local);
    ck_assert_uint_eq(atomic_load(&live.skipped), s.skipped);
    ck_assert_uint_eq(atomic_load(&live.total_bytes), stored);
    ck_assert_uint_eq(al_live_done_bytes(&live, 0), stored);
    ck_assert_int_eq(in.err, AL_ERR_OK);
    ck_assert_int_eq(c.bad, 0);
    ck_assert_uint_eq(s.lines_read, e.lines);
    ck_assert_uint_eq(in.lines, e.lines);
    ck_assert_uint_eq(s.skipped, e.blank);
    ck_assert_uint_eq(s.events_valid, e.valid);
    ck_assert_uint_eq(c.events, e.valid);
    ck_assert_uint_eq(s.batches_built, c.batches);
    ck_assert_uint_eq(s.lines_read, s.events_valid + s.rejected_local + s.skipped);
    for (int k = 1; k < AL_REASON_COUNT; k++)
        ck_assert_msg(s.rejected_by_reason[k] == e.by_reason[k], "%s: %llu, judge says %llu",
                      al_reason_key((al_reason_code_t)k),
                      (unsigned long long)s.rejected_by_reason[k],
                      (unsigned long long)e.by_reason[k]);
    for (uint64_t l = 1; l <= e.lines; l++)
        ck_assert_msg(c.seen[l] == e.valid_line[l], "line %llu arrived %d times, expected %d",
                      (unsigned long long)l, c.seen[l], e.valid_line[l]);
    ck_assert_uint_eq(s.bytes_read, n);
    free(c.seen);
    free(e.valid_line);
    free(text);
    free(rej);
    pthread_mutex_destroy(&c.lock);
}

static void run_and_compare(const char *path, uint32_t threads, size_t chunk_bytes)
{
    run_and_compare_text(path, path, threads, chunk_bytes);
}

START_TEST(every_valid_line_arrives_once_with_one_thread)
{
    char *p = fx_path(dir, "g.ndjson");
    fx_generate(p, 20000, 11, "--bad-rate 0.05 --blank-rate 0.01");
    run_and_compare(p, 1, 0);
    free(p);
}
END_TEST

START_TEST(every_valid_line_arrives_once_with_four_threads_and_small_chunks)
{
    char *p = fx_path(dir, "g.ndjson");
    fx_generate(p, 20000, 12, "--bad-rate 0.05 --blank-rate 0.01 --crlf --no-newline-at-end");
    run_and_compare(p, 4, 4096);
    run_and_compare(p, 2, 65536);
    free(p);
}
END_TEST

/* gzip in many members: 1 to 4 threads, small and large chunks. */
START_TEST(gzip_input_gives_every_line_once)
{
    char *p = fx_path(dir, "g.ndjson"), *z = fx_path(dir, "g.gz");
    size_t n;
    char *text;
    fx_generate(p, 20000, 15, "--bad-rate 0.05 --blank-rate 0.01 --crlf --no-newline-at-end");
    text = fx_read(p, &n);
    fx_write_gzip(z, text, n, 500000, 1);
    for (uint32_t threads = 1; threads <= 4; threads++)
        run_and_compare_text(z, p, threads, threads % 2 ? 4096 : 1 << 20);
    free(text);
    free(p);
    free(z);
}
END_TEST

START_TEST(zstd_input_gives_the_same_counts)
{
    char *p = fx_path(dir, "g.ndjson"), *z = fx_path(dir, "g.zst");
    al_pipeline_opts_t o;
    al_stats_t sp, sz;
    al_diag_t d;
    al_input_t in;
    size_t n;
    char *text, *rej = fx_path(dir, "rejected.ndjson");
    const char *pp[1] = {p}, *zp[1] = {z};
    fx_generate(p, 10000, 13, "--bad-rate 0.1");
    text = fx_read(p, &n);
    fx_write_zstd(z, text, n, 300000);
    al_pipeline_opts_init(&o);
    o.threads = 2;
    o.state = st;
    o.npaths = 1;
    o.paths = pp;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &sp, &d), AL_ERR_OK);
    o.paths = zp;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &sz, &d), AL_ERR_OK);
    ck_assert_int_eq(in.format, AL_FORMAT_ZSTD);
    ck_assert_uint_eq(sp.lines_read, sz.lines_read);
    ck_assert_uint_eq(sp.events_valid, sz.events_valid);
    ck_assert_uint_eq(sp.rejected_local, sz.rejected_local);
    ck_assert_uint_eq(sp.bytes_read, sz.bytes_read);
    ck_assert_mem_eq(sp.rejected_by_reason, sz.rejected_by_reason, sizeof(sp.rejected_by_reason));
    free(text);
    free(p);
    free(z);
    free(rej);
}
END_TEST

/* A zip archive in Amplitude's export layout and others (stored, deflated,
 * gzip inside each; a directory and a resource fork to skip) gives every
 * valid line of its members once, byte for byte, with 1 to 4 threads and
 * small chunks. */
START_TEST(zip_members_give_every_line_once)
{
    char *p = fx_path(dir, "g.ndjson"), *z = fx_path(dir, "export.zip");
    char *rej = fx_path(dir, "rejected.ndjson");
    const char *names[4] = {"p/p_2026#1.json.gz", "p/p_2026#2.json", "p/p_2026#3.json.gz",
                            "p/p_2026#10.json"};
    char *parts[4];
    uint64_t base[4];
    fx_member_t m[6];
    al_sources_t srcs;
    const char *zp[1] = {z};
    size_t n, at = 0;
    char *text;
    expected_t e;

    fx_generate(p, 20000, 14, "--bad-rate 0.05 --blank-rate 0.01 --crlf --no-newline-at-end");
    text = fx_read(p, &n);
    judge(text, n, &e, 5, 1024 * 1024);
    for (int k = 0; k < 4; k++) { /* four parts, cut at line ends */
        size_t end = k == 3 ? n : at + n / 4;
        const char *cut = k == 3 ? NULL : memchr(text + end, '\n', n - end);
        size_t len = (cut != NULL ? (size_t)(cut - text) + 1 : n) - at;
        uint64_t lines = 0;
        for (size_t i = 0; i < at; i++)
            lines += text[i] == '\n';
        base[k] = lines;
        parts[k] = malloc(len + 1);
        memcpy(parts[k], text + at, len);
        m[k] = (fx_member_t){names[k], parts[k], len, k >= 2, k % 2 == 0};
        at += len;
    }
    m[4] = (fx_member_t){"p/", NULL, 0, 0, 0};
    m[5] = (fx_member_t){"__MACOSX/p/._p_2026#1.json.gz", "xx", 2, 0, 0};
    /* written out of order: the reader sorts them */
    {
        fx_member_t shuffled[6] = {m[3], m[5], m[1], m[4], m[0], m[2]};
        fx_write_zip(z, shuffled, 6);
    }
    for (uint32_t threads = 1; threads <= 4; threads++) {
        al_pipeline_opts_t o;
        collector_t c;
        al_stats_t s;
        al_diag_t d;
        al_input_t in[4];
        ck_assert_int_eq(al_sources_expand(&srcs, zp, 1, &d), AL_ERR_OK);
        ck_assert_uint_eq(srcs.n, 4);
        memset(&c, 0, sizeof(c));
        pthread_mutex_init(&c.lock, NULL);
        c.texts = parts;
        c.line_base = base;
        c.nlines = e.lines;
        c.seen = calloc(e.lines + 2, 1);
        al_pipeline_opts_init(&o);
        o.paths = srcs.names;
        o.npaths = srcs.n;
        o.sources = &srcs;
        o.threads = threads;
        o.chunk_bytes = threads % 2 ? 4096 : 65536;
        o.state = st;
        o.sink = collect;
        o.sink_ctx = &c;
        ck_assert_int_eq(al_pipeline_run(&o, in, &s, &d), AL_ERR_OK);
        for (int k = 0; k < 4; k++)
            ck_assert_msg(in[k].err == AL_ERR_OK, "%s", in[k].diag.detail);
        ck_assert_int_eq(in[0].format, AL_FORMAT_GZIP);
        ck_assert_int_eq(in[1].format, AL_FORMAT_PLAIN);
        ck_assert_int_eq(c.bad, 0);
        ck_assert_uint_eq(s.lines_read, e.lines);
        ck_assert_uint_eq(s.events_valid, e.valid);
        ck_assert_uint_eq(s.skipped, e.blank);
        ck_assert_uint_eq(s.bytes_read, n);
        for (uint64_t l = 1; l <= e.lines; l++)
            ck_assert_msg(c.seen[l] == e.valid_line[l], "line %llu arrived %d times, expected %d",
                          (unsigned long long)l, c.seen[l], e.valid_line[l]);
        free(c.seen);
        pthread_mutex_destroy(&c.lock);
        al_sources_free(&srcs);
    }
    for (int k = 0; k < 4; k++)
        free(parts[k]);
    free(e.valid_line);
    free(text);
    free(p);
    free(z);
    free(rej);
}
END_TEST

START_TEST(a_missing_input_stops_the_run_before_any_work)
{
    char *p = fx_path(dir, "g.ndjson"), *missing = fx_path(dir, "missing.ndjson");
    char *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[2] = {p, missing};
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in[2];
    fx_generate(p, 100, 1, "--bad-rate 0.5");
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 2;
    o.state = st;
    ck_assert_int_eq(al_pipeline_run(&o, in, &s, &d), AL_ERR_NOT_FOUND);
    ck_assert_str_eq(d.path, missing);
    ck_assert_int_eq(in[1].err, AL_ERR_NOT_FOUND);
    ck_assert_uint_eq(s.lines_read, 0);
    free(p);
    free(missing);
    free(rej);
}
END_TEST

START_TEST(an_input_that_breaks_midway_does_not_stop_the_others)
{
    char *a = fx_path(dir, "a.ndjson"), *z = fx_path(dir, "b.zst"), *c = fx_path(dir, "c.ndjson");
    char *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[3] = {a, z, c};
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in[3];
    size_t n, zn;
    char *text, *zdata;
    fx_generate(a, 1000, 1, NULL);
    fx_generate(c, 1000, 2, NULL);
    text = fx_read(a, &n);
    fx_write_zstd(z, text, n, n / 4);
    zdata = fx_read(z, &zn);
    fx_write(z, zdata, zn - 50); /* cut short */
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 3;
    o.threads = 2;
    o.state = st;
    ck_assert_int_eq(al_pipeline_run(&o, in, &s, &d), AL_ERR_OK);
    ck_assert_int_eq(in[0].err, AL_ERR_OK);
    ck_assert_int_eq(in[1].err, AL_ERR_ZSTD_TRUNCATED);
    ck_assert_int_eq(in[2].err, AL_ERR_OK);
    ck_assert_uint_eq(in[0].lines, 1000);
    ck_assert_uint_eq(in[2].lines, 1000);
    ck_assert_uint_gt(in[1].lines, 500);
    ck_assert_uint_lt(in[1].lines, 1000);
    ck_assert_uint_eq(s.lines_read, 2000 + in[1].lines);
    ck_assert_uint_eq(s.lines_read, s.events_valid + s.rejected_local + s.skipped);
    free(text);
    free(zdata);
    free(a);
    free(z);
    free(c);
    free(rej);
}
END_TEST

START_TEST(a_sink_error_stops_the_run_without_hanging)
{
    char *p = fx_path(dir, "g.ndjson"), *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[1] = {p};
    collector_t c;
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in;
    size_t n;
    fx_generate(p, 30000, 3, NULL);
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.lock, NULL);
    c.text = fx_read(p, &n);
    c.nlines = 30000;
    c.seen = calloc(30002, 1);
    c.fail_after = 2;
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 1;
    o.threads = 3;
    o.chunk_bytes = 65536;
    o.state = st;
    o.sink = collect;
    o.sink_ctx = &c;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_WRITE);
    free((char *)c.text);
    free(c.seen);
    free(p);
    free(rej);
}
END_TEST

START_TEST(refuses_events_that_could_never_fit_a_batch)
{
    char *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[1] = {"/dev/null"};
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in;
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 1;
    o.state = st;
    o.batch.max_bytes = 4096;
    o.rules.max_event_bytes = 4096;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_INVALID_ARG);
    free(rej);
}
END_TEST

/* A run has a state directory: its reject file (and, sending, the failed
 * and held files) live there. A run without one is refused. */
START_TEST(refuses_a_run_without_a_state_directory)
{
    const char *paths[1] = {"/dev/null"};
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in;
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 1;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_INVALID_ARG);
}
END_TEST

/* Progress counts what this run has to read: a plain input resumed at its
 * mark is measured from there, in bytes as stored. */
START_TEST(progress_of_a_resumed_plain_input_starts_at_its_mark)
{
    char *p = fx_path(dir, "g.ndjson"), *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[1] = {p};
    al_pipeline_opts_t o;
    al_live_t live;
    al_mark_t mark = {0};
    al_stats_t s;
    al_diag_t d;
    al_input_t in;
    size_t n;
    char *text;
    const char *q;

    fx_generate(p, 3000, 14, NULL);
    text = fx_read(p, &n);
    q = text;
    for (int line = 1; line < 1001; line++)
        q = strchr(q, '\n') + 1;
    mark.offset = (uint64_t)(q - text);
    mark.line = 1001;
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 1;
    o.threads = 2;
    resume_at(paths, &mark);
    o.state = st;
    memset(&live, 0, sizeof(live));
    o.live = &live;
    ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_OK);
    ck_assert_uint_eq(atomic_load(&live.total_bytes), n - mark.offset);
    ck_assert_uint_eq(atomic_load(&live.src_parsed), n - mark.offset);
    ck_assert_uint_eq(atomic_load(&live.lines_read), 2000);
    ck_assert_uint_eq(s.lines_read, 3000); /* the first 1000 count as skipped */
    free(text);
    free(rej);
    free(p);
}
END_TEST

/* While sending, done bytes are the parsed bytes in the proportion of their
 * lines that are resolved; without sending, the parsed bytes. */
START_TEST(done_bytes_follow_the_resolved_share_of_parsed_lines)
{
    al_live_t l;
    memset(&l, 0, sizeof(l));
    ck_assert_uint_eq(al_live_done_bytes(&l, 1), 0);
    atomic_store(&l.src_parsed, 1000000);
    atomic_store(&l.lines_read, 1000);
    ck_assert_uint_eq(al_live_done_bytes(&l, 0), 1000000);
    ck_assert_uint_eq(al_live_done_bytes(&l, 1), 0); /* parsed, nothing resolved yet */
    atomic_store(&l.events_sent, 200);
    atomic_store(&l.rejected, 30);
    atomic_store(&l.failed, 10);
    atomic_store(&l.skipped, 10);
    ck_assert_uint_eq(al_live_done_bytes(&l, 1), 250000);
    atomic_store(&l.events_sent, 990);
    ck_assert_uint_eq(al_live_done_bytes(&l, 1), 1000000); /* never past what was parsed */
}
END_TEST

/* Lines for the shard test: 40 devices (some spelled with escapes), events
 * with only a user_id, refused lines and blank ones. */
static char *shard_input(size_t *n, uint64_t *valid, uint64_t *bad, uint64_t *blank)
{
    size_t cap = 6000 * 80, len = 0;
    char *t = malloc(cap);
    *valid = *bad = *blank = 0;
    for (int i = 0; i < 6000; i++) {
        int k = i % 40;
        if (i % 97 == 5) {
            len += (size_t)snprintf(t + len, cap - len, "\n");
            (*blank)++;
        } else if (i % 50 == 3) {
            len += (size_t)snprintf(t + len, cap - len, "{\"event_type\":\"no id %d\"}\n", i);
            (*bad)++;
        } else if (i % 5 == 1) {
            len += (size_t)snprintf(t + len, cap - len,
                                    "{\"event_type\":\"e\",\"user_id\":\"user-%02d\"}\n", k);
            (*valid)++;
        } else {
            len += (size_t)snprintf(t + len, cap - len,
                                    i % 7 == 0
                                        ? "{\"event_type\":\"e\",\"device_id\":\"dev\\u002d%02d\","
                                          "\"user_id\":\"user-%02d\"}\n"
                                        : "{\"event_type\":\"e\",\"device_id\":\"dev-%02d\","
                                          "\"user_id\":\"user-%02d\"}\n",
                                    k, i % 13);
            (*valid)++;
        }
    }
    *n = len;
    return t;
}

static void count_reject_lines(void *ctx, const char *line, size_t len)
{
    uint8_t *rejected = ctx;
    json_t *rec = json_loadb(line, len, 0, NULL);
    json_int_t l = json_integer_value(json_object_get(rec, "line"));
    ck_assert_msg(l > 0 && l <= 6000, "reject record without a line: %.*s", (int)len, line);
    rejected[l]++;
    json_decref(rec);
}

START_TEST(shards_split_the_lines_and_keep_each_id_together)
{
    char *p = fx_path(dir, "s.ndjson"), *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[1] = {p};
    uint64_t valid, bad, blank, sum_valid = 0, sum_rejected = 0;
    size_t n;
    char *text = shard_input(&n, &valid, &bad, &blank);
    int key_shard[200];
    uint8_t rejected[6002] = {0};
    collector_t c;
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in;

    fx_write(p, text, n);
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.lock, NULL);
    c.text = text;
    c.nlines = 6000;
    c.seen = calloc(6002, 1);
    c.key_shard = key_shard;
    for (int k = 0; k < 200; k++)
        key_shard[k] = -1;
    for (uint32_t i = 0; i < 3; i++) {
        al_pipeline_opts_init(&o);
        o.paths = paths;
        o.npaths = 1;
        o.threads = 2;
        o.chunk_bytes = 4096;
        o.state = st;
        o.sink = collect;
        o.sink_ctx = &c;
        o.shard_index = i;
        o.shard_count = 3;
        c.shard = (int)i;
        ck_assert_int_eq(al_pipeline_run(&o, &in, &s, &d), AL_ERR_OK);
        ck_assert_uint_eq(s.lines_read, 6000);
        ck_assert_uint_eq(s.lines_read, s.events_valid + s.rejected_local + s.skipped);
        ck_assert_uint_eq(s.skipped, blank + s.skipped_shard);
        ck_assert_uint_gt(s.events_valid, 0); /* every shard has a share */
        sum_valid += s.events_valid;
        sum_rejected += s.rejected_local;
        fx_each_line(rej, count_reject_lines, rejected);
    }
    ck_assert_int_eq(c.bad, 0);
    ck_assert_uint_eq(sum_valid, valid);
    ck_assert_uint_eq(sum_rejected, bad);
    {
        uint64_t arrived = 0, refused = 0;
        for (int l = 1; l <= 6000; l++) {
            ck_assert_msg(c.seen[l] <= 1, "line %d sent by %d shards", l, c.seen[l]);
            ck_assert_msg(rejected[l] <= 1, "line %d rejected by %d shards", l, rejected[l]);
            ck_assert_msg(!(c.seen[l] && rejected[l]), "line %d both sent and rejected", l);
            arrived += c.seen[l];
            refused += rejected[l];
        }
        ck_assert_uint_eq(arrived, valid);
        ck_assert_uint_eq(refused, bad);
    }
    free(c.seen);
    free(text);
    free(p);
    free(rej);
    pthread_mutex_destroy(&c.lock);
}
END_TEST

/* Each input's validation counts, and the one rule on them: an input read
 * whole of which every line was refused; another input's valid events do
 * not excuse it, and one refused line among valid ones is not it. A
 * refused shape stops the run before any line is read. */
START_TEST(every_line_of_an_input_refused_is_told_apart)
{
    char *good = fx_path(dir, "good.ndjson"), *notes = fx_path(dir, "notes.txt"),
         *arr = fx_path(dir, "a.json"), *rej = fx_path(dir, "rejected.ndjson");
    const char *paths[2] = {good, notes}, *shaped[2] = {good, arr};
    const char *text = "first line of notes\n\nnot an event either\nnor this\n";
    const char *array = "[{\"event_type\":\"a\",\"user_id\":\"user-1\"}]\n";
    al_pipeline_opts_t o;
    al_stats_t s;
    al_diag_t d;
    al_input_t in[2];
    fx_generate(good, 3000, 4, "--bad-rate 0.1");
    fx_write(notes, text, strlen(text));
    fx_write(arr, array, strlen(array));
    al_pipeline_opts_init(&o);
    o.paths = paths;
    o.npaths = 2;
    o.threads = 3;
    o.chunk_bytes = 4096;
    o.state = st;
    ck_assert_int_eq(al_pipeline_run(&o, in, &s, &d), AL_ERR_OK);
    ck_assert_uint_eq(in[0].valid + in[0].rejected, 3000);
    ck_assert_uint_gt(in[0].rejected, 0);
    ck_assert(in[0].whole && in[1].whole);
    ck_assert(!al_input_all_rejected(&in[0]));
    ck_assert_uint_eq(in[1].valid, 0);
    ck_assert_uint_eq(in[1].rejected, 3); /* the blank line is no record */
    ck_assert_uint_eq(in[1].first_rejected_line, 1);
    ck_assert_str_eq(in[1].first_reason, "invalid JSON at column 1: invalid literal");
    ck_assert(al_input_all_rejected(&in[1]));
    o.paths = shaped;
    ck_assert_int_eq(al_pipeline_run(&o, in, &s, &d), AL_ERR_INPUT_SHAPE);
    ck_assert_str_eq(d.path, arr);
    ck_assert_uint_eq(s.lines_read, 0);
    free(good);
    free(notes);
    free(arr);
    free(rej);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_valid_line_arrives_once_with_one_thread);
    tcase_add_test(tc, progress_of_a_resumed_plain_input_starts_at_its_mark);
    tcase_add_test(tc, done_bytes_follow_the_resolved_share_of_parsed_lines);
    tcase_add_test(tc, every_valid_line_arrives_once_with_four_threads_and_small_chunks);
    tcase_add_test(tc, zstd_input_gives_the_same_counts);
    tcase_add_test(tc, gzip_input_gives_every_line_once);
    tcase_add_test(tc, zip_members_give_every_line_once);
    tcase_add_test(tc, a_missing_input_stops_the_run_before_any_work);
    tcase_add_test(tc, an_input_that_breaks_midway_does_not_stop_the_others);
    tcase_add_test(tc, a_sink_error_stops_the_run_without_hanging);
    tcase_add_test(tc, refuses_events_that_could_never_fit_a_batch);
    tcase_add_test(tc, refuses_a_run_without_a_state_directory);
    tcase_add_test(tc, every_line_of_an_input_refused_is_told_apart);
    tcase_add_test(tc, shards_split_the_lines_and_keep_each_id_together);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(pipeline_suite());
}
