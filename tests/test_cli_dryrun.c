/* test_cli_dryrun.c - the real ampload binary, --dry-run, checked line by line.
 *
 * For each input the expected verdict of every line comes from event_check
 * (jansson), never from the loader. The run's --report must match those
 * counts, the reject file must hold exactly the refused lines (right line
 * number, byte offset and original text), and plain, zstd and stdin runs of
 * the same data must agree with each other. */
#include "event_check.h"
#include "fixtures.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;
static const char *bin, *samples;

static void setup(void)
{
    dir = fx_tempdir();
    bin = getenv("AMPLOAD_BIN");
    samples = getenv("AMPLOAD_SAMPLES");
    ck_assert_msg(bin && samples, "run through ctest (AMPLOAD_BIN, AMPLOAD_SAMPLES)");
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

typedef struct {
    long lines, blank, valid, invalid;
    json_t *by_reason;  /* reason key -> count */
    char *invalid_line; /* by line number: 1 when the judge refuses it */
    long *offset;       /* by line number: byte offset of the line */
} expected_t;

static void judge_file(const char *path, expected_t *e)
{
    size_t n;
    char *text = fx_read(path, &n);
    const char *p = text, *end = text + n;
    memset(e, 0, sizeof(*e));
    e->by_reason = json_object();
    e->invalid_line = calloc(n + 2, 1);
    e->offset = calloc(n + 2, sizeof(long));
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        const char *why;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        e->lines++;
        e->offset[e->lines] = (long)(p - text);
        why = mock_check_line(p, len, 5, 1024 * 1024);
        if (why == NULL) {
            e->valid++;
        } else if (strcmp(why, "blank") == 0) {
            e->blank++;
        } else {
            json_t *c = json_object_get(e->by_reason, why);
            json_object_set_new(e->by_reason, why, json_integer(c ? json_integer_value(c) + 1 : 1));
            e->invalid++;
            e->invalid_line[e->lines] = 1;
        }
        p = nl ? nl + 1 : end;
    }
    free(text);
}

static void free_expected(expected_t *e)
{
    json_decref(e->by_reason);
    free(e->invalid_line);
    free(e->offset);
}

/* Runs ampload --dry-run on the inputs (a shell fragment); returns the report. */
static json_t *dry_run(const char *inputs, const char *state, int threads, int expect_rc)
{
    char *cmd = NULL, *report = fx_path(state, "report.json");
    json_error_t err;
    json_t *r;
    int rc;
    if (asprintf(&cmd, "'%s' --dry-run -q --threads %d --state '%s' --report '%s' %s", bin, threads,
                 state, report, inputs) < 0)
        ck_abort();
    rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == expect_rc, "%s: exit %d", cmd,
                  WEXITSTATUS(rc));
    r = json_load_file(report, 0, &err);
    ck_assert_msg(r != NULL, "report: %s", err.text);
    free(cmd);
    free(report);
    return r;
}

static long num(json_t *r, const char *key)
{
    json_t *v = json_object_get(r, key);
    ck_assert_msg(json_is_integer(v), "report has no integer %s", key);
    return (long)json_integer_value(v);
}

