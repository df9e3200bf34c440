/* export.c - the mock's projects and GET /api/2/export (export.h). */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ROWS_PER_PART 1000

typedef struct {
    char *json; /* the event as accepted, compact */
    uint64_t upload_ms;
    uint64_t seq;
} kept_t;

typedef struct {
    char *key;
    uint32_t app;
    kept_t *v;
    size_t n, cap;
    FILE *record;
} project_t;

struct mock_store {
    mock_store_opts_t o;
    project_t *p;
    size_t n;
};

uint32_t mock_project_app(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return 100000 + (uint32_t)(h % 900000);
}

mock_store_t *mock_store_new(const mock_store_opts_t *o)
{
    mock_store_t *s = calloc(1, sizeof(*s));
    if (s != NULL)
        s->o = *o;
    return s;
}

void mock_store_free(mock_store_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->p[i].n; k++)
            free(s->p[i].v[k].json);
        free(s->p[i].v);
        free(s->p[i].key);
        if (s->p[i].record != NULL)
            fclose(s->p[i].record);
    }
    free(s->p);
    free(s);
}

static project_t *project(mock_store_t *s, const char *key, int create)
{
    project_t *p;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->p[i].key, key) == 0)
            return &s->p[i];
    if (!create)
        return NULL;
    p = realloc(s->p, sizeof(*p) * (s->n + 1));
    if (p == NULL)
        return NULL;
    s->p = p;
    p = &s->p[s->n++];
    memset(p, 0, sizeof(*p));
    p->key = strdup(key);
    p->app = mock_project_app(key);
    if (s->o.record_dir != NULL) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%u.ndjson", s->o.record_dir, p->app);
        p->record = fopen(path, "a");
    }
    return p;
}

void mock_store_add(mock_store_t *s, const char *key, json_t *ev, uint64_t now_ms)
{
    project_t *p = project(s, key, 1);
    json_t *t = json_object_get(ev, "time");
    kept_t k;
    if (p == NULL)
        return;
    k.json = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (k.json == NULL)
        return;
    if (p->record != NULL) {
        fprintf(p->record, "%s\n", k.json);
        fflush(p->record);
    }
    if (!s->o.keep) {
        free(k.json);
        return;
    }
    k.upload_ms = s->o.upload_from_event && json_is_integer(t) && json_integer_value(t) >= 0
                      ? (uint64_t)json_integer_value(t)
                      : now_ms;
    k.seq = p->n + 1;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 1024;
        kept_t *v = realloc(p->v, sizeof(*v) * nc);
        if (v == NULL) {
            free(k.json);
            return;
        }
        p->v = v;
        p->cap = nc;
    }
    p->v[p->n++] = k;
}

/* ---- the rows ------------------------------------------------------------ */

/* "YYYY-MM-DD HH:MM:SS.ffffff" of a time in ms, UTC (civil_from_days). */
static void utc_text(char *out, size_t cap, uint64_t ms, int date_only)
{
    int64_t z = (int64_t)(ms / 86400000) + 719468, era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097), sec = (unsigned)(ms / 1000 % 86400);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long long y = (long long)yoe + era * 400 + (m <= 2);
    if (date_only)
        snprintf(out, cap, "%04lld-%02u-%02u", y, m, d);
    else
        snprintf(out, cap, "%04lld-%02u-%02u %02u:%02u:%02u.%03u000", y, m, d, sec / 3600,
                 sec / 60 % 60, sec % 60, (unsigned)(ms % 1000));
}

static json_t *text_or_null(json_t *v)
{
    return v != NULL ? json_incref(v) : json_null();
}

