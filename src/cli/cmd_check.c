/* cmd_check.c - `ampload check`: a preflight checklist before a long backfill.
 *
 * One request goes to the endpoint: a body with the configured key and one
 * event that has no user_id or device_id. Amplitude checks the key first, so
 * the answer tells the whole story without ingesting anything:
 *   400 listing the event's missing field   the endpoint, TLS and key are fine
 *   400 "Invalid API key" / missing api_key the key is wrong or missing
 *   401/403/404, 5xx, no answer             the URL, region or server is wrong
 * With --gzip the request goes compressed, as the run's will, and a line
 * says whether the server read it (an answer about the event) or not (400
 * "Invalid JSON request body", 415).
 * Then every input is opened and its first chunk read (format, corrupt
 * zstd, binary data), the state directory is created if needed and a file
 * written, synced and removed in it, and an existing checkpoint is matched
 * against the inputs, as the run would.
 */
#include "cli.h"

#include "batch.h"
#include "checkpoint.h"
#include "export_job.h"
#include "http.h"
#include "json.h"
#include "reader.h"
#include "response.h"
#include "statedir.h"
#include "sources.h"
#include "privfile.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What `ampload check` looks at. */
typedef struct {
    const al_send_opts_t *send; /* endpoint, timeouts, TLS settings */
    const char *api_key;        /* "" = none configured */
    const char *const *paths;   /* inputs; may be empty */
    uint32_t npaths;
    const char *state_dir; /* NULL: not checked */
    const char *shard;     /* --shard as "I/N", or NULL: whose checkpoint */
    int gzip_level;        /* --gzip: the test request goes compressed too */
    int from_export;       /* --from amplitude-export: an export's files */
    int allow_same_project;
    const al_s3_conf_t *s3; /* how objects are reached, or NULL */
    int color;              /* ANSI colours for the marks */
    FILE *out;
} cli_check_opts_t;

typedef enum { MARK_PASS, MARK_FAIL, MARK_SKIP } mark_t;

typedef struct {
    const cli_check_opts_t *o;
    unsigned passed, failed;
    int rc; /* exit code of the first failure */
} checklist_t;

/* Prints one item; a failure also gets its hint and may set the exit code. */
static void item(checklist_t *cl, mark_t m, const char *what, const char *detail, const char *hint,
                 int rc)
{
    static const char *const sym[] = {"\xe2\x9c\x93", "\xe2\x9c\x97", "-"};
    static const char *const col[] = {"\033[32m", "\033[31m", "\033[33m"};
    FILE *out = cl->o->out;
    fprintf(out, "  %s%s%s %-12s %s\n", cl->o->color ? col[m] : "", sym[m],
            cl->o->color ? "\033[0m" : "", what, detail);
    if (m == MARK_FAIL) {
        cl->failed++;
        if (hint != NULL && hint[0] != '\0')
            fprintf(out, "    hint: %s\n", hint);
        if (cl->rc == EXIT_OK)
            cl->rc = rc;
    } else if (m == MARK_PASS) {
        cl->passed++;
    }
}

/* The zip member a run skips with these options (inputs.c). */
static const char *export_skip(const cli_check_opts_t *o)
{
    return o->from_export ? al_state_name(AL_STATE_MANIFEST) : NULL;
}

typedef struct {
    char buf[4096];
    size_t len;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    body_t *b = userp;
    size_t n = size * nmemb;
    size_t take = n < sizeof(b->buf) - 1 - b->len ? n : sizeof(b->buf) - 1 - b->len;
    memcpy(b->buf + b->len, data, take);
    b->len += take;
    b->buf[b->len] = '\0';
    return n;
}

/* The test request and its answer. */
typedef struct {
    long status;
    double secs;
    int gzipped; /* the body went compressed (--gzip) */
    body_t body;
    char errbuf[CURL_ERROR_SIZE];
} probe_t;

/* Sends what a run would send, with one event that lacks both ids.
 * @return curl's result, or CURLE_FAILED_INIT when the request cannot be
 * built. */
