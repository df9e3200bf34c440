/* zipfile.c - zip members as byte streams: libzip for the container, ISA-L for
 * the inflate (zipfile.h). */
#include "zipfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>
#include <zip.h>

#define RAW_BYTES (128u * 1024u) /* stored bytes taken from libzip at a time */

struct al_zip {
    zip_t *za;
    char path[512];
};

struct al_zip_member {
    zip_file_t *zf;
    char name[600];
    int method; /* ZIP_CM_STORE, ZIP_CM_DEFLATE, or another that libzip decodes */
    uint64_t want_size, comp_size;
    uint32_t want_crc;
    uint64_t raw_total; /* stored bytes taken from libzip */
    uint64_t out_total; /* decompressed bytes handed out */
    int raw_eof, done;
    al_err_t err; /* sticky */
    al_diag_t err_diag;
    size_t raw_pos, raw_len;
    struct inflate_state inf;
    unsigned char raw[RAW_BYTES];
};

int al_zip_sniff(const unsigned char *m, size_t n)
{
    return n >= 4 && m[0] == 'P' && m[1] == 'K' &&
           ((m[2] == 3 && m[3] == 4) || (m[2] == 5 && m[3] == 6));
}

static void set_detail(al_diag_t *diag, const char *path, const char *fmt, const char *what)
{
    al_diag_set(diag, path, 0);
    snprintf(diag->detail, sizeof(diag->detail), fmt, what);
}

al_err_t al_zip_open(al_zip_t **out, const char *path, al_diag_t *diag)
{
    al_zip_t *z;
    struct stat st;
    int fd, zerr = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        al_diag_set(diag, path, e);
        return e == ENOENT || e == ENOTDIR ? AL_ERR_NOT_FOUND
               : e == EACCES || e == EPERM ? AL_ERR_ACCESS
                                           : AL_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        al_diag_set(diag, path, 0);
        return AL_ERR_IS_DIR;
    }
    z = calloc(1, sizeof(*z));
    if (z == NULL) {
        close(fd);
        return AL_ERR_NOMEM;
    }
    snprintf(z->path, sizeof(z->path), "%s", path);
    z->za = zip_fdopen(fd, 0, &zerr); /* takes fd, also on failure */
    if (z->za == NULL) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        set_detail(diag, path, "central directory: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        free(z);
        return zerr == ZIP_ER_MEMORY ? AL_ERR_NOMEM
               : zerr == ZIP_ER_READ ? AL_ERR_IO
                                     : AL_ERR_ZIP_CORRUPT;
    }
    *out = z;
    return AL_ERR_OK;
}

uint64_t al_zip_count(const al_zip_t *z)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    return n > 0 ? (uint64_t)n : 0;
}