static void check_report(json_t *r, const expected_t *e)
{
    const char *k;
    json_t *v;
    static const char *const keys[] = {
        "lines_read", "events_sent",  "rejected_local", "rejected_server", "failed",
        "skipped",    "batches_sent", "requests",       "retries",         "http_429",
        "http_5xx",   "bytes_sent",   "batches_built",  "events_valid",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        num(r, keys[i]);
    ck_assert(json_is_number(json_object_get(r, "elapsed_s")));
    ck_assert(json_is_number(json_object_get(r, "events_per_s")));
    ck_assert(json_is_true(json_object_get(r, "dry_run")));
    ck_assert_int_eq(num(r, "lines_read"), e->lines);
    ck_assert_int_eq(num(r, "events_valid"), e->valid);
    ck_assert_int_eq(num(r, "rejected_local"), e->invalid);
    ck_assert_int_eq(num(r, "skipped"), e->blank);
    ck_assert_int_eq(num(r, "events_sent"), 0);
    ck_assert_int_eq(num(r, "lines_read"),
                     num(r, "events_valid") + num(r, "rejected_local") + num(r, "skipped"));
    ck_assert_int_eq(json_object_size(json_object_get(r, "rejected_by_reason")),
                     json_object_size(e->by_reason));
    json_object_foreach(e->by_reason, k, v)
    {
        json_t *got = json_object_get(json_object_get(r, "rejected_by_reason"), k);
        ck_assert_msg(got != NULL && json_integer_value(got) == json_integer_value(v),
                      "%s: report %lld, judge %lld", k, got ? json_integer_value(got) : -1LL,
                      json_integer_value(v));
    }
}

/* Every record of the reject file is a refused line, once, with its text.
 * With names (zip members: n of them), a record's line and offset count in
 * its member, which starts after base[k] lines of the judged input. */
static void check_rejects_in(const char *state, const char *input, const expected_t *e,
                             char *const *names, const uint64_t *base, int n_names)
{
    char *path = fx_path(state, "rejected.ndjson");
    size_t n, in_n;
    char *text = fx_read(path, &n);
    char *in = fx_read(input, &in_n);
    char *seen = calloc((size_t)e->lines + 2, 1);
    long records = 0;
    if (e->invalid == 0) {
        ck_assert_ptr_null(text);
        goto out;
    }
    ck_assert_ptr_nonnull(text);
    for (char *p = text; p < text + n; p = strchr(p, '\n') + 1) {
        json_error_t err;
        json_t *rec = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, &err);
        long line, off;
        const char *raw;
        ck_assert_msg(rec != NULL, "reject record is not JSON: %s", err.text);
        line = (long)json_integer_value(json_object_get(rec, "line"));
        off = (long)json_integer_value(json_object_get(rec, "offset"));
        if (names != NULL) {
            const char *file = json_string_value(json_object_get(rec, "file"));
            int k = 0;
            while (k < n_names && strcmp(file, names[k]) != 0)
                k++;
            ck_assert_msg(k < n_names, "reject record of an unknown input %s", file);
            line += (long)base[k];
            off += e->offset[base[k] + 1];
        }
        ck_assert_msg(line >= 1 && line <= e->lines && e->invalid_line[line],
                      "line %ld rejected but valid", line);
        ck_assert_msg(!seen[line], "line %ld rejected twice", line);
        seen[line] = 1;
        ck_assert_int_eq(off, e->offset[line]);
        ck_assert_str_ne(json_string_value(json_object_get(rec, "reason")), "");
        raw = json_string_value(json_object_get(rec, "raw"));
        if (raw != NULL)
            ck_assert_msg(strncmp(in + off, raw, strlen(raw)) == 0, "raw text of line %ld", line);
        else
            ck_assert(json_is_string(json_object_get(rec, "raw_base64")));
        records++;
        json_decref(rec);
    }
    ck_assert_int_eq(records, e->invalid);
out:
    free(seen);
    free(text);
    free(in);
    free(path);
}

static void check_rejects(const char *state, const char *input, const expected_t *e)
{
    check_rejects_in(state, input, e, NULL, NULL, 0);
}

static char *quoted(const char *a, const char *b)
{
    char *s = NULL;
    if (asprintf(&s, "'%s'%s", a, b ? b : "") < 0)
        ck_abort();
    return s;
}

static void check_sample(const char *name, int threads)
{
    char *path = fx_path(samples, name), *state = fx_path(dir, "state");
    char *arg = quoted(path, NULL);
    expected_t e;
    json_t *r;
    judge_file(path, &e);
    ck_assert_int_gt(e.lines, 0);
    r = dry_run(arg, state, threads, 0);
    check_report(r, &e);
    check_rejects(state, path, &e);
    json_decref(r);
    free_expected(&e);
    fx_rmtree(state);
    free(arg);
    free(path);
    free(state);
}

START_TEST(dry_run_on_the_sample_events)
{
    check_sample("events.ndjson", 2);
}
END_TEST

START_TEST(dry_run_on_the_sample_of_bad_lines_rejects_each_kind)
{
    expected_t e;
    char *path = fx_path(samples, "bad-lines.ndjson");
    judge_file(path, &e);
    /* the sample covers every reason the loader has */
    ck_assert_int_ge(json_object_size(e.by_reason), 14);
    free_expected(&e);
    free(path);
    check_sample("bad-lines.ndjson", 1);
}
END_TEST

START_TEST(sample_zst_matches_sample_plain)
{
    char *plain = fx_path(samples, "events.ndjson"), *zst = fx_path(samples, "events.ndjson.zst");
    char *s1 = fx_path(dir, "s1"), *s2 = fx_path(dir, "s2");
    char *a1 = quoted(plain, NULL), *a2 = quoted(zst, NULL);
    json_t *r1 = dry_run(a1, s1, 2, 0), *r2 = dry_run(a2, s2, 2, 0);
    static const char *const keys[] = {"lines_read",    "events_valid", "rejected_local", "skipped",
                                       "batches_built", "bytes_read",   "batch_bytes"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_int_eq(num(r1, keys[i]), num(r2, keys[i]));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r2, "inputs"), 0), "format")),
                     "zstd");
    json_decref(r1);
    json_decref(r2);
    free(plain);
    free(zst);
    free(s1);
    free(s2);
    free(a1);
    free(a2);
}
END_TEST

