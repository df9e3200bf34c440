/* users.c - the latest user_properties per user of export rows: a map from
 * the id's 128-bit hash to the winning row, then a second read that writes
 * the winners out. */
#include "users.h"

#include "json.h"
#include "reader.h"
#include "privfile.h"
#include "transform.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#define MAX_MEMBERS 512

typedef struct {
    uint64_t lo, hi; /* the id's hash; lo == 0 && hi == 0: empty */
    int64_t ms;      /* the row's time */
    uint64_t offset; /* where the row starts in its input */
    uint32_t input;
} slot_t;

typedef struct {
    slot_t *s;
    size_t cap, n;
} map_t;

/* What one row says, as offsets into it. */
typedef struct {
    const char *uid, *did, *props; /* values as written (strings with quotes) */
    size_t uid_len, did_len, props_len;
    int64_t ms;
    XXH128_hash_t key;
} row_t;

static slot_t *find(map_t *m, XXH128_hash_t k)
{
    size_t i = (size_t)k.low64 & (m->cap - 1);
    while ((m->s[i].lo != 0 || m->s[i].hi != 0) &&
           (m->s[i].lo != k.low64 || m->s[i].hi != k.high64))
        i = (i + 1) & (m->cap - 1);
    return &m->s[i];
}

static int grow(map_t *m)
{
    map_t g = {calloc(m->cap * 2, sizeof(slot_t)), m->cap * 2, m->n};
    if (g.s == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->s[i].lo != 0 || m->s[i].hi != 0) {
            XXH128_hash_t k = {m->s[i].lo, m->s[i].hi};
            *find(&g, k) = m->s[i];
        }
    }
    free(m->s);
    *m = g;
    return 0;
}

static int key_is(const char *line, const al_jmember_t *mb, const char *name)
{
    size_t n = strlen(name);
    return !mb->key_esc && mb->key_len == n && memcmp(line + mb->key_off, name, n) == 0;
}

/* A non-empty string value: its text with quotes. */
static int id_value(const char *line, const al_jmember_t *mb, const char **v, size_t *len)
{
    if (mb->val_type != AL_JT_STRING || mb->val_len <= 2)
        return 0;
    *v = line + mb->val_off;
    *len = mb->val_len;
    return 1;
}

/* An object with at least one member. */
static int has_members(const char *p, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return p[i] != '}';
    return 0;
}

/* Reads what a row says. @return 1 when it names a user, a time and
 * properties to set. */
static int read_row(const char *line, size_t len, row_t *r)
{
    al_jmember_t v[MAX_MEMBERS];
    al_jmembers_t members = {v, MAX_MEMBERS, 0};
    al_jscan_t scan;
    const al_jmember_t *times[3] = {NULL, NULL, NULL};
    char text[64];

    memset(r, 0, sizeof(*r));
    if (!al_json_scan_members(line, len, &scan, &members) || scan.top_type != AL_JT_OBJECT ||
        members.n > MAX_MEMBERS)
        return 0;
    for (uint32_t i = 0; i < members.n; i++) {
        const al_jmember_t *mb = &v[i];
        if (key_is(line, mb, "user_id"))
            id_value(line, mb, &r->uid, &r->uid_len);
        else if (key_is(line, mb, "device_id"))
            id_value(line, mb, &r->did, &r->did_len);
        else if (key_is(line, mb, "event_time"))
            times[0] = mb;
        else if (key_is(line, mb, "client_event_time"))
            times[1] = mb;
        else if (key_is(line, mb, "server_received_time"))
            times[2] = mb;
        else if (key_is(line, mb, "user_properties") && mb->val_type == AL_JT_OBJECT &&
                 has_members(line + mb->val_off, mb->val_len)) {
            r->props = line + mb->val_off;
            r->props_len = mb->val_len;
        }
    }
    if ((r->uid == NULL && r->did == NULL) || r->props == NULL)
        return 0;
    /* the first time field present and not null decides, as in the mapping */
    for (int k = 0; k < 3; k++) {
        const al_jmember_t *t = times[k];
        if (t == NULL || t->val_type == AL_JT_NULL)
            continue;
        if (t->val_type != AL_JT_STRING || t->val_esc || t->val_len - 2 >= sizeof(text))
            return 0;
        memcpy(text, line + t->val_off + 1, t->val_len - 2);
        if (!al_parse_utc_ms(text, t->val_len - 2, &r->ms))
            return 0;
        break;
    }
    if (times[0] == NULL && times[1] == NULL && times[2] == NULL)
        return 0;
    /* user_id names the user when there is one; the seed keeps a user_id
     * and a device_id of the same text apart */
    if (r->uid != NULL)
        r->key = XXH3_128bits_withSeed(r->uid, r->uid_len, 'u');
    else
        r->key = XXH3_128bits_withSeed(r->did, r->did_len, 'd');
    if (r->key.low64 == 0 && r->key.high64 == 0)
        r->key.low64 = 1;
    return 1;
}

typedef struct {
    map_t map;
    FILE *out;
    al_users_stats_t *st;
    int pass; /* 1: find the winners; 2: write them */
} job_t;

