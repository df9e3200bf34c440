/* journal.c - the Identify journal: fixed-size records, and the set a
 * resume looks identifications up in (open addressing on input and offset). */
#include "journal.h"

#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uint8_t type;
    uint8_t check;
    uint16_t zero;
    uint32_t file_id;
    uint64_t offset;
} rec_t;

_Static_assert(sizeof(rec_t) == 16, "journal records are 16 bytes");

#define BUF_RECS 4096

/* The header record: type HDR_TYPE, zero = HDR_VERSION, file_id = HDR_MAGIC,
 * offset = the durable length (see journal.h). */
#define HDR_TYPE    'H'
#define HDR_VERSION 1
#define HDR_MAGIC   0x4C4A4C41u /* "ALJL" */
#define REC         ((uint64_t)sizeof(rec_t))

struct al_journal {
    int fd;
    char path[PATH_MAX];
    rec_t buf[BUF_RECS];
    size_t n;
    uint64_t size;    /* bytes written so far (the write position) */
    uint64_t durable; /* what the header on disk says: size at the last fdatasync */
    int failed;       /* a write failed: the next flush reports it */
};

static uint8_t check_of(uint8_t type, uint32_t file_id, uint64_t offset)
{
    uint64_t h = (offset + 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
    h ^= ((uint64_t)file_id << 8 | type) * 0x94D049BB133111EBULL;
    return (uint8_t)(h >> 56) ^ 0x5A;
}

/* Records where the journal is damaged, and how, in diag (path already set). */
static void d_offset(al_diag_t *d, uint64_t at, const char *what)
{
    d->offset = at;
    d->has_offset = 1;
    snprintf(d->detail, sizeof(d->detail), "%s", what);
}

static rec_t header(uint64_t durable)
{
    return (rec_t){HDR_TYPE, check_of(HDR_TYPE, HDR_MAGIC, durable), HDR_VERSION, HDR_MAGIC,
                   durable};
}

/* Opens path without O_APPEND (the header is rewritten in place: pwrite on
 * an O_APPEND descriptor appends on Linux) and finds the end. A new file
 * gets its header in the buffer, saying nothing is durable yet. */
static int open_at_end(al_journal_t *j, const char *path)
{
    int fd = al_open_private(path, 1); /* 0600, never through a planted link */
    int fl;
    off_t end;
    if (fd < 0)
        return -1;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_APPEND) != 0 || (end = lseek(fd, 0, SEEK_END)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    j->fd = fd;
    j->size = j->durable = (uint64_t)end;
    if (end == 0)
        j->buf[j->n++] = header(0);
    return 0;
}

al_err_t al_journal_open(al_journal_t **out, const char *path, al_diag_t *diag)
{
    al_journal_t *j = calloc(1, sizeof(*j));
    *out = NULL;
    if (j == NULL)
        return AL_ERR_NOMEM;
    snprintf(j->path, sizeof(j->path), "%s", path);
    if (open_at_end(j, path) != 0) {
        al_diag_set(diag, path, errno);
        free(j);
        return AL_ERR_WRITE;
    }
    if (j->size % REC != 0) { /* al_jset_load() leaves whole records only */
        al_diag_set(diag, path, 0);
        d_offset(diag, j->size, "not a whole number of records");
        close(j->fd);
        free(j);
        return AL_ERR_JOURNAL_CORRUPT;
    }
    *out = j;
    return AL_ERR_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void spill(al_journal_t *j)
{
    if (j->n > 0 && j->failed == 0) {
        if (write_all(j->fd, j->buf, j->n * sizeof(rec_t)) != 0)
            j->failed = errno != 0 ? errno : EIO;
        else
            j->size += j->n * REC;
    }
    j->n = 0;
}

/* Once fdatasync has made size bytes durable, says so in the header. The
 * header itself is made durable by the next fdatasync: until then the disk
 * may show an older, smaller length, never one larger than what is durable. */
static void mark_durable(al_journal_t *j)
{
    rec_t h = header(j->size);
    if (j->size == j->durable)
        return;
    if (pwrite(j->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        j->failed = errno != 0 ? errno : EIO;
    else
        j->durable = j->size;
}

void al_journal_note(al_journal_t *j, char type, const al_batch_t *b)
{
    for (uint32_t i = 0; i < b->events; i++) {
        rec_t *r;
        if (j->n == BUF_RECS)
            spill(j);
        r = &j->buf[j->n++];
        r->type = (uint8_t)type;
        r->zero = 0;
        r->file_id = b->origin[i].file_id;
        r->offset = b->origin[i].offset;
        r->check = check_of(r->type, r->file_id, r->offset);
    }
}

al_err_t al_journal_flush(al_journal_t *j, int sync, al_diag_t *diag)
{
    spill(j);
    if (j->failed == 0 && sync) {
        if (fdatasync(j->fd) != 0)
            j->failed = errno;
        else
            mark_durable(j);
    }
    if (j->failed != 0) {
        al_diag_set(diag, j->path, j->failed);
        return AL_ERR_WRITE;
    }
    return AL_ERR_OK;
}

al_err_t al_journal_close(al_journal_t *j, al_diag_t *diag)
{
    al_err_t err;
    if (j == NULL)
        return AL_ERR_OK;
    err = al_journal_flush(j, 1, diag);
    if (close(j->fd) != 0 && err == AL_ERR_OK) {
        al_diag_set(diag, j->path, errno);
        err = AL_ERR_WRITE;
    }
    free(j);
    return err;
}

/* ---- the resume's view -------------------------------------------------- */

typedef struct {
    uint64_t offset;
    uint32_t file_id;
    uint8_t used, state; /* state: SENT or ACKED; CLEAR entries are dropped */
} slot_t;

struct al_jset {
    slot_t *s;
    size_t cap, n;
};

static size_t slot_of(const al_jset_t *set, uint32_t file_id, uint64_t offset)
{
    uint64_t h = (offset ^ ((uint64_t)file_id << 40)) * 0x9E3779B97F4A7C15ULL;
    size_t i = (size_t)(h >> 20) & (set->cap - 1);
    while (set->s[i].used && (set->s[i].file_id != file_id || set->s[i].offset != offset))
        i = (i + 1) & (set->cap - 1);
    return i;
}

static int grow(al_jset_t *set)
{
    al_jset_t g = {calloc(set->cap * 2, sizeof(slot_t)), set->cap * 2, 0};
    if (g.s == NULL)
        return -1;
    for (size_t i = 0; i < set->cap; i++) {
        if (set->s[i].used && set->s[i].state != 0) {
            g.s[slot_of(&g, set->s[i].file_id, set->s[i].offset)] = set->s[i];
            g.n++;
        }
    }
    free(set->s);
    *set = g;
    return 0;
}

/* Applies one record: SENT puts it in doubt unless acknowledged before
 * (an acknowledgement is final), ACKED makes it final, CLEAR takes back a
 * doubt. */
static int apply(al_jset_t *set, const rec_t *r)
{
    size_t i;
    if (set->n * 2 >= set->cap && grow(set) != 0)
        return -1;
    i = slot_of(set, r->file_id, r->offset);
    if (!set->s[i].used) {
        if (r->type == AL_JOURNAL_CLEAR)
            return 0;
        set->s[i] = (slot_t){r->offset, r->file_id, 1, 0};
        set->n++;
    }
    if (set->s[i].state == AL_JOURNAL_ACKED)
        return 0;
    set->s[i].state = r->type == AL_JOURNAL_CLEAR ? 0 : r->type;
    return 0;
}

static int wanted(const rec_t *r, const al_mark_t *marks, uint32_t n)
{
    if (r->file_id >= n)
        return 0;
    return !marks[r->file_id].done && r->offset >= marks[r->file_id].offset;
}

static int valid(const rec_t *r)
{
    return (r->type == AL_JOURNAL_SENT || r->type == AL_JOURNAL_ACKED ||
            r->type == AL_JOURNAL_CLEAR) &&
           r->zero == 0 && r->check == check_of(r->type, r->file_id, r->offset);
}

static int is_header(const rec_t *r)
{
    return r->type == HDR_TYPE && r->zero == HDR_VERSION && r->file_id == HDR_MAGIC &&
           r->offset % REC == 0 && r->check == check_of(r->type, r->file_id, r->offset);
}

/* Checks the header of a journal of size bytes (size > 0) and sets
 * *durable. A file shorter than a record is a run killed while writing its
 * header, unless its bytes are not the start of one.
 * @return AL_ERR_OK, JOURNAL_CORRUPT or IO; *durable is 0 for a torn header. */
static al_err_t read_header(FILE *fp, uint64_t size, uint64_t *durable, al_diag_t *diag)
{
    rec_t h, h0 = header(0);
    size_t got = fread(&h, 1, sizeof(h), fp);
    char what[160];
    *durable = 0;
    if (got != sizeof(h) && ferror(fp))
        return AL_ERR_IO;
    if (got < sizeof(h) && memcmp(&h, &h0, got) == 0)
        return AL_ERR_OK;
    if (got < sizeof(h) || !is_header(&h)) {
        d_offset(diag, 0, "no journal header at its start: not a journal, or damaged there");
        return AL_ERR_JOURNAL_CORRUPT;
    }
    if (h.offset > size) {
        snprintf(what, sizeof(what),
                 "cut short: it ends at byte %" PRIu64 ", but its first %" PRIu64
                 " bytes had been made durable",
                 size, h.offset);
        d_offset(diag, size, what);
        return AL_ERR_JOURNAL_CORRUPT;
    }
    *durable = h.offset;
    return AL_ERR_OK;
}

/* Reads the records after the header. A bad record within the durable
 * length is damage. Past it, the first bad record is where a crash tore
 * the file: it and what follows are dropped. That is safe: nothing there is
 * the SENT of a request that left (a request leaves only after the header
 * says its SENT is durable), and a lost ACKED or CLEAR only puts its
 * identification back in doubt. */
static al_err_t read_records(FILE *fp, uint64_t durable, al_jset_t *set, const al_mark_t *marks,
                             uint32_t n, al_diag_t *diag)
{
    rec_t r;
    uint64_t at = REC;
    while (fread(&r, sizeof(r), 1, fp) == 1) {
        if (!valid(&r)) {
            if (at + REC <= durable) {
                d_offset(
                    diag, at,
                    "a bad record (check byte, type or fields) within what had been made durable");
                return AL_ERR_JOURNAL_CORRUPT;
            }
            break; /* torn by a crash: the rest was never made durable */
        }
        if (wanted(&r, marks, n) && apply(set, &r) != 0)
            return AL_ERR_NOMEM;
        at += REC;
    }
    return ferror(fp) ? AL_ERR_IO : AL_ERR_OK;
}

/* Rewrites path with one record per identification the set still knows. */
static al_err_t compact(const char *path, const al_jset_t *set, al_diag_t *diag)
{
    char tmp[PATH_MAX + 8];
    FILE *fp;
    rec_t h;
    int bad = 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fp = al_fopen_tmp(tmp);
    if (fp == NULL) {
        al_diag_set(diag, tmp, errno);
        return AL_ERR_WRITE;
    }
    /* all of it is durable once renamed into place */
    h = header(REC *
               (1 + al_jset_count(set, AL_JOURNAL_ACKED) + al_jset_count(set, AL_JOURNAL_SENT)));
    bad |= fwrite(&h, sizeof(h), 1, fp) != 1;
    for (size_t i = 0; i < set->cap; i++) {
        const slot_t *s = &set->s[i];
        rec_t r;
        if (!s->used || s->state == 0)
            continue;
        r = (rec_t){s->state, check_of(s->state, s->file_id, s->offset), 0, s->file_id, s->offset};
        bad |= fwrite(&r, sizeof(r), 1, fp) != 1;
    }
    bad |= fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0 || al_fsync_parent(path) != 0) {
        al_diag_set(diag, path, errno);
        (void)unlink(tmp);
        return AL_ERR_WRITE;
    }
    return AL_ERR_OK;
}

/* Identifications acknowledged past the marks (the checkpoint's word) had
 * their SENT made durable before they left, so a journal holding no record
 * at all - missing, empty, a header alone - has lost them.
 * @return AL_ERR_OK, or JOURNAL_CORRUPT (diag says so; path already set). */
static al_err_t check_not_lost(const al_jset_t *set, const al_mark_t *marks, uint32_t n,
                               uint64_t size, al_diag_t *diag)
{
    uint64_t acked = 0;
    char what[200];
    for (uint32_t i = 0; i < n; i++)
        acked += marks[i].acked_past;
    if (acked == 0 || set->n > 0)
        return AL_ERR_OK;
    snprintf(what, sizeof(what),
             "%s, but the checkpoint says %" PRIu64
             " identifications past its mark were acknowledged",
             size == 0 ? "missing or empty" : "it holds no record", acked);
    d_offset(diag, size, what);
    return AL_ERR_JOURNAL_CORRUPT;
}

al_err_t al_jset_load(const char *path, const al_mark_t *marks, uint32_t n, al_jset_t **out,
                      al_diag_t *diag)
{
    al_jset_t *set = calloc(1, sizeof(*set));
    FILE *fp;
    struct stat st;
    uint64_t durable = 0;
    al_err_t err;

    *out = NULL;
    if (set == NULL || (set->s = calloc(1024, sizeof(slot_t))) == NULL) {
        free(set);
        return AL_ERR_NOMEM;
    }
    set->cap = 1024;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        if (errno == ENOENT) {
            al_diag_set(diag, path, 0);
            err = check_not_lost(set, marks, n, 0, diag);
            if (err != AL_ERR_OK) {
                al_jset_free(set);
                return err;
            }
            *out = set;
            return AL_ERR_OK;
        }
        al_diag_set(diag, path, errno);
        al_jset_free(set);
        return AL_ERR_IO;
    }
    err = AL_ERR_IO;
    al_diag_set(diag, path, 0);
    if (fstat(fileno(fp), &st) == 0) {
        err = st.st_size == 0 ? AL_ERR_OK : read_header(fp, (uint64_t)st.st_size, &durable, diag);
        if (err == AL_ERR_OK && st.st_size >= (off_t)REC)
            err = read_records(fp, durable, set, marks, n, diag);
        if (err == AL_ERR_OK)
            err = check_not_lost(set, marks, n, (uint64_t)st.st_size, diag);
    }
    if (err == AL_ERR_IO)
        diag->sys_errno = errno != 0 ? errno : EIO;
    fclose(fp);
    /* a damaged journal is left as it is: it is all the user has */
    if (err == AL_ERR_OK)
        err = compact(path, set, diag);
    if (err != AL_ERR_OK) {
        al_jset_free(set);
        return err;
    }
    *out = set;
    return AL_ERR_OK;
}

int al_jset_state(const al_jset_t *set, uint32_t file_id, uint64_t offset)
{
    const slot_t *s;
    if (set == NULL || set->n == 0)
        return 0;
    s = &set->s[slot_of(set, file_id, offset)];
    return s->used ? s->state : 0;
}

uint64_t al_jset_count(const al_jset_t *set, int state)
{
    uint64_t k = 0;
    for (size_t i = 0; set != NULL && i < set->cap; i++)
        k += set->s[i].used && set->s[i].state == state;
    return k;
}

void al_jset_free(al_jset_t *set)
{
    if (set == NULL)
        return;
    free(set->s);
    free(set);
}