START_TEST(generated_file_plain_zstd_and_stdin_agree_line_by_line)
{
    char *gen = fx_path(dir, "gen.ndjson"), *zst = fx_path(dir, "gen.data");
    char *s1 = fx_path(dir, "s1"), *s2 = fx_path(dir, "s2"), *s3 = fx_path(dir, "s3");
    char *a1 = quoted(gen, NULL), *a2 = quoted(zst, NULL), *a3 = NULL;
    char *rej1, *rej2, *p1 = fx_path(s1, "rejected.ndjson"), *p2 = fx_path(s2, "rejected.ndjson");
    size_t n, n1, n2;
    char *text;
    expected_t e;
    json_t *r1, *r2, *r3;

    fx_generate(gen, 40000, 77, "--bad-rate 0.03 --blank-rate 0.01 --crlf");
    text = fx_read(gen, &n);
    fx_write_zstd(zst, text, n, 1 << 20);
    judge_file(gen, &e);
    if (asprintf(&a3, "- < '%s'", zst) < 0)
        ck_abort();

    r1 = dry_run(a1, s1, 1, 0);
    check_report(r1, &e);
    check_rejects(s1, gen, &e);
    /* one thread: batches are exactly full except the last */
    ck_assert_int_eq(num(r1, "batches_built"), (e.valid + 1999) / 2000);
    r2 = dry_run(a2, s2, 2, 0);
    check_report(r2, &e);
    r3 = dry_run(a3, s3, 2, 0);
    check_report(r3, &e);
    ck_assert_int_eq(num(r1, "bytes_read"), (long)n);
    ck_assert_int_eq(num(r2, "bytes_read"), (long)n);
    ck_assert_int_eq(num(r3, "bytes_read"), (long)n);
    /* same reject records, whatever the format (compare sizes: only "file" differs) */
    rej1 = fx_read(p1, &n1);
    rej2 = fx_read(p2, &n2);
    ck_assert_uint_eq(n1 + (size_t)e.invalid * (strlen(zst) - strlen(gen)), n2);
    free(rej1);
    free(rej2);
    free(p1);
    free(p2);
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
    free_expected(&e);
    free(text);
    free(gen);
    free(zst);
    free(s1);
    free(s2);
    free(s3);
    free(a1);
    free(a2);
    free(a3);
}
END_TEST

/* gzip, found by magic: many members with header fields, from a file and
 * from standard input, agree with the plain file line by line. */
START_TEST(gzip_file_and_stdin_agree_with_plain)
{
    char *gen = fx_path(dir, "gen.ndjson"), *gz = fx_path(dir, "gen.bin");
    char *s1 = fx_path(dir, "s1"), *s2 = fx_path(dir, "s2"), *a1 = quoted(gz, NULL), *a2 = NULL;
    size_t n;
    char *text;
    expected_t e;
    json_t *r1, *r2;

    fx_generate(gen, 30000, 78, "--bad-rate 0.03 --blank-rate 0.01 --crlf");
    text = fx_read(gen, &n);
    fx_write_gzip(gz, text, n, 700000, 1);
    judge_file(gen, &e);
    if (asprintf(&a2, "- < '%s'", gz) < 0)
        ck_abort();
    r1 = dry_run(a1, s1, 2, 0);
    check_report(r1, &e);
    check_rejects(s1, gen, &e); /* offsets are into the decompressed text */
    ck_assert_int_eq(num(r1, "bytes_read"), (long)n);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r1, "inputs"), 0), "format")),
                     "gzip");
    r2 = dry_run(a2, s2, 2, 0);
    check_report(r2, &e);
    json_decref(r1);
    json_decref(r2);
    free_expected(&e);
    free(text);
    free(gen);
    free(gz);
    free(s1);
    free(s2);
    free(a1);
    free(a2);
}
END_TEST

/* Amplitude's export layout (a zip of gzipped members, written out of
 * order, with a directory and a __MACOSX/ entry) agrees with the plain
 * file: counts, and each refused line once under its member's name, line
 * and offset. */
START_TEST(zip_export_agrees_with_plain_member_by_member)
{
    char *gen = fx_path(dir, "gen.ndjson"), *zip = fx_path(dir, "export.zip");
    char *s1 = fx_path(dir, "s1"), *a1 = quoted(zip, NULL), *names[4];
    uint64_t base[4];
    size_t n;
    char *text;
    expected_t e;
    json_t *r, *inputs;

    fx_generate(gen, 30000, 79, "--bad-rate 0.03 --blank-rate 0.01 --crlf");
    text = fx_read(gen, &n);
    fx_write_export_zip(zip, text, n, 4, names, base);
    judge_file(gen, &e);
    r = dry_run(a1, s1, 3, 0);
    check_report(r, &e);
    check_rejects_in(s1, gen, &e, names, base, 4);
    ck_assert_int_eq(num(r, "bytes_read"), (long)n);
    ck_assert_int_eq(num(r, "zip_entries_skipped"), 2);
    inputs = json_object_get(r, "inputs");
    ck_assert_uint_eq(json_array_size(inputs), 4);
    for (int k = 0; k < 4; k++) {
        json_t *in = json_array_get(inputs, (size_t)k);
        long lines = (long)((k < 3 ? base[k + 1] : (uint64_t)e.lines) - base[k]);
        ck_assert_str_eq(json_string_value(json_object_get(in, "file")), names[k]);
        ck_assert_str_eq(json_string_value(json_object_get(in, "format")), "gzip");
        ck_assert_int_eq(num(in, "lines"), lines);
        free(names[k]);
    }
    json_decref(r);
    free_expected(&e);
    free(text);
    free(gen);
    free(zip);
    free(s1);
    free(a1);
}
END_TEST