static CURLcode send_probe(const cli_check_opts_t *o, const al_send_opts_t *so, probe_t *p)
{
    static const char event[] = "{\"event_type\":\"ampload check\"}";
    struct curl_slist *headers = NULL;
    al_batch_opts_t bo;
    al_batch_t *req;
    const void *wire;
    size_t wire_len;
    CURLcode rc = CURLE_FAILED_INIT;
    CURL *e = NULL;

    al_batch_opts_init(&bo);
    snprintf(bo.api_key, sizeof(bo.api_key), "%s", o->api_key);
    bo.gzip_level = o->gzip_level;
    req = al_batch_new(&bo);
    if (req != NULL && al_batch_add(req, event, sizeof(event) - 1, NULL) == AL_ERR_OK)
        al_batch_finish(req);
    if (req == NULL || !req->finished)
        goto out;
    p->gzipped = req->gz_len > 0;
    e = curl_easy_init();
    headers = al_http_headers(p->gzipped);
    if (e == NULL || headers == NULL)
        goto out;
    al_http_conf_t hc = al_send_http_conf(so);
    al_http_easy_setup(e, &hc);
    wire = al_batch_wire(req, &wire_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, wire);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)wire_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &p->body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &p->status);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &p->secs);
out:
    curl_slist_free_all(headers);
    if (e != NULL)
        curl_easy_cleanup(e);
    al_batch_free(req);
    return rc;
}

/* No answer: a TLS failure or a connection that was not made. */
static void check_no_answer(checklist_t *cl, const al_send_opts_t *so, CURLcode rc,
                            const probe_t *p)
{
    char detail[CURL_ERROR_SIZE + 600];
    const char *why = p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);
    if (al_http_tls_error(rc)) {
        snprintf(detail, sizeof(detail), "%s: the connection was made", so->url);
        item(cl, MARK_PASS, "endpoint", detail, NULL, 0);
        item(cl, MARK_FAIL, "TLS", why,
             so->ca_file != NULL
                 ? "the certificate is not signed by a CA in --ca-file"
                 : "a proxy or test server with its own CA: pass its certificate with --ca-file "
                   "(--insecure skips verification, for test servers only)",
             EXIT_CONFIG);
        item(cl, MARK_SKIP, "API key", "not checked: no answer over a trusted connection", NULL, 0);
        return;
    }
    snprintf(detail, sizeof(detail), "%s: %s", so->url, why);
    item(cl, MARK_FAIL, "endpoint", detail,
         rc == CURLE_COULDNT_RESOLVE_HOST
             ? "check the host name in --endpoint or AMPLITUDE_BASE_URL, and DNS"
             : "check --endpoint / --region, that the server runs, and any proxy or firewall on "
               "the way",
         EXIT_CONFIG);
    item(cl, MARK_SKIP, "TLS", "not checked", NULL, 0);
    item(cl, MARK_SKIP, "API key", "not checked", NULL, 0);
}

/* The endpoint and TLS lines for an answer. @return 0 when the answer is
 * not one of Amplitude's /batch (the key is then not checked). */
static int check_answer(checklist_t *cl, const al_send_opts_t *so, const probe_t *p,
                        const al_response_t *resp)
{
    char detail[CURL_ERROR_SIZE + 600];
    long status = p->status;
    int https = strncmp(so->url, "https://", 8) == 0;
    if (status == 404 || status < 200 || (status >= 300 && status < 400) || status >= 500 ||
        status == 408 || (status < 300 && resp->kind != AL_RESP_OK)) {
        int bogus = status >= 200 && status < 300;
        if (bogus)
            snprintf(detail, sizeof(detail), "%s: %s", so->url, resp->error);
        else
            snprintf(detail, sizeof(detail), "%s answered HTTP %ld%s%s", so->url, status,
                     resp->error[0] ? ": " : "", resp->error);
        al_redact(detail, sizeof(detail), cl->o->api_key);
        item(cl, MARK_FAIL, "endpoint", detail,
             status == 404 ? "no /batch API at this URL: check --endpoint"
             : bogus       ? "not Amplitude's answer: a captive portal, a proxy or another service "
                             "answers at this URL; a run would stop at its first request"
             : status >= 300 && status < 400 ? "a redirect: check the URL (https?) in --endpoint"
                                             : "the server has trouble; try again later",
             EXIT_CONFIG);
        item(cl, MARK_SKIP, "TLS", https ? "not checked" : "not used (http:// endpoint)", NULL, 0);
        item(cl, MARK_SKIP, "API key", "not checked", NULL, 0);
        return 0;
    }
    snprintf(detail, sizeof(detail), "%s answered HTTP %ld in %.1f ms", so->url, status,
             p->secs * 1000);
    item(cl, MARK_PASS, "endpoint", detail, NULL, 0);
    if (!https)
        item(cl, MARK_SKIP, "TLS", "not used (http:// endpoint)", NULL, 0);
    else if (so->insecure)
        item(cl, MARK_SKIP, "TLS", "not verified (--insecure)", NULL, 0);
    else
        item(cl, MARK_PASS, "TLS", "certificate verified", NULL, 0);
    return 1;
}