/* An accepted /batch event as Amplitude's export writes it. */
static json_t *export_row(const project_t *p, const kept_t *k)
{
    static const char *const own[] = {"time",    "insert_id",   "ip",
                                      "carrier", "app_version", "$skip_user_properties_sync"};
    json_t *ev = json_loads(k->json, 0, NULL), *row = json_object(), *v;
    json_t *t = json_object_get(ev, "time");
    const char *key;
    char et[40], up[40], uuid[40];
    uint64_t when = json_is_integer(t) && json_integer_value(t) >= 0
                        ? (uint64_t)json_integer_value(t)
                        : k->upload_ms;

    json_object_foreach(ev, key, v)
    {
        int skip = 0;
        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
            skip |= strcmp(key, own[i]) == 0;
        if (!skip)
            json_object_set(row, key, v);
    }
    utc_text(et, sizeof(et), when, 0);
    utc_text(up, sizeof(up), k->upload_ms, 0);
    snprintf(uuid, sizeof(uuid), "%08x-%04x-4%03x-8%03x-%012llx", p->app,
             (unsigned)(k->seq >> 32) & 0xFFFF, (unsigned)(k->seq >> 20) & 0xFFF,
             (unsigned)(k->seq >> 8) & 0xFFF, (unsigned long long)k->seq);
    json_object_set_new(row, "$insert_id", text_or_null(json_object_get(ev, "insert_id")));
    json_object_set_new(row, "uuid", json_string(uuid));
    json_object_set_new(row, "app", json_integer(p->app));
    json_object_set_new(row, "amplitude_id", json_integer((json_int_t)(k->seq * 7919 + p->app)));
    json_object_set_new(row, "event_id", json_integer((json_int_t)k->seq));
    json_object_set_new(row, "event_time", json_string(et));
    json_object_set_new(row, "client_event_time", json_string(et));
    json_object_set_new(row, "server_received_time", json_string(up));
    json_object_set_new(row, "server_upload_time", json_string(up));
    json_object_set_new(row, "client_upload_time", json_string(up));
    json_object_set_new(row, "processed_time", json_string(up));
    json_object_set_new(row, "user_creation_time", json_string(up));
    json_object_set_new(row, "ip_address", text_or_null(json_object_get(ev, "ip")));
    json_object_set_new(row, "device_carrier", text_or_null(json_object_get(ev, "carrier")));
    json_object_set_new(row, "version_name", text_or_null(json_object_get(ev, "app_version")));
    if (json_object_get(row, "user_id") == NULL)
        json_object_set_new(row, "user_id", json_null());
    if (json_object_get(row, "device_id") == NULL)
        json_object_set_new(row, "device_id", json_null());
    json_object_set_new(row, "$schema", json_null());
    json_object_set_new(row, "$insert_key", json_null());
    json_object_set_new(row, "amplitude_event_type", json_null());
    json_object_set_new(row, "amplitude_attribution_ids", json_null());
    json_object_set_new(row, "is_attribution_event", json_false());
    json_object_set_new(row, "group_properties", json_object());
    json_object_set_new(row, "global_user_properties", json_object());
    json_object_set_new(row, "data", json_pack("{s:{},s:{}}", "group_first_event", "group_ids"));
    json_object_set_new(row, "data_type", json_string("event"));
    json_object_set_new(row, "library", json_string("http/2.0"));
    json_object_set_new(row, "paying", json_null());
    json_object_set_new(row, "start_version", json_null());
    json_object_set_new(row, "sample_rate", json_null());
    json_object_set_new(row, "source_id", json_null());
    json_object_set_new(row, "partner_id", json_null());
    json_decref(ev);
    return row;
}

/* ---- the zip --------------------------------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 65536;
        unsigned char *nb;
        while (nc < b->len + n)
            nc *= 2;
        nb = realloc(b->b, nc);
        if (nb == NULL) {
            b->oom = 1;
            return;
        }
        b->b = nb;
        b->cap = nc;
    }
    memcpy(b->b + b->len, p, n);
    b->len += n;
}

static void put16(buf_t *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(b, x, 2);
}

static void put32(buf_t *b, uint32_t v)
{
    put16(b, v & 0xFFFF);
    put16(b, v >> 16);
}

typedef struct {
    char name[128];
    uint32_t crc, size, offset;
} entry_t;

/* gzip of text into out (a member of its own). @return 0 or -1. */
static int gzip_into(buf_t *out, const char *text, size_t n)
{
    z_stream z;
    unsigned char chunk[65536];
    int rc;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)n;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = deflate(&z, Z_FINISH);
        put(out, chunk, sizeof(chunk) - z.avail_out);
    } while (rc == Z_OK);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* Appends a stored member to the zip. */