START_TEST(several_inputs_add_up_and_are_listed)
{
    char *a = fx_path(dir, "a.ndjson"), *b = fx_path(dir, "b.ndjson"), *s = fx_path(dir, "s");
    char *args = NULL;
    expected_t ea, eb;
    json_t *r, *inputs;
    fx_generate(a, 3000, 1, "--bad-rate 0.1");
    fx_generate(b, 5000, 2, "--blank-rate 0.1 --no-newline-at-end");
    judge_file(a, &ea);
    judge_file(b, &eb);
    if (asprintf(&args, "'%s' '%s'", a, b) < 0)
        ck_abort();
    r = dry_run(args, s, 2, 0);
    ck_assert_int_eq(num(r, "lines_read"), ea.lines + eb.lines);
    ck_assert_int_eq(num(r, "events_valid"), ea.valid + eb.valid);
    ck_assert_int_eq(num(r, "rejected_local"), ea.invalid + eb.invalid);
    ck_assert_int_eq(num(r, "skipped"), ea.blank + eb.blank);
    inputs = json_object_get(r, "inputs");
    ck_assert_uint_eq(json_array_size(inputs), 2);
    ck_assert_int_eq(num(json_array_get(inputs, 1), "lines"), eb.lines);
    ck_assert(json_is_null(json_object_get(json_array_get(inputs, 1), "error")));
    json_decref(r);
    free_expected(&ea);
    free_expected(&eb);
    free(args);
    free(a);
    free(b);
    free(s);
}
END_TEST

START_TEST(smaller_batches_and_min_id_length_are_honoured)
{
    char *gen = fx_path(dir, "g.ndjson"), *s = fx_path(dir, "s"), *report = fx_path(s, "r.json");
    char *cmd = NULL;
    json_t *r;
    json_error_t err;
    fx_generate(gen, 5000, 5, NULL);
    if (asprintf(&cmd,
                 "'%s' --dry-run -q --threads 1 --batch-events 300 --batch-bytes 100000 "
                 "--min-id-length 40 --state '%s' --report '%s' '%s'",
                 bin, s, report, gen) < 0)
        ck_abort();
    /* every line of the input refused: exit 3 (README, exit codes) */
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 3);
    r = json_load_file(report, 0, &err);
    ck_assert_ptr_nonnull(r);
    /* ids are 24 or 36 characters: all shorter than 40 */
    ck_assert_int_eq(num(r, "events_valid"), 0);
    ck_assert_int_eq(num(r, "rejected_local"), 5000);
    json_decref(r);
    free(cmd);
    cmd = NULL;
    if (asprintf(&cmd,
                 "'%s' --dry-run -q --threads 1 --batch-events 300 --batch-bytes 100000 "
                 "--state '%s' --report '%s' '%s'",
                 bin, s, report, gen) < 0)
        ck_abort();
    ck_assert_int_eq(system(cmd), 0);
    r = json_load_file(report, 0, &err);
    /* ~450-byte events: 100 kB bodies close on bytes (~220 events) before 300 */
    ck_assert_int_gt(num(r, "batches_built"), (5000 + 299) / 300);
    ck_assert_int_le(num(r, "batch_bytes"), num(r, "batches_built") * 100000);
    json_decref(r);
    free(cmd);
    free(gen);
    free(s);
    free(report);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli_dryrun");
    TCase *tc = tcase_create("dryrun");
    tcase_set_timeout(tc, 500);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dry_run_on_the_sample_events);
    tcase_add_test(tc, dry_run_on_the_sample_of_bad_lines_rejects_each_kind);
    tcase_add_test(tc, sample_zst_matches_sample_plain);
    tcase_add_test(tc, generated_file_plain_zstd_and_stdin_agree_line_by_line);
    tcase_add_test(tc, gzip_file_and_stdin_agree_with_plain);
    tcase_add_test(tc, zip_export_agrees_with_plain_member_by_member);
    tcase_add_test(tc, several_inputs_add_up_and_are_listed);
    tcase_add_test(tc, smaller_batches_and_min_id_length_are_honoured);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(cli_suite());
}