/* The API key line: Amplitude checks the key before the events. */
static void check_key(checklist_t *cl, long status, const al_response_t *resp, int unread)
{
    const char *key = cl->o->api_key;
    char detail[CURL_ERROR_SIZE + 600];
    if (key[0] == '\0') {
        item(cl, MARK_FAIL, "API key", "none configured",
             "set AMPLITUDE_API_KEY, or put the key in a file for --api-key-file", EXIT_CONFIG);
    } else if (status == 401 || status == 403) {
        snprintf(detail, sizeof(detail), "refused: HTTP %ld%s%s", status, resp->error[0] ? " " : "",
                 resp->error);
        al_redact(detail, sizeof(detail), key);
        item(cl, MARK_FAIL, "API key", detail,
             "a key of another region (--region eu?), or a firewall in the way", EXIT_CONFIG);
    } else if (al_response_key_refused(resp)) {
        snprintf(detail, sizeof(detail), "refused: %s%s%s", resp->error,
                 resp->missing_field[0] ? ", missing field " : "", resp->missing_field);
        al_redact(detail, sizeof(detail), key);
        item(cl, MARK_FAIL, "API key", detail,
             "check the key (the project's API key, not the secret key) and its region",
             EXIT_CONFIG);
    } else if (unread) {
        item(cl, MARK_SKIP, "API key", "not checked: the server did not read the request", NULL, 0);
    } else if (resp->kind == AL_RESP_DROP) {
        item(cl, MARK_PASS, "API key",
             "accepted (the test event was refused for its missing user_id, as intended)", NULL, 0);
    } else if (status == 400) {
        /* the key is checked first: any other refusal comes after it */
        snprintf(detail, sizeof(detail), "accepted (the test request was refused for: %s)",
                 resp->error[0] ? resp->error : "no reason given");
        al_redact(detail, sizeof(detail), key);
        item(cl, MARK_PASS, "API key", detail, NULL, 0);
    } else if (status >= 400 && status != 429) {
        snprintf(detail, sizeof(detail), "not confirmed: HTTP %ld%s%s", status,
                 resp->error[0] ? " " : "", resp->error);
        al_redact(detail, sizeof(detail), key);
        item(cl, MARK_FAIL, "API key", detail,
             "the URL does not answer like Amplitude's /batch API: check --endpoint", EXIT_CONFIG);
    } else {
        snprintf(detail, sizeof(detail), "accepted (HTTP %ld)", status);
        item(cl, MARK_PASS, "API key", detail, NULL, 0);
    }
}

/* The gzip line, with --gzip: did the server read the compressed body? */
static void check_gzip(checklist_t *cl, long status, const al_response_t *resp, int unread)
{
    char detail[CURL_ERROR_SIZE + 600];
    if (unread) {
        snprintf(detail, sizeof(detail),
                 "the server did not read the compressed request: HTTP %ld%s%s", status,
                 resp->error[0] ? " " : "", resp->error);
        item(cl, MARK_FAIL, "gzip", detail,
             "this endpoint does not take Content-Encoding: gzip: run without --gzip", EXIT_CONFIG);
    } else if (resp->kind == AL_RESP_DROP) {
        item(cl, MARK_PASS, "gzip", "the server read the compressed request", NULL, 0);
    } else {
        snprintf(detail, sizeof(detail), "not confirmed by the answer (HTTP %ld)", status);
        item(cl, MARK_SKIP, "gzip", detail, NULL, 0);
    }
}