static void add_member(buf_t *zip, entry_t *e, const buf_t *data)
{
    size_t nl = strlen(e->name);
    e->crc = (uint32_t)crc32(0L, data->b, (uInt)data->len);
    e->size = (uint32_t)data->len;
    e->offset = (uint32_t)zip->len;
    put32(zip, 0x04034b50);
    put16(zip, 20);
    put16(zip, 0);
    put16(zip, 0); /* stored: the member is gzip already */
    put16(zip, 0);
    put16(zip, 0x21);
    put32(zip, e->crc);
    put32(zip, e->size);
    put32(zip, e->size);
    put16(zip, (unsigned)nl);
    put16(zip, 0);
    put(zip, e->name, nl);
    put(zip, data->b, data->len);
}

static void finish_zip(buf_t *zip, const entry_t *e, size_t n)
{
    uint32_t cd = (uint32_t)zip->len;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name);
        put32(zip, 0x02014b50);
        put16(zip, 20);
        put16(zip, 20);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0x21);
        put32(zip, e[i].crc);
        put32(zip, e[i].size);
        put32(zip, e[i].size);
        put16(zip, (unsigned)nl);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0);
        put32(zip, 0);
        put32(zip, e[i].offset);
        put(zip, e[i].name, nl);
    }
    uint32_t cd_size = (uint32_t)zip->len - cd;
    put32(zip, 0x06054b50);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, (unsigned)n);
    put16(zip, (unsigned)n);
    put32(zip, cd_size);
    put32(zip, cd);
    put16(zip, 0);
}

/* ---- the request --------------------------------------------------------- */

int mock_export_parse_hour(const char *s, int64_t *hour)
{
    int y, m, d, h, n = 0;
    int64_t era, yy;
    unsigned yoe, doy, doe;
    if (s == NULL || strlen(s) != 11 || sscanf(s, "%4d%2d%2dT%2d%n", &y, &m, &d, &h, &n) != 4 ||
        n != 11 || m < 1 || m > 12 || d < 1 || d > 31 || h > 23)
        return 0;
    yy = y - (m <= 2);
    era = (yy >= 0 ? yy : yy - 399) / 400;
    yoe = (unsigned)(yy - era * 400);
    doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *hour = (era * 146097 + (int64_t)doe - 719468) * 24 + h;
    return 1;
}

static int answer(char **body, size_t *len, const char **ctype, int status, const char *text)
{
    *body = strdup(text);
    *len = strlen(text);
    *ctype = "text/plain";
    return status;
}

/* The key and secret of "Basic base64(key:secret)". @return 1 or 0. */
static int basic_auth(const char *auth, char *key, char *secret, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char plain[512];
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    const char *colon;
    if (auth == NULL || strncmp(auth, "Basic ", 6) != 0)
        return 0;
    for (const char *p = auth + 6; *p && *p != '=' && n + 1 < sizeof(plain); p++) {
        const char *q = strchr(b64, *p);
        if (q == NULL || *p == '\0')
            return 0;
        acc = acc << 6 | (uint32_t)(q - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            plain[n++] = (char)(acc >> bits & 0xFF);
        }
    }
    plain[n] = '\0';
    colon = strchr(plain, ':');
    if (colon == NULL || colon == plain || colon[1] == '\0' || (size_t)(colon - plain) >= cap ||
        strlen(colon + 1) >= cap)
        return 0;
    memcpy(key, plain, (size_t)(colon - plain));
    key[colon - plain] = '\0';
    strcpy(secret, colon + 1);
    return 1;
}