al_err_t al_zip_entry(al_zip_t *z, uint64_t i, al_zip_entry_t *e, al_diag_t *diag)
{
    zip_stat_t st;
    size_t len;

    memset(e, 0, sizeof(*e));
    zip_stat_init(&st);
    if (zip_stat_index(z->za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
        set_detail(diag, z->path, "entry: %s", zip_strerror(z->za));
        return AL_ERR_ZIP_CORRUPT;
    }
    e->name = st.name;
    e->size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    e->comp_size = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
    len = strlen(st.name);
    e->is_dir = len > 0 && st.name[len - 1] == '/';
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        e->unreadable = "it is encrypted";
    else if ((st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method != ZIP_CM_STORE &&
             st.comp_method != ZIP_CM_DEFLATE &&
             !zip_compression_method_supported((zip_int32_t)st.comp_method, 0))
        e->unreadable = "its compression method is not one libzip reads here";
    return AL_ERR_OK;
}

void al_zip_close(al_zip_t *z)
{
    if (z == NULL)
        return;
    zip_discard(z->za); /* read-only: nothing to write back */
    free(z);
}

al_err_t al_zip_member_open(al_zip_member_t **out, al_zip_t *z, uint64_t i, const char *name,
                            al_diag_t *diag)
{
    al_zip_member_t *m;
    zip_stat_t st;
    zip_flags_t flags = 0;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return AL_ERR_NOMEM;
    snprintf(m->name, sizeof(m->name), "%s", name != NULL ? name : z->path);
    zip_stat_init(&st);
    if (zip_stat_index(z->za, i, 0, &st) != 0) {
        set_detail(diag, m->name, "entry: %s", zip_strerror(z->za));
        free(m);
        return AL_ERR_ZIP_CORRUPT;
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        set_detail(diag, m->name, "%s", "it is encrypted");
        free(m);
        return AL_ERR_ZIP_UNSUPPORTED;
    }
    m->method = (st.valid & ZIP_STAT_COMP_METHOD) ? st.comp_method : ZIP_CM_STORE;
    m->want_size = st.size;
    m->comp_size = st.comp_size;
    m->want_crc = st.crc;
    if (m->method == ZIP_CM_STORE || m->method == ZIP_CM_DEFLATE)
        flags = ZIP_FL_COMPRESSED; /* the stored bytes: we inflate and check */
    m->zf = zip_fopen_index(z->za, i, flags);
    if (m->zf == NULL) {
        int ze = zip_error_code_zip(zip_get_error(z->za));
        set_detail(diag, m->name, "%s", zip_strerror(z->za));
        free(m);
        return ze == ZIP_ER_COMPNOTSUPP || ze == ZIP_ER_ENCRNOTSUPP ? AL_ERR_ZIP_UNSUPPORTED
               : ze == ZIP_ER_MEMORY                                ? AL_ERR_NOMEM
                                                                    : AL_ERR_ZIP_CORRUPT;
    }
    if (m->method == ZIP_CM_DEFLATE) {
        isal_inflate_init(&m->inf);
        m->inf.crc_flag = ISAL_GZIP_NO_HDR; /* raw deflate; CRC-32 of the output */
    }
    *out = m;
    return AL_ERR_OK;
}

/* Records a sticky error at `offset` of the member's stored bytes. */
static ssize_t member_fail(al_zip_member_t *m, al_err_t err, uint64_t offset, const char *what,
                           al_err_t *errp, al_diag_t *diag)
{
    m->err = err;
    al_diag_set(&m->err_diag, m->name, 0);
    m->err_diag.offset = offset;
    m->err_diag.has_offset = 1;
    snprintf(m->err_diag.detail, sizeof(m->err_diag.detail), "zip member data: %s", what);
    *errp = m->err;
    *diag = m->err_diag;
    return -1;
}

/* The end of a deflated member: what was handed out must be what the
 * directory promised. */
static ssize_t member_end(al_zip_member_t *m, uint32_t crc, al_err_t *err, al_diag_t *diag)
{
    char what[160];
    if (m->out_total != m->want_size) {
        snprintf(what, sizeof(what), "%llu bytes decompressed, the archive says %llu",
                 (unsigned long long)m->out_total, (unsigned long long)m->want_size);
        return member_fail(m, AL_ERR_ZIP_CORRUPT, m->raw_total, what, err, diag);
    }
    if (crc != m->want_crc) {
        snprintf(what, sizeof(what), "CRC-32 %08x, the archive says %08x", crc, m->want_crc);
        return member_fail(m, AL_ERR_ZIP_CORRUPT, m->raw_total, what, err, diag);
    }
    m->done = 1;
    return 0;
}

/* Takes the next stored bytes from libzip. @return 1, or -1 after an error. */
static int refill(al_zip_member_t *m, al_err_t *err, al_diag_t *diag)
{
    zip_int64_t k = zip_fread(m->zf, m->raw, sizeof(m->raw));
    if (k < 0) {
        member_fail(m, AL_ERR_ZIP_CORRUPT, m->raw_total, zip_file_strerror(m->zf), err, diag);
        return -1;
    }
    m->raw_pos = 0;
    m->raw_len = (size_t)k;
    m->raw_total += (uint64_t)k;
    m->raw_eof = (k == 0);
    return 1;
}

static ssize_t read_deflated(al_zip_member_t *m, void *dst, size_t cap, al_err_t *err,
                             al_diag_t *diag)
{
    size_t got = 0;
    while (got == 0) {
        int ret;
        if (m->raw_pos == m->raw_len && !m->raw_eof && refill(m, err, diag) < 0)
            return -1;
        m->inf.next_in = m->raw + m->raw_pos;
        m->inf.avail_in = (uint32_t)(m->raw_len - m->raw_pos);
        m->inf.next_out = (uint8_t *)dst;
        m->inf.avail_out = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
        ret = isal_inflate(&m->inf);
        m->raw_pos = m->raw_len - m->inf.avail_in;
        got = (size_t)((uint8_t *)m->inf.next_out - (uint8_t *)dst);
        m->out_total += got;
        if (ret < 0) {
            const char *what = ret == ISAL_INVALID_BLOCK      ? "invalid deflate block"
                               : ret == ISAL_INVALID_SYMBOL   ? "invalid deflate symbol"
                               : ret == ISAL_INVALID_LOOKBACK ? "invalid lookback distance"
                                                              : "inflate error";
            return member_fail(m, AL_ERR_ZIP_CORRUPT, al_zip_member_consumed(m), what, err, diag);
        }
        if (m->inf.block_state == ISAL_BLOCK_FINISH) {
            if (got > 0)
                return (ssize_t)got; /* checked at the next call */
            return member_end(m, m->inf.crc, err, diag);
        }
        if (got == 0 && m->raw_eof && m->raw_pos == m->raw_len)
            return member_fail(m, AL_ERR_ZIP_CORRUPT, m->raw_total,
                               "the deflate data ends before its last block", err, diag);
    }
    return (ssize_t)got;
}

ssize_t al_zip_member_read(al_zip_member_t *m, void *dst, size_t cap, al_err_t *err,
                           al_diag_t *diag)
{
    zip_int64_t k;

    if (m->err != AL_ERR_OK) {
        *err = m->err;
        *diag = m->err_diag;
        return -1;
    }
    if (m->done || cap == 0)
        return 0;
    if (m->method == ZIP_CM_DEFLATE)
        return read_deflated(m, dst, cap, err, diag);
    k = zip_fread(m->zf, dst, cap);
    if (k < 0)
        return member_fail(m, AL_ERR_ZIP_CORRUPT, m->raw_total, zip_file_strerror(m->zf), err,
                           diag);
    /* stored or decoded by libzip, which checks the CRC-32 itself */
    m->out_total += (uint64_t)k;
    if (m->method == ZIP_CM_STORE)
        m->raw_total += (uint64_t)k;
    if (k == 0)
        m->done = 1;
    return (ssize_t)k;
}

uint64_t al_zip_member_consumed(const al_zip_member_t *m)
{
    if (m->method == ZIP_CM_DEFLATE)
        return m->raw_total - (m->raw_len - m->raw_pos);
    if (m->method == ZIP_CM_STORE)
        return m->raw_total;
    /* decoded by libzip, which does not say how far it read: in proportion */
    return m->want_size > 0
               ? (uint64_t)((double)m->comp_size * (double)m->out_total / (double)m->want_size)
               : 0;
}

void al_zip_member_close(al_zip_member_t *m)
{
    if (m == NULL)
        return;
    if (m->zf != NULL)
        zip_fclose(m->zf);
    free(m);
}