static void check_endpoint(checklist_t *cl)
{
    const cli_check_opts_t *o = cl->o;
    al_send_opts_t so = *o->send;
    probe_t p;
    al_response_t resp;
    CURLcode rc;
    int unread;

    memset(&p, 0, sizeof(p));
    if (so.request_timeout_ms > 30000)
        so.request_timeout_ms = 30000; /* a preflight should not hang for minutes */
    rc = send_probe(o, &so, &p);
    if (rc == CURLE_FAILED_INIT) {
        item(cl, MARK_FAIL, "endpoint", "cannot set up the HTTP client", "", EXIT_INTERNAL);
        return;
    }
    if (rc != CURLE_OK) {
        check_no_answer(cl, &so, rc, &p);
        return;
    }
    if (al_response_parse(&resp, p.status, p.body.buf, p.body.len, 1, o->api_key) != AL_ERR_OK) {
        item(cl, MARK_FAIL, "endpoint", "out of memory", "", EXIT_INTERNAL);
        return;
    }
    if (check_answer(cl, &so, &p, &resp)) {
        unread = al_response_not_inflated(&resp, p.gzipped);
        check_key(cl, p.status, &resp, unread);
        if (p.gzipped)
            check_gzip(cl, p.status, &resp, unread);
    }
    al_response_free(&resp);
}

static void human_bytes(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1000000000ULL)
        snprintf(buf, cap, "%.1f GB", (double)n / 1e9);
    else if (n >= 1000000ULL)
        snprintf(buf, cap, "%.1f MB", (double)n / 1e6);
    else
        snprintf(buf, cap, "%" PRIu64 " bytes", n);
}

/* Opens one input (a file, or a member of src's archive) and reads its
 * first chunk, as the run will. @return AL_ERR_OK or the error (d filled). */
static al_err_t probe_input(const char *path, const al_source_t *src, const al_s3_conf_t *s3,
                            al_format_t *format, uint64_t *size, int *empty, al_diag_t *d)
{
    al_reader_opts_t ro = {.chunk_bytes = 65536, .s3 = s3, .etag = src != NULL ? src->etag : NULL};
    al_reader_t *r = NULL;
    al_chunk_t *c = NULL;
    al_err_t err;

    if (src != NULL && src->zip != NULL) {
        ro.zip = src->zip;
        ro.member = src->member;
        ro.name = src->name;
    }
    err = al_reader_open(&r, path, 0, &ro, d);
    if (err == AL_ERR_OK)
        err = al_reader_next(r, &c, d);
    if (err == AL_ERR_OK) {
        *format = al_reader_format(r);
        *size = al_reader_file_size(r);
        *empty = (c == NULL);
    }
    al_chunk_release(c);
    al_reader_close(r);
    return err;
}

static const char *format_text(al_format_t f);

/* An object URL: the listing worked (permission, bucket, pattern), and the
 * first object's first bytes read as a run would read them. */
static void check_objects(checklist_t *cl, const char *url, const al_sources_t *one)
{
    char detail[1400], msg[1024], size[32];
    uint64_t total = 0, sz = 0;
    al_format_t format = AL_FORMAT_PLAIN;
    int empty = 0;
    al_diag_t d;
    al_err_t err;
    for (uint32_t k = 0; k < one->n; k++)
        total += one->v[k].stored;
    err = probe_input(one->v[0].path, &one->v[0], cl->o->s3, &format, &sz, &empty, &d);
    if (err != AL_ERR_OK) {
        al_diag_format(err, &d, msg, sizeof(msg));
        item(cl, MARK_FAIL, "input", msg, al_errhint(err), cli_exit_code(err));
        return;
    }
    human_bytes(total, size, sizeof(size));
    snprintf(detail, sizeof(detail), "%.300s: %" PRIu32 " object%s, %s; the first (%.300s) %s%s",
             url, one->n, one->n == 1 ? "" : "s", size, one->v[0].name, format_text(format),
             empty ? ", empty" : "");
    item(cl, MARK_PASS, "input", detail, NULL, 0);
}

