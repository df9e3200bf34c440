/* test_s3.c - what a listing page names, by the rules of an object URL:
 * a key, a prefix (or a "folder" given without its slash), and globs (* and
 * ? within a folder, ** across); entities decoded; the continuation; the
 * store's error document. The requests themselves are cli_s3's. */
#include "s3.h"
#include "fixtures.h"

#include <stdio.h>
#include <string.h>

static const char page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListBucketResult><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1a/b+c==</NextContinuationToken>"
    "<Contents><Key>day</Key><ETag>&quot;e0&quot;</ETag><Size>5</Size></Contents>"
    "<Contents><Key>day/</Key><ETag>&quot;d&quot;</ETag><Size>0</Size></Contents>"
    "<Contents><Key>day/a#1.json.gz</Key><ETag>&quot;e1&quot;</ETag><Size>10</Size></Contents>"
    "<Contents><Key>day/b &#xe9;.json</Key><ETag>&quot;e2&quot;</ETag><Size>20</Size></Contents>"
    "<Contents><Key>day/deep/c.json.gz</Key><ETag>&quot;e3&quot;</ETag><Size>30</Size></Contents>"
    "<Contents><ETag>&quot;nokey&quot;</ETag><Size>1</Size></Contents>"
    "</ListBucketResult>";

typedef struct {
    char keys[512];
    char last_etag[32];
    uint64_t bytes;
} seen_t;

static int collect(void *ctx, const al_s3_entry_t *e)
{
    seen_t *s = ctx;
    size_t n = strlen(s->keys);
    snprintf(s->keys + n, sizeof(s->keys) - n, "%s%s", n > 0 ? "|" : "", e->key);
    snprintf(s->last_etag, sizeof(s->last_etag), "%s", e->etag);
    s->bytes += e->size;
    return 0;
}

static seen_t listing_of(const char *key)
{
    seen_t s;
    char token[64];
    int truncated = 0;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(al_s3_parse_listing(page, sizeof(page) - 1, key, collect, &s, &truncated,
                                         token, sizeof(token)),
                     0);
    ck_assert_int_eq(truncated, 1);
    ck_assert_str_eq(token, "1a/b+c==");
    return s;
}

START_TEST(a_key_names_that_object_alone)
{
    seen_t s = listing_of("day");
    ck_assert_str_eq(s.keys, "day");
    ck_assert_str_eq(s.last_etag, "\"e0\"");
}
END_TEST

START_TEST(a_prefix_names_every_object_under_it_but_folder_markers)
{
    seen_t s = listing_of("day/");
    ck_assert_str_eq(s.keys, "day/a#1.json.gz|day/b \xc3\xa9.json|day/deep/c.json.gz");
    ck_assert_uint_eq(s.bytes, 60);
}
END_TEST

START_TEST(a_star_stays_within_its_folder)
{
    seen_t s = listing_of("day/*.json.gz");
    ck_assert_str_eq(s.keys, "day/a#1.json.gz");
    s = listing_of("day/????.json");
    ck_assert_str_eq(s.keys, "day/b \xc3\xa9.json"); /* ? is a byte: é is two */
}
END_TEST

START_TEST(a_double_star_crosses_folders)
{
    seen_t s = listing_of("day/**.json.gz");
    ck_assert_str_eq(s.keys, "day/a#1.json.gz|day/deep/c.json.gz");
}
END_TEST

START_TEST(bytes_that_are_no_listing_are_refused)
{
    seen_t s;
    char token[8];
    int truncated;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(
        al_s3_parse_listing("<html>", 6, "", collect, &s, &truncated, token, sizeof(token)), -1);
    ck_assert_str_eq(s.keys, "");
}
END_TEST

START_TEST(reads_the_code_and_message_of_an_error)
{
    static const char doc[] = "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
                              "signature we calculated does not match</Message></Error>";
    char code[32], message[64];
    al_s3_parse_error(doc, sizeof(doc) - 1, code, sizeof(code), message, sizeof(message));
    ck_assert_str_eq(code, "SignatureDoesNotMatch");
    ck_assert_str_eq(message, "The request signature we calculated does not match");
    al_s3_parse_error("", 0, code, sizeof(code), message, sizeof(message));
    ck_assert_str_eq(code, "");
}
END_TEST

START_TEST(knows_object_urls)
{
    ck_assert_int_eq(al_s3_is_url("s3://b/k"), 1);
    ck_assert_int_eq(al_s3_is_url("gs://b/k"), 1);
    ck_assert_int_eq(al_s3_is_url("s3:/b/k"), 0);
    ck_assert_int_eq(al_s3_is_url("./s3://b"), 0);
}
END_TEST

static Suite *s3_suite(void)
{
    Suite *s = suite_create("s3");
    TCase *tc = tcase_create("listing");
    tcase_add_test(tc, a_key_names_that_object_alone);
    tcase_add_test(tc, a_prefix_names_every_object_under_it_but_folder_markers);
    tcase_add_test(tc, a_star_stays_within_its_folder);
    tcase_add_test(tc, a_double_star_crosses_folders);
    tcase_add_test(tc, bytes_that_are_no_listing_are_refused);
    tcase_add_test(tc, reads_the_code_and_message_of_an_error);
    tcase_add_test(tc, knows_object_urls);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(s3_suite());
}