/* Writes the rows of one hour into members of ROWS_PER_PART rows. */
static int add_hour(buf_t *zip, entry_t **ents, size_t *nents, const project_t *p,
                    const kept_t **rows, size_t n, int64_t hour)
{
    char date[16];
    utc_text(date, sizeof(date), (uint64_t)hour * 3600000, 1);
    for (size_t at = 0, part = 0; at < n; at += ROWS_PER_PART, part++) {
        buf_t text = {0}, gz = {0};
        entry_t *e = realloc(*ents, sizeof(**ents) * (*nents + 1));
        if (e == NULL)
            return -1;
        *ents = e;
        e = &e[(*nents)++];
        for (size_t i = at; i < n && i < at + ROWS_PER_PART; i++) {
            json_t *row = export_row(p, rows[i]);
            char *line = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
            put(&text, line, strlen(line));
            put(&text, "\n", 1);
            free(line);
            json_decref(row);
        }
        snprintf(e->name, sizeof(e->name), "%u/%u_%s_%d#%zu.json.gz", p->app, p->app, date,
                 (int)(hour % 24), part);
        if (text.oom || gzip_into(&gz, (const char *)text.b, text.len) != 0 || gz.oom) {
            free(text.b);
            free(gz.b);
            return -1;
        }
        add_member(zip, e, &gz);
        free(text.b);
        free(gz.b);
    }
    return 0;
}

static int cmp_rows(const void *a, const void *b)
{
    const kept_t *x = *(const kept_t *const *)a, *y = *(const kept_t *const *)b;
    uint64_t hx = x->upload_ms / 3600000, hy = y->upload_ms / 3600000;
    return hx != hy ? (hx < hy ? -1 : 1) : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

int mock_export(mock_store_t *s, const char *auth, const char *start, const char *end, char **body,
                size_t *len, const char **ctype)
{
    char key[256], secret[256];
    int64_t h0, h1;
    project_t *p;
    const kept_t **rows;
    size_t n = 0, nents = 0;
    entry_t *ents = NULL;
    buf_t zip = {0};

    if (!basic_auth(auth, key, secret, sizeof(key)))
        return answer(body, len, ctype, 401, "missing or malformed Basic authorization\n");
    if ((s->o.api_key != NULL && strcmp(key, s->o.api_key) != 0) ||
        (s->o.secret_key != NULL && strcmp(secret, s->o.secret_key) != 0))
        return answer(body, len, ctype, 403, "Invalid API key or secret key\n");
    if (!mock_export_parse_hour(start, &h0) || !mock_export_parse_hour(end, &h1) || h1 < h0)
        return answer(body, len, ctype, 400, "start and end must be YYYYMMDDTHH, end >= start\n");
    p = project(s, key, 0);
    rows = calloc(p != NULL && p->n > 0 ? p->n : 1, sizeof(*rows));
    if (rows == NULL)
        return answer(body, len, ctype, 500, "out of memory\n");
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        int64_t h = (int64_t)(p->v[i].upload_ms / 3600000);
        if (h >= h0 && h <= h1) /* the end hour is included */
            rows[n++] = &p->v[i];
    }
    if (n == 0) {
        free(rows);
        return answer(body, len, ctype, 404, "No data available for this time range\n");
    }
    if (s->o.max_events > 0 && n > s->o.max_events) {
        free(rows);
        return answer(body, len, ctype, 400,
                      "Raw data files were too large to export (over 4 GB). Use a smaller range\n");
    }
    qsort(rows, n, sizeof(*rows), cmp_rows);
    for (size_t at = 0; at < n;) {
        int64_t hour = (int64_t)(rows[at]->upload_ms / 3600000);
        size_t k = at;
        while (k < n && (int64_t)(rows[k]->upload_ms / 3600000) == hour)
            k++;
        if (add_hour(&zip, &ents, &nents, p, rows + at, k - at, hour) != 0)
            zip.oom = 1;
        at = k;
    }
    finish_zip(&zip, ents, nents);
    free(ents);
    free(rows);
    if (zip.oom) {
        free(zip.b);
        return answer(body, len, ctype, 500, "out of memory\n");
    }
    *body = (char *)zip.b;
    *len = zip.len;
    *ctype = "application/zip";
    return 200;
}