static const char *format_text(al_format_t f)
{
    return f == AL_FORMAT_ZSTD   ? "zstd-compressed NDJSON"
           : f == AL_FORMAT_GZIP ? "gzip-compressed NDJSON"
                                 : "NDJSON";
}

/* Every member of a zip archive opens and starts well. */
static void check_archive(checklist_t *cl, const char *path, const al_sources_t *one)
{
    char detail[PATH_MAX + 1200], size[32], msg[1024];
    al_format_t format = AL_FORMAT_PLAIN;
    uint64_t total = 0;
    unsigned formats = 0;

    for (uint32_t m = 0; m < one->n; m++) {
        uint64_t sz = 0;
        int empty = 0;
        al_diag_t d;
        al_err_t err = probe_input(path, &one->v[m], NULL, &format, &sz, &empty, &d);
        if (err != AL_ERR_OK) {
            al_diag_format(err, &d, msg, sizeof(msg));
            item(cl, MARK_FAIL, "input", msg, al_errhint(err),
                 err == AL_ERR_OBJECT_ACCESS ? EXIT_CONFIG : EXIT_INPUT);
            return;
        }
        formats |= 1u << format;
        total += sz;
    }
    human_bytes(total, size, sizeof(size));
    snprintf(detail, sizeof(detail),
             "%s: zip archive, %" PRIu32 " member%s of %s, %s stored; %" PRIu64
             " entr%s skipped (not events)",
             path, one->n, one->n == 1 ? "" : "s",
             formats == 0                     ? "nothing"
             : (formats & (formats - 1)) != 0 ? "mixed formats"
                                              : format_text(format),
             size, one->members_skipped, one->members_skipped == 1 ? "y" : "ies");
    item(cl, one->n == 0 ? MARK_SKIP : MARK_PASS, "input", detail, NULL, 0);
}

/* Opens each input and reads its first chunk, as the run will; a zip
 * archive's members each. */
static void check_inputs(checklist_t *cl)
{
    const cli_check_opts_t *o = cl->o;
    char detail[PATH_MAX + 1200], size[32], msg[1024];

    if (o->npaths == 0) {
        item(cl, MARK_SKIP, "input", "none given", NULL, 0);
        return;
    }
    for (uint32_t i = 0; i < o->npaths; i++) {
        const char *path = o->paths[i];
        al_sources_t one;
        al_format_t format = AL_FORMAT_PLAIN;
        uint64_t sz = 0;
        int empty = 0;
        al_diag_t d;
        al_err_t err;

        if (al_input_is_stream(path)) {
            snprintf(detail, sizeof(detail), "%s: a stream, read when the run starts",
                     strcmp(path, "-") == 0 ? "standard input" : path);
            item(cl, MARK_SKIP, "input", detail, NULL, 0);
            continue;
        }
        err = al_sources_expand_objects(&one, &path, 1, export_skip(o), o->s3, &d);
        if (err == AL_ERR_OK && al_s3_is_url(path)) {
            check_objects(cl, path, &one);
            al_sources_free(&one);
            continue;
        }
        if (err == AL_ERR_OK && one.nzips > 0) {
            check_archive(cl, path, &one);
            al_sources_free(&one);
            continue;
        }
        al_sources_free(&one);
        if (err == AL_ERR_OK)
            err = probe_input(path, NULL, NULL, &format, &sz, &empty, &d);
        if (err != AL_ERR_OK) {
            al_diag_format(err, &d, msg, sizeof(msg));
            item(cl, MARK_FAIL, "input", msg, al_errhint(err),
                 err == AL_ERR_OBJECT_ACCESS ? EXIT_CONFIG : EXIT_INPUT);
        } else {
            human_bytes(sz, size, sizeof(size));
            snprintf(detail, sizeof(detail), "%s: %s, %s%s", path, format_text(format), size,
                     empty ? " (empty: nothing to send)" : "");
            item(cl, MARK_PASS, "input", detail, NULL, 0);
        }
    }
}

