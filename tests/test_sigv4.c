/* test_sigv4.c - AWS Signature V4 for S3: AWS's published examples, and the
 * encoding of keys and query values S3 canonicalises. */
#include "sigv4.h"
#include "fixtures.h"

#include <stdio.h>
#include <string.h>

/* The example credentials of AWS's S3 SigV4 documentation. */
static al_aws_creds_t example_creds(void)
{
    al_aws_creds_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.access_key_id, sizeof(c.access_key_id), "AKIAIOSFODNN7EXAMPLE");
    snprintf(c.secret_access_key, sizeof(c.secret_access_key),
             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    return c;
}

static const char *signature_of(const al_sigv4_out_t *o)
{
    const char *s = strstr(o->authorization, "Signature=");
    return s != NULL ? s + 10 : "";
}

/* 2013-05-24T00:00:00Z, the examples' time */
#define EXAMPLE_TIME ((time_t)1369353600)

START_TEST(signs_the_documented_ranged_get)
{
    al_aws_creds_t c = example_creds();
    const char *headers[] = {"range", "bytes=0-9", NULL};
    al_sigv4_req_t r = {.method = "GET",
                        .host = "examplebucket.s3.amazonaws.com",
                        .path = "/test.txt",
                        .region = "us-east-1",
                        .service = "s3",
                        .headers = headers,
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_OK);
    ck_assert_str_eq(o.amz_date, "20130524T000000Z");
    ck_assert_str_eq(o.content_sha256,
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(o.authorization,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                     "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ck_assert_str_eq(o.path, "/test.txt");
    ck_assert_str_eq(o.query, "");
}
END_TEST

START_TEST(signs_the_documented_listing_with_its_query_sorted)
{
    al_aws_creds_t c = example_creds();
    const char *query[] = {"prefix", "J", "max-keys", "2", NULL}; /* out of order on purpose */
    al_sigv4_req_t r = {.method = "GET",
                        .host = "examplebucket.s3.amazonaws.com",
                        .path = "/",
                        .region = "us-east-1",
                        .service = "s3",
                        .query = query,
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_OK);
    ck_assert_str_eq(o.query, "max-keys=2&prefix=J");
    ck_assert_str_eq(signature_of(&o),
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

START_TEST(signs_a_subresource_with_an_empty_value)
{
    al_aws_creds_t c = example_creds();
    const char *query[] = {"lifecycle", "", NULL};
    al_sigv4_req_t r = {.method = "GET",
                        .host = "examplebucket.s3.amazonaws.com",
                        .path = "/",
                        .region = "us-east-1",
                        .service = "s3",
                        .query = query,
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_OK);
    ck_assert_str_eq(o.query, "lifecycle=");
    ck_assert_str_eq(signature_of(&o),
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

/* An Amplitude export's key, a space, '+', UTF-8: each byte once, '/' kept. */
START_TEST(encodes_a_key_once_keeping_its_slashes)
{
    al_aws_creds_t c = example_creds();
    al_sigv4_req_t r = {.method = "GET",
                        .host = "127.0.0.1:4568",
                        .path = "/bucket/187520/2020-01-25_17#1 a+b\xc3\xa9.json.gz",
                        .region = "us-east-1",
                        .service = "s3",
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_OK);
    ck_assert_str_eq(o.path, "/bucket/187520/2020-01-25_17%231%20a%2Bb%C3%A9.json.gz");
}
END_TEST

/* A continuation token is base64: '/', '+' and '=' are encoded in a value. */
START_TEST(encodes_slash_plus_and_equals_in_query_values)
{
    al_aws_creds_t c = example_creds();
    const char *query[] = {"list-type", "2", "continuation-token", "1a/b+c==", "prefix", "", NULL};
    al_sigv4_req_t r = {.method = "GET",
                        .host = "127.0.0.1:4568",
                        .path = "/bucket",
                        .region = "us-east-1",
                        .service = "s3",
                        .query = query,
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_OK);
    ck_assert_str_eq(o.query, "continuation-token=1a%2Fb%2Bc%3D%3D&list-type=2&prefix=");
}
END_TEST

START_TEST(signs_the_session_token_of_temporary_credentials)
{
    al_aws_creds_t c = example_creds();
    al_sigv4_req_t r = {.method = "GET",
                        .host = "examplebucket.s3.amazonaws.com",
                        .path = "/test.txt",
                        .region = "us-east-1",
                        .service = "s3",
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t a, b;
    al_diag_t d;
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &a, &d), AL_ERR_OK);
    snprintf(c.session_token, sizeof(c.session_token), "FQoGZXIvYXdzE-token");
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &b, &d), AL_ERR_OK);
    ck_assert_ptr_nonnull(strstr(b.authorization, "x-amz-date;x-amz-security-token,"));
    ck_assert_str_ne(signature_of(&a), signature_of(&b));
    /* the secret is in no output */
    ck_assert_ptr_null(strstr(b.authorization, "EXAMPLEKEY"));
}
END_TEST

START_TEST(a_key_too_long_to_sign_is_refused)
{
    static char path[8192];
    al_aws_creds_t c = example_creds();
    al_sigv4_req_t r = {.method = "GET",
                        .host = "h",
                        .path = path,
                        .region = "us-east-1",
                        .service = "s3",
                        .now = EXAMPLE_TIME};
    al_sigv4_out_t o;
    al_diag_t d;
    memset(path, '#', sizeof(path) - 1);
    path[0] = '/';
    ck_assert_int_eq(al_sigv4_sign(&r, &c, &o, &d), AL_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(d.detail, "too long"));
}
END_TEST

static Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("sign");
    tcase_add_test(tc, signs_the_documented_ranged_get);
    tcase_add_test(tc, signs_the_documented_listing_with_its_query_sorted);
    tcase_add_test(tc, signs_a_subresource_with_an_empty_value);
    tcase_add_test(tc, encodes_a_key_once_keeping_its_slashes);
    tcase_add_test(tc, encodes_slash_plus_and_equals_in_query_values);
    tcase_add_test(tc, signs_the_session_token_of_temporary_credentials);
    tcase_add_test(tc, a_key_too_long_to_sign_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(sigv4_suite());
}
