/* fixtures.c - see fixtures.h. */

#include "fixtures.h"

#include <zlib.h>

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>
#include <zstd.h>

char *fx_tempdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/ampload-test-XXXXXX", base) < 0)
        ck_abort_msg("asprintf");
    if (mkdtemp(tmpl) == NULL)
        ck_abort_msg("mkdtemp: %s", strerror(errno));
    return tmpl;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void fx_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *fx_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        ck_abort_msg("asprintf");
    return p;
}

void fx_write(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "fopen %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

char *fx_read(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long len;
    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
    buf[len] = '\0';
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

void fx_each_line(const char *path, void (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
    size_t n;
    char *text = fx_read(path, &n), *p, *end;
    if (text == NULL)
        return;
    for (p = text, end = text + n; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        fn(ctx, p, len);
        p = nl ? nl + 1 : end;
    }
    free(text);
}

void fx_write_zstd(const char *path, const void *data, size_t n, size_t frame_bytes)
{
    FILE *fp = fopen(path, "wb");
    const char *p = data;
    ck_assert_ptr_nonnull(fp);
    for (size_t off = 0; off < n || (n == 0 && off == 0);) {
        size_t take = n - off < frame_bytes ? n - off : frame_bytes;
        size_t cap = ZSTD_compressBound(take);
        void *dst = malloc(cap);
        /* Checksums on, as the zstd command line writes them. */
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        size_t z;
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
        z = ZSTD_compress2(cctx, dst, cap, p + off, take);
        ZSTD_freeCCtx(cctx);
        ck_assert_msg(!ZSTD_isError(z), "ZSTD_compress");
        ck_assert_uint_eq(fwrite(dst, 1, z, fp), z);
        free(dst);
        off += take;
        if (n == 0)
            break;
    }
    ck_assert_int_eq(fclose(fp), 0);
}

int fx_run(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    int status;
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (out_path != NULL) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            close(fd);
        }
        if (err_path != NULL) {
            int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void fx_generate(const char *path, unsigned long n, unsigned long seed, const char *extra)
{
    const char *gen = getenv("AMPLOAD_GEN");
    char *cmd = NULL;
    ck_assert_msg(gen != NULL, "AMPLOAD_GEN is not set (run through ctest)");
    if (asprintf(&cmd, "'%s' -n %lu --seed %lu %s -o '%s'", gen, n, seed, extra ? extra : "",
                 path) < 0)
        ck_abort_msg("asprintf");
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    free(cmd);
}

int fx_mock_start(const char *const *args, int *port)
{
    const char *mock = getenv("AMPLOAD_MOCK");
    const char *argv[40] = {0};
    int fds[2], n = 0;
    pid_t pid;
    FILE *fp;
    char line[256];

    ck_assert_msg(mock != NULL, "AMPLOAD_MOCK is not set (run through ctest)");
    argv[n++] = mock;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--exit-after";
    argv[n++] = "300"; /* never outlives a broken test for long */
    for (int i = 0; args != NULL && args[i] != NULL && n < 38; i++)
        argv[n++] = args[i];
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(mock, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    fp = fdopen(fds[0], "r");
    ck_assert_msg(fgets(line, sizeof(line), fp) != NULL, "ampload-mock did not start");
    fclose(fp);
    ck_assert_msg(sscanf(line, "ampload-mock listening on http://127.0.0.1:%d", port) == 1,
                  "unexpected mock banner: %s", line);
    return pid;
}

void fx_mock_stop(int pid)
{
    int st;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
}

static size_t fx_collect(char *data, size_t size, size_t nmemb, void *userp)
{
    char **buf = userp;
    size_t old = *buf ? strlen(*buf) : 0, n = size * nmemb;
    *buf = realloc(*buf, old + n + 1);
    memcpy(*buf + old, data, n);
    (*buf)[old + n] = '\0';
    return n;
}

json_t *fx_mock_stats(int port)
{
    CURL *c = curl_easy_init();
    char url[64], *body = NULL;
    json_error_t err;
    json_t *doc;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    doc = json_loads(body, 0, &err);
    ck_assert_msg(doc != NULL, "stats: %s", err.text);
    free(body);
    return doc;
}

int fx_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* data as gzip members of at most member_bytes each. @return the bytes (caller frees). */
static unsigned char *gzip_bytes(const void *data, size_t n, size_t member_bytes, int headers,
                                 size_t *out_len)
{
    size_t cap = n + n / 50 + 4096 * (n / member_bytes + 1), len = 0, done = 0;
    unsigned char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    do {
        size_t take = n - done < member_bytes ? n - done : member_bytes;
        gz_header h;
        z_stream z;
        memset(&z, 0, sizeof(z));
        memset(&h, 0, sizeof(h));
        ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        if (headers) {
            h.extra = (Bytef *)"AB\x04\0xyzw";
            h.extra_len = 8;
            h.name = (Bytef *)"events.ndjson";
            h.comment = (Bytef *)"a comment";
            h.hcrc = 1;
            ck_assert_int_eq(deflateSetHeader(&z, &h), Z_OK);
        }
        z.next_in = (Bytef *)data + done;
        z.avail_in = (uInt)take;
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
        len += z.total_out;
        deflateEnd(&z);
        done += take;
    } while (done < n);
    *out_len = len;
    return out;
}

void fx_write_gzip(const char *path, const void *data, size_t n, size_t member_bytes, int headers)
{
    size_t len;
    unsigned char *gz = gzip_bytes(data, n, member_bytes, headers, &len);
    fx_write(path, gz, len);
    free(gz);
}

void fx_write_zip(const char *path, const fx_member_t *m, size_t n)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ck_assert_ptr_nonnull(za);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(m[i].name);
        zip_source_t *src;
        zip_int64_t idx;
        if (nl > 0 && m[i].name[nl - 1] == '/') {
            ck_assert_int_ge(zip_dir_add(za, m[i].name, ZIP_FL_ENC_UTF_8), 0);
            continue;
        }
        if (m[i].gzip) {
            size_t len;
            unsigned char *gz = gzip_bytes(m[i].data, m[i].len, 65536, 0, &len);
            src = zip_source_buffer(za, gz, len, 1); /* libzip frees it */
        } else {
            src = zip_source_buffer(za, m[i].data, m[i].len, 0);
        }
        ck_assert_ptr_nonnull(src);
        idx = zip_file_add(za, m[i].name, src, ZIP_FL_ENC_UTF_8);
        ck_assert_int_ge(idx, 0);
        ck_assert_int_eq(zip_set_file_compression(za, (zip_uint64_t)idx,
                                                  m[i].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
                         0);
    }
    ck_assert_int_eq(zip_close(za), 0);
}

void fx_write_export_zip(const char *path, const char *text, size_t n, int parts, char **names,
                         uint64_t *base)
{
    fx_member_t m[18];
    char member[16][64];
    size_t at = 0;
    uint64_t lines = 0;
    int k;

    ck_assert_int_le(parts, 16);
    m[0] = (fx_member_t){"p/", NULL, 0, 0, 0};
    m[1] = (fx_member_t){"__MACOSX/p/._p_2026-01-01_0#0.json.gz", "junk", 4, 0, 0};
    for (k = 0; k < parts; k++) {
        size_t end = k == parts - 1 ? n : at + (n - at) / (size_t)(parts - k);
        const char *cut = end < n ? memchr(text + end, '\n', n - end) : NULL;
        size_t len = (cut != NULL ? (size_t)(cut - text) + 1 : n) - at;
        snprintf(member[k], sizeof(member[k]), "p/p_2026-01-01_0#%d.json.gz", k * 5);
        if (asprintf(&names[k], "%s:%s", path, member[k]) < 0)
            ck_abort();
        base[k] = lines;
        for (size_t i = at; i < at + len; i++)
            lines += text[i] == '\n';
        /* reverse order in the archive: the reader must sort */
        m[2 + parts - 1 - k] = (fx_member_t){member[k], text + at, len, k % 2, 1};
        at += len;
    }
    fx_write_zip(path, m, (size_t)parts + 2);
}

static void put16(FILE *fp, unsigned v)
{
    fputc((int)(v & 0xFF), fp);
    fputc((int)((v >> 8) & 0xFF), fp);
}

static void put32(FILE *fp, uint32_t v)
{
    put16(fp, v & 0xFFFF);
    put16(fp, v >> 16);
}

static void put64(FILE *fp, uint64_t v)
{
    put32(fp, (uint32_t)v);
    put32(fp, (uint32_t)(v >> 32));
}

void fx_write_zip64(const char *path, const char *name, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    uint32_t crc = (uint32_t)crc32(0L, data, (uInt)len);
    unsigned nl = (unsigned)strlen(name);
    uint64_t cd_at, cd_size, end64_at;

    ck_assert_ptr_nonnull(fp);
    /* local header: sizes in the zip64 extra field */
    put32(fp, 0x04034b50);
    put16(fp, 45);
    put16(fp, 0);
    put16(fp, 0); /* stored */
    put16(fp, 0);
    put16(fp, 0x21);
    put32(fp, crc);
    put32(fp, 0xFFFFFFFFu);
    put32(fp, 0xFFFFFFFFu);
    put16(fp, nl);
    put16(fp, 20);
    fwrite(name, 1, nl, fp);
    put16(fp, 1);
    put16(fp, 16);
    put64(fp, len);
    put64(fp, len);
    fwrite(data, 1, len, fp);
    cd_at = (uint64_t)ftell(fp);
    /* central header: sizes and offset in the zip64 extra field */
    put32(fp, 0x02014b50);
    put16(fp, 45);
    put16(fp, 45);
    put16(fp, 0);
    put16(fp, 0);
    put16(fp, 0);
    put16(fp, 0x21);
    put32(fp, crc);
    put32(fp, 0xFFFFFFFFu);
    put32(fp, 0xFFFFFFFFu);
    put16(fp, nl);
    put16(fp, 28);
    put16(fp, 0);
    put16(fp, 0);
    put16(fp, 0);
    put32(fp, 0);
    put32(fp, 0xFFFFFFFFu);
    fwrite(name, 1, nl, fp);
    put16(fp, 1);
    put16(fp, 24);
    put64(fp, len);
    put64(fp, len);
    put64(fp, 0);
    end64_at = (uint64_t)ftell(fp);
    cd_size = end64_at - cd_at;
    /* zip64 end of central directory record, its locator, the classic end */
    put32(fp, 0x06064b50);
    put64(fp, 44);
    put16(fp, 45);
    put16(fp, 45);
    put32(fp, 0);
    put32(fp, 0);
    put64(fp, 1);
    put64(fp, 1);
    put64(fp, cd_size);
    put64(fp, cd_at);
    put32(fp, 0x07064b50);
    put32(fp, 0);
    put64(fp, end64_at);
    put32(fp, 1);
    put32(fp, 0x06054b50);
    put16(fp, 0);
    put16(fp, 0);
    put16(fp, 0xFFFF);
    put16(fp, 0xFFFF);
    put32(fp, 0xFFFFFFFFu);
    put32(fp, 0xFFFFFFFFu);
    put16(fp, 0);
    ck_assert_int_eq(fclose(fp), 0);
}