/* With --from amplitude-export, the refusals of the run (cli.h): a file of
 * the export's own given as an input, a re-import into the source project. */
static void check_export(checklist_t *cl)
{
    const cli_check_opts_t *o = cl->o;
    char msg[2200];
    if (!o->from_export || o->npaths == 0)
        return;
    if (!o->allow_same_project &&
        cli_same_project_msg(o->paths, o->npaths, o->api_key, msg, sizeof(msg)))
        item(cl, MARK_FAIL, "project", msg, al_errhint(AL_ERR_SAME_PROJECT),
             cli_exit_code(AL_ERR_SAME_PROJECT));
    else if (cli_export_file_msg(o->paths, o->npaths, msg, sizeof(msg)))
        item(cl, MARK_FAIL, "input", msg, NULL, EXIT_USAGE);
    else if (o->api_key[0] == '\0')
        item(cl, MARK_SKIP, "project", "not checked: no API key", NULL, 0);
    else
        item(cl, MARK_PASS, "project",
             o->allow_same_project ? "--allow-same-project: not checked"
                                   : "no manifest of the inputs records this API key's project",
             NULL, 0);
}

/* The check line of the checkpoint is named as the file is. */
#define CKPT_ITEM al_state_role(AL_STATE_CHECKPOINT)

/* Matches an existing checkpoint against the inputs, as the run would. */
static void check_checkpoint(checklist_t *cl, const al_state_t *st)
{
    const cli_check_opts_t *o = cl->o;
    char detail[PATH_MAX + 1200], msg[1024];
    al_resume_opts_t ro = {.shard = o->shard};
    al_sources_t all;
    al_mark_t *marks;
    al_diag_t d;
    al_err_t err;

    for (uint32_t i = 0; i < o->npaths; i++)
        if (al_input_is_stream(o->paths[i])) {
            item(cl, MARK_SKIP, CKPT_ITEM, "none for a stream (standard input, a pipe)", NULL, 0);
            return;
        }
    if (al_sources_expand_objects(&all, o->paths, o->npaths, export_skip(o), o->s3, &d) !=
        AL_ERR_OK) {
        item(cl, MARK_SKIP, CKPT_ITEM, "not checked: an input cannot be read", NULL, 0);
        return;
    }
    marks = calloc(all.n ? all.n : 1, sizeof(*marks));
    if (marks == NULL) {
        al_sources_free(&all);
        return;
    }
    ro.names = all.names;
    ro.files = all.files;
    ro.n = all.n;
    err = al_state_read_marks(st, &ro, marks, &d);
    if (err == AL_ERR_NOT_FOUND) {
        item(cl, MARK_PASS, CKPT_ITEM, "none: the run starts at the beginning", NULL, 0);
    } else if (err == AL_ERR_OK) {
        uint64_t done = 0;
        for (uint32_t i = 0; i < all.n; i++)
            done += marks[i].line - 1;
        snprintf(detail, sizeof(detail),
                 "matches the inputs: the run resumes after %" PRIu64 " lines", done);
        item(cl, MARK_PASS, CKPT_ITEM, detail, NULL, 0);
    } else {
        al_diag_format(err, &d, msg, sizeof(msg));
        item(cl, MARK_FAIL, CKPT_ITEM, msg, al_errhint(err), EXIT_USAGE);
    }
    free(marks);
    al_sources_free(&all);
}

/* Creates the state directory if needed, takes its lock as a run would (a
 * run in progress owns it: the check then touches nothing, and the run it
 * prepares could not start), writes, syncs and removes a file in it.
 * @return 1 when the directory is usable. */