static al_err_t take_row(job_t *j, uint32_t input, uint64_t offset, const char *line, size_t len)
{
    row_t r;
    slot_t *s;
    if (j->pass == 1)
        j->st->rows++;
    if (!read_row(line, len, &r)) {
        j->st->rows_without += j->pass == 1;
        return AL_ERR_OK;
    }
    if (j->pass == 1 && j->map.n * 2 >= j->map.cap && grow(&j->map) != 0)
        return AL_ERR_NOMEM; /* the second pass only looks up */
    s = find(&j->map, r.key);
    if (j->pass == 1) {
        if (s->lo == 0 && s->hi == 0) {
            *s = (slot_t){r.key.low64, r.key.high64, r.ms, offset, input};
            j->map.n++;
        } else if (r.ms >= s->ms) {
            s->ms = r.ms; /* later in input order wins a tie */
            s->offset = offset;
            s->input = input;
            j->st->rows_older++;
        } else {
            j->st->rows_older++;
        }
        return AL_ERR_OK;
    }
    if ((s->lo == 0 && s->hi == 0) || s->input != input || s->offset != offset)
        return AL_ERR_OK;
    fputc('{', j->out);
    if (r.uid != NULL) {
        fputs("\"user_id\":", j->out);
        fwrite(r.uid, 1, r.uid_len, j->out);
    }
    if (r.did != NULL) {
        fputs(r.uid != NULL ? ",\"device_id\":" : "\"device_id\":", j->out);
        fwrite(r.did, 1, r.did_len, j->out);
    }
    fputs(",\"user_properties\":{\"$set\":", j->out);
    fwrite(r.props, 1, r.props_len, j->out);
    fputs("}}\n", j->out);
    j->st->users++;
    return AL_ERR_OK;
}

/* One pass over input i. */
static al_err_t read_input(job_t *j, const al_sources_t *src, uint32_t i, atomic_int *stop,
                           al_diag_t *diag)
{
    al_reader_opts_t ro = {.chunk_bytes = AL_DEFAULT_CHUNK_BYTES, .start_line = 1};
    al_reader_t *rd = NULL;
    al_chunk_t *c;
    al_err_t err;

    if (src->v[i].zip != NULL) {
        ro.zip = src->v[i].zip;
        ro.member = src->v[i].member;
        ro.name = src->v[i].name;
    }
    err = al_reader_open(&rd, src->v[i].path, i, &ro, diag);
    if (err != AL_ERR_OK)
        return err;
    while (err == AL_ERR_OK && (err = al_reader_next(rd, &c, diag)) == AL_ERR_OK && c != NULL) {
        const char *p = c->data, *end = c->data + c->len;
        if (stop != NULL && atomic_load(stop))
            err = AL_ERR_INTERRUPTED;
        if (c->long_line != 0) { /* a row too long to hold: nothing to take from it */
            j->st->rows += j->pass == 1;
            j->st->rows_without += j->pass == 1;
            p = end;
        }
        while (err == AL_ERR_OK && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl != NULL ? nl : end;
            size_t len = (size_t)(le - p);
            if (len > 0 && p[len - 1] == '\r')
                len--;
            err = take_row(j, i, c->offset + (uint64_t)(p - c->data), p, len);
            p = nl != NULL ? nl + 1 : end;
        }
        al_chunk_release(c);
    }
    al_reader_close(rd);
    return err;
}

al_err_t al_users_from_export(const al_sources_t *src, const char *out_path, atomic_int *stop,
                              al_users_stats_t *st, al_diag_t *diag)
{
    char tmp[PATH_MAX + 8];
    job_t j = {{calloc(1024, sizeof(slot_t)), 1024, 0}, NULL, st, 1};
    al_err_t err = AL_ERR_OK;
    int bad;

    memset(st, 0, sizeof(*st));
    memset(diag, 0, sizeof(*diag));
    if (j.map.s == NULL)
        return AL_ERR_NOMEM;
    for (uint32_t i = 0; i < src->n && err == AL_ERR_OK; i++)
        err = read_input(&j, src, i, stop, diag);
    snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
    if (err == AL_ERR_OK && (j.out = al_fopen_tmp(tmp)) == NULL) {
        al_diag_set(diag, tmp, errno);
        err = AL_ERR_WRITE;
    }
    j.pass = 2;
    for (uint32_t i = 0; i < src->n && err == AL_ERR_OK; i++)
        err = read_input(&j, src, i, stop, diag);
    free(j.map.s);
    if (j.out == NULL)
        return err;
    bad = ferror(j.out) || fflush(j.out) != 0 || fsync(fileno(j.out)) != 0;
    bad |= fclose(j.out) != 0;
    if (err == AL_ERR_OK && (bad || rename(tmp, out_path) != 0 || al_fsync_parent(out_path) != 0)) {
        al_diag_set(diag, out_path, errno);
        err = AL_ERR_WRITE;
    }
    if (err != AL_ERR_OK)
        (void)unlink(tmp);
    return err;
}