static int check_state_dir(checklist_t *cl, al_state_t *st, int *created)
{
    const cli_check_opts_t *o = cl->o;
    char detail[PATH_MAX + 1200];
    const char *step = "create";
    al_diag_t d = {0};
    al_err_t err = AL_ERR_STATE_DIR;

    if (cli_make_dirs(o->state_dir, created) == 0) {
        err = al_state_lock(st, &d);
        if (err == AL_ERR_LOCKED) {
            snprintf(detail, sizeof(detail), "%s: in use by another run (%s)", o->state_dir,
                     d.detail);
            item(cl, MARK_FAIL, "state dir", detail, al_errhint(err), EXIT_USAGE);
            return 0;
        }
        step = err == AL_ERR_OK ? "write a file in" : "take the lock of";
        if (err == AL_ERR_OK)
            err = al_state_probe(st, &d);
    } else {
        d.sys_errno = errno;
    }
    if (err == AL_ERR_OK) {
        snprintf(detail, sizeof(detail), "%s: writable%s", o->state_dir,
                 *created ? " (created for the check, removed again)" : "");
        item(cl, MARK_PASS, "state dir", detail, NULL, 0);
    } else {
        snprintf(detail, sizeof(detail), "%s: cannot %s it: %s", o->state_dir, step,
                 strerror(d.sys_errno));
        item(cl, MARK_FAIL, "state dir", detail, al_errhint(AL_ERR_STATE_DIR), EXIT_INTERNAL);
    }
    return err == AL_ERR_OK;
}

static void check_state(checklist_t *cl)
{
    al_state_t *st = NULL;
    char lock[PATH_MAX + 64];
    al_diag_t d;
    int created = 0;
    if (cl->o->state_dir == NULL) {
        item(cl, MARK_SKIP, "state dir", "not checked (no input, no --state)", NULL, 0);
        return;
    }
    if (al_state_new(cl->o->state_dir, &st, &d) != AL_ERR_OK) {
        item(cl, MARK_FAIL, "state dir", "the path is too long", al_errhint(AL_ERR_STATE_DIR),
             EXIT_INTERNAL);
        return;
    }
    if (check_state_dir(cl, st, &created) && cl->o->npaths > 0)
        check_checkpoint(cl, st);
    snprintf(lock, sizeof(lock), "%s", al_state_path(st, AL_STATE_LOCK));
    al_state_free(st);
    if (created > 0) /* the lock file too, so the directories can go */
        unlink(lock);
    cli_remove_created_dirs(cl->o->state_dir, created);
}

/* Runs the checks, one line each with a hint under each failure, and a last
 * line with the count. @return EXIT_OK when every check passed; else the
 * exit code of the first failure: EXIT_CONFIG (endpoint, TLS, key),
 * EXIT_INPUT (an input; an export into its own project), EXIT_USAGE (the
 * checkpoint does not match, an export's own file as an input, or the
 * state directory is in use), EXIT_INTERNAL (state directory). */
static int run_checks(const cli_check_opts_t *o)
{
    checklist_t cl = {.o = o, .rc = EXIT_OK};
    fprintf(o->out, "ampload check: %s\n", o->send->url);
    check_endpoint(&cl);
    check_inputs(&cl);
    check_export(&cl);
    check_state(&cl);
    if (cl.failed == 0)
        fprintf(o->out, "ampload check: all %u checks passed\n", cl.passed);
    else
        fprintf(o->out, "ampload check: %u of %u checks failed\n", cl.failed,
                cl.failed + cl.passed);
    fflush(o->out);
    return cl.rc;
}

int cmd_check(int argc, char **argv)
{
    static cli_settings_t set;
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    cli_check_opts_t co;
    int rc;

    if (!cli_settle(&set, argc, argv, CLI_MODE_CHECK, &rc))
        return rc;
    co = (cli_check_opts_t){
        .send = &set.send,
        .api_key = set.pipe.batch.api_key,
        .paths = set.pipe.paths,
        .npaths = set.pipe.npaths,
        .state_dir = set.state_dir,
        .shard = set.shard_label[0] ? set.shard_label : NULL,
        .gzip_level = set.pipe.batch.gzip_level,
        .from_export = set.edits.from_export,
        .allow_same_project = set.allow_same_project,
        .s3 = set.pipe.s3,
        .color = isatty(1) && (nc == NULL || nc[0] == '\0') &&
                 !(term != NULL && strcmp(term, "dumb") == 0),
        .out = stdout,
    };
    return run_checks(&co);
}
