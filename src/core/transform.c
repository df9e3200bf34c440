/* transform.c - edits of events on their raw bytes (transform.h). */
#include "transform.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    A_KEEP = 0,   /* not in the table */
    A_DROP,       /* removed */
    A_DROP_EMPTY, /* removed when null or "" (user_id, device_id of an export) */
    A_RENAME,     /* arg: index into rename_to */
    A_SET,        /* replaced by the --set value appended at the end */
    A_EVENT_TIME, /* export: the sources of `time`, in order of preference */
    A_CLIENT_TIME,
    A_SERVER_TIME,
    A_INSERT_ID, /* export: $insert_id, then uuid, become insert_id */
    A_UUID,
    A_TIME /* export: a `time` already there gives way to event_time's */
};

/* The export mapping (Export section of the API notes). Renames are added
 * with their targets; everything else here is dropped. */
static const char *const export_drops[] = {"group_properties",
                                           "paying",
                                           "start_version",
                                           "amplitude_id",
                                           "app",
                                           "$schema",
                                           "$insert_key",
                                           "server_upload_time",
                                           "client_upload_time",
                                           "processed_time",
                                           "user_creation_time",
                                           "amplitude_event_type",
                                           "amplitude_attribution_ids",
                                           "is_attribution_event",
                                           "library",
                                           "data",
                                           "data_type",
                                           "sample_rate",
                                           "device_type",
                                           "device_family",
                                           "global_user_properties",
                                           "source_id",
                                           "partner_id"};
static const char *const export_renames[][2] = {
    {"ip_address", "ip"}, {"device_carrier", "carrier"}, {"version_name", "app_version"}};

/* A hash of a few bytes and the length: keys are short and few, and this
 * runs for every top-level member of every line. */
static uint32_t key_hash(const char *k, size_t n)
{
    uint32_t h = (uint32_t)n * 0x9E3779B1u;
    if (n > 0)
        h ^= (uint32_t)(unsigned char)k[0] * 0x85EBCA77u ^
             (uint32_t)(unsigned char)k[n - 1] * 0xC2B2AE3Du ^
             (uint32_t)(unsigned char)k[n / 2] * 0x27D4EB2Fu;
    return h ^ (h >> 15);
}

/* @return the slot of key k (n bytes, decoded), or NULL. */
static const al_edit_slot_t *lookup(const al_edits_t *e, const char *k, size_t n)
{
    uint32_t i = key_hash(k, n) & (AL_XFORM_SLOTS - 1);
    if (n >= AL_EDIT_KEY_MAX)
        return NULL;
    for (;;) {
        const al_edit_slot_t *s = &e->slot[i];
        if (s->key[0] == '\0')
            return NULL;
        if (s->len == n && memcmp(s->key, k, n) == 0)
            return s;
        i = (i + 1) & (AL_XFORM_SLOTS - 1);
    }
}

/* Sets key's action, replacing an earlier one, except that the export
 * mapping never replaces a user's edit. @return 0, or -1 when full. */
static int put(al_edits_t *e, const char *key, uint8_t action, uint16_t arg, int user)
{
    size_t n = strlen(key);
    uint32_t i = key_hash(key, n) & (AL_XFORM_SLOTS - 1);
    for (;;) {
        al_edit_slot_t *s = &e->slot[i];
        if (s->key[0] == '\0') {
            if (e->nslots + 1 >= AL_XFORM_SLOTS / 2)
                return -1;
            memcpy(s->key, key, n + 1);
            s->len = (uint8_t)n;
            e->nslots++;
        }
        if (strcmp(s->key, key) == 0) {
            if (s->user && !user)
                return 0;
            s->action = action;
            s->arg = arg;
            s->user = (uint8_t)user;
            return 0;
        }
        i = (i + 1) & (AL_XFORM_SLOTS - 1);
    }
}

void al_edits_init(al_edits_t *e)
{
    memset(e, 0, sizeof(*e));
}

int al_edits_active(const al_edits_t *e)
{
    return e->from_export || e->skip_ups || e->nslots > 0;
}

static al_err_t bad(al_diag_t *diag, const char *fmt, const char *what)
{
    memset(diag, 0, sizeof(*diag));
    snprintf(diag->detail, sizeof(diag->detail), fmt, what);
    return AL_ERR_INVALID_ARG;
}

static uint16_t add_rename_target(al_edits_t *e, const char *to)
{
    snprintf(e->rename_to[e->nrename], AL_EDIT_KEY_MAX, "%s", to);
    return (uint16_t)e->nrename++;
}

void al_edits_from_export(al_edits_t *e)
{
    e->from_export = 1;
    for (size_t i = 0; i < sizeof(export_drops) / sizeof(export_drops[0]); i++)
        put(e, export_drops[i], A_DROP, 0, 0);
    for (size_t i = 0; i < sizeof(export_renames) / sizeof(export_renames[0]); i++)
        put(e, export_renames[i][0], A_RENAME, add_rename_target(e, export_renames[i][1]), 0);
    put(e, "user_id", A_DROP_EMPTY, 0, 0);
    put(e, "device_id", A_DROP_EMPTY, 0, 0);
    put(e, "event_time", A_EVENT_TIME, 0, 0);
    put(e, "client_event_time", A_CLIENT_TIME, 0, 0);
    put(e, "server_received_time", A_SERVER_TIME, 0, 0);
    put(e, "$insert_id", A_INSERT_ID, 0, 0);
    put(e, "uuid", A_UUID, 0, 0);
    put(e, "time", A_TIME, 0, 0);
}

/* A field name from the command line: not empty, not too long, valid text. */
static al_err_t check_name(const char *name, size_t n, al_diag_t *diag)
{
    if (n == 0)
        return bad(diag, "%san empty field name", "");
    if (n >= AL_EDIT_KEY_MAX)
        return bad(diag, "field name longer than %s bytes", "127");
    if (!al_json_utf8_valid(name, n))
        return bad(diag, "%sa field name that is not UTF-8", "");
    return AL_ERR_OK;
}

/* @return 1 when a user's edit already names this field. */
static int edited_before(const al_edits_t *e, const char *key)
{
    const al_edit_slot_t *s = lookup(e, key, strlen(key));
    return s != NULL && s->user;
}

al_err_t al_edits_rename(al_edits_t *e, const char *spec, al_diag_t *diag)
{
    const char *eq = strchr(spec, '=');
    char from[AL_EDIT_KEY_MAX];
    al_err_t err;

    if (eq == NULL)
        return bad(diag, "'%s' is not OLD=NEW", spec);
    if ((err = check_name(spec, (size_t)(eq - spec), diag)) != AL_ERR_OK ||
        (err = check_name(eq + 1, strlen(eq + 1), diag)) != AL_ERR_OK)
        return err;
    memcpy(from, spec, (size_t)(eq - spec));
    from[eq - spec] = '\0';
    if (edited_before(e, from))
        return bad(diag, "field '%s' is edited twice", from);
    if (e->nrename >= AL_EDITS_MAX)
        return bad(diag, "more than %s renames", "64");
    if (put(e, from, A_RENAME, add_rename_target(e, eq + 1), 1) != 0)
        return bad(diag, "%stoo many edits", "");
    return AL_ERR_OK;
}

al_err_t al_edits_drop(al_edits_t *e, const char *field, al_diag_t *diag)
{
    al_err_t err = check_name(field, strlen(field), diag);
    if (err != AL_ERR_OK)
        return err;
    if (edited_before(e, field))
        return bad(diag, "field '%s' is edited twice", field);
    if (e->ndrop >= AL_EDITS_MAX)
        return bad(diag, "more than %s drops", "64");
    e->ndrop++;
    if (put(e, field, A_DROP, 0, 1) != 0)
        return bad(diag, "%stoo many edits", "");
    return AL_ERR_OK;
}

al_err_t al_edits_set(al_edits_t *e, const char *spec, al_diag_t *diag)
{
    const char *eq = strchr(spec, '=');
    char key[AL_EDIT_KEY_MAX];
    size_t vlen;
    al_jscan_t scan;
    al_err_t err;

    if (eq == NULL)
        return bad(diag, "'%s' is not FIELD=JSON", spec);
    if ((err = check_name(spec, (size_t)(eq - spec), diag)) != AL_ERR_OK)
        return err;
    memcpy(key, spec, (size_t)(eq - spec));
    key[eq - spec] = '\0';
    vlen = strlen(eq + 1);
    if (vlen >= AL_EDIT_VALUE_MAX)
        return bad(diag, "the value for '%s' is longer than 4095 bytes", key);
    if (!al_json_scan(eq + 1, vlen, &scan))
        return bad(diag, "the value for '%s' is not JSON (a string needs its quotes)", key);
    if (edited_before(e, key))
        return bad(diag, "field '%s' is edited twice", key);
    if (e->nset >= AL_EDITS_MAX)
        return bad(diag, "more than %s sets", "64");
    /* the value as written, less the whitespace around it */
    while (vlen > 0 && (eq[vlen] == ' ' || eq[vlen] == '\t' || eq[vlen] == '\n'))
        vlen--;
    snprintf(e->set_key[e->nset], AL_EDIT_KEY_MAX, "%s", key);
    snprintf(e->set_value[e->nset], AL_EDIT_VALUE_MAX, "%.*s", (int)vlen, eq + 1);
    e->set_type[e->nset] = scan.top_type;
    e->set_esc[e->nset] = scan.top_type == AL_JT_STRING && memchr(eq + 1, '\\', vlen) != NULL;
    if (scan.max_depth > e->set_depth)
        e->set_depth = scan.max_depth;
    if (put(e, key, A_SET, (uint16_t)e->nset, 1) != 0)
        return bad(diag, "%stoo many edits", "");
    e->nset++;
    return AL_ERR_OK;
}

void al_xform_free(al_xform_t *x)
{
    free(x->buf);
    x->buf = NULL;
    x->cap = 0;
}

/* ---- time ---------------------------------------------------------------- */

static int digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int al_parse_utc_ms(const char *s, size_t n, int64_t *ms)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, frac = 0;

    if (n > 0 && s[n - 1] == 'Z')
        n--;
    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
        s[16] != ':')
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
        return 0;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    if (n > 19) {
        size_t k;
        if (s[19] != '.' || n == 20 || n > 29)
            return 0;
        for (k = 20; k < n; k++) {
            if (s[k] < '0' || s[k] > '9')
                return 0;
            if (k < 23)
                frac = frac * 10 + (s[k] - '0');
        }
        for (k = n; k < 23; k++)
            frac *= 10; /* ".5" is 500 ms */
    }
    *ms = (al_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se) *
              1000 +
          frac;
    return 1;
}

/* ---- the edit ------------------------------------------------------------ */

typedef struct {
    const char *text; /* decoded output key */
    size_t len;
} name_t;

typedef struct {
    const al_edits_t *e;
    const char *line;
    const al_jmember_t *m;
    uint32_t n;
    uint8_t act[AL_XFORM_MEMBERS];
    uint16_t arg[AL_XFORM_MEMBERS];
    int time_src, insert_src; /* member index, or -1 */
    /* a user's edit writes (or drops) time / insert_id: the mapping's own
     * gives way, so the output never has the key twice */
    int user_time, user_insert;
    name_t target[AL_EDITS_MAX * 2 + 4];
    uint32_t ntargets;
    int64_t time_ms;
    char *o; /* output cursor */
    char *out;
    al_jscan_t *scan;
    int members_out;
} plan_t;

static void add_target(plan_t *p, const char *text, size_t len)
{
    if (p->ntargets < sizeof(p->target) / sizeof(p->target[0]))
        p->target[p->ntargets++] = (name_t){text, len};
}

static int is_target(const plan_t *p, const char *k, size_t n)
{
    for (uint32_t i = 0; i < p->ntargets; i++)
        if (p->target[i].len == n && memcmp(p->target[i].text, k, n) == 0)
            return 1;
    return 0;
}

/* Decodes member i's key into buf when it has escapes. */
static const char *key_of(const plan_t *p, uint32_t i, char *buf, size_t cap, size_t *n)
{
    const al_jmember_t *m = &p->m[i];
    if (!m->key_esc || m->key_len > cap) {
        *n = m->key_len;
        return p->line + m->key_off;
    }
    *n = al_json_unescape(buf, p->line + m->key_off, m->key_len);
    return buf;
}

/* @return 1 when the user drops this field (--drop). */
static int user_drop(const al_edits_t *e, const char *key)
{
    const al_edit_slot_t *s = lookup(e, key, strlen(key));
    return s != NULL && s->user && s->action == A_DROP;
}

/* Pass 1: what happens to each member, and which names the edit writes. */
static void classify(plan_t *p)
{
    int time_rank = 99;
    for (uint32_t i = 0; i < p->n; i++) {
        char buf[AL_EDIT_KEY_MAX];
        size_t n;
        const char *k = key_of(p, i, buf, sizeof(buf), &n);
        const al_edit_slot_t *s = lookup(p->e, k, n);
        uint8_t a = s != NULL ? s->action : A_KEEP;
        uint8_t t = p->m[i].val_type;
        p->act[i] = a;
        p->arg[i] = s != NULL ? s->arg : 0;
        if (a == A_RENAME) {
            const char *to = p->e->rename_to[p->arg[i]];
            add_target(p, to, strlen(to));
            if (s->user && !(p->e->from_export && t == AL_JT_NULL)) {
                p->user_time |= strcmp(to, "time") == 0;
                p->user_insert |= strcmp(to, "insert_id") == 0;
            }
        }
        if ((a == A_EVENT_TIME || a == A_CLIENT_TIME || a == A_SERVER_TIME) && t != AL_JT_NULL &&
            (int)(a - A_EVENT_TIME) < time_rank) {
            time_rank = a - A_EVENT_TIME;
            p->time_src = (int)i;
        }
        if (a == A_INSERT_ID && t != AL_JT_NULL)
            p->insert_src = (int)i;
        if (a == A_UUID && t != AL_JT_NULL && p->insert_src < 0)
            p->insert_src = (int)i;
    }
    for (uint32_t i = 0; i < p->e->nset; i++) {
        add_target(p, p->e->set_key[i], strlen(p->e->set_key[i]));
        p->user_time |= strcmp(p->e->set_key[i], "time") == 0;
        p->user_insert |= strcmp(p->e->set_key[i], "insert_id") == 0;
    }
    p->user_time |= user_drop(p->e, "time");
    p->user_insert |= user_drop(p->e, "insert_id");
    if (p->user_insert)
        p->insert_src = -1;
    if (p->e->from_export && !p->user_time)
        add_target(p, "time", 4);
    if (p->insert_src >= 0)
        add_target(p, "insert_id", 9);
    if (p->e->skip_ups)
        add_target(p, "$skip_user_properties_sync", 26);
}

/* Records a member written at the cursor: its value at val (a string
 * with its quotes), for the scan when its name is a tracked one. */
static void note(plan_t *p, const char *k, size_t n, const char *val, size_t vlen, uint8_t type,
                 uint8_t esc)
{
    if (n != 4 && n != 7 && n != 9 && n != 10)
        return; /* the lengths of the tracked names: most keys stop here */
    for (int f = 0; f < AL_KEY_COUNT; f++) {
        const char *name = al_json_key_name((al_json_key_t)f);
        al_jfield_t *fd = &p->scan->field[f];
        if (strlen(name) != n || memcmp(name, k, n) != 0)
            continue;
        if (fd->seen < 255)
            fd->seen++;
        fd->type = type;
        fd->escaped = esc;
        fd->off = (uint32_t)(val - p->out) + (type == AL_JT_STRING);
        fd->len = (uint32_t)vlen - (type == AL_JT_STRING ? 2 : 0);
    }
}

/* Writes "key":value; the key is written escaped (it is decoded text),
 * or as it was in the line (raw: its escaped text). */
static void emit_key(plan_t *p, const char *k, size_t n, const char *val, size_t vlen, uint8_t type,
                     uint8_t esc, const char *raw, size_t raw_len)
{
    if (p->members_out++ > 0)
        *p->o++ = ',';
    *p->o++ = '"';
    if (raw != NULL) {
        memcpy(p->o, raw, raw_len);
        p->o += raw_len;
    } else {
        p->o += al_json_escape(p->o, k, n);
    }
    *p->o++ = '"';
    *p->o++ = ':';
    memcpy(p->o, val, vlen);
    note(p, k, n, p->o, vlen, type, esc);
    p->o += vlen;
}

static void emit(plan_t *p, const char *k, size_t n, const char *val, size_t vlen, uint8_t type,
                 uint8_t esc)
{
    emit_key(p, k, n, val, vlen, type, esc, NULL, 0);
}

/* Pass 2: the members kept or renamed, in their order, then the new ones. */
static void write_event(plan_t *p)
{
    const al_edits_t *e = p->e;
    *p->o++ = '{';
    for (uint32_t i = 0; i < p->n; i++) {
        const al_jmember_t *m = &p->m[i];
        const char *val = p->line + m->val_off;
        char buf[AL_EDIT_KEY_MAX];
        size_t n;
        const char *k;
        switch (p->act[i]) {
        case A_DROP_EMPTY:
            if (m->val_type == AL_JT_NULL || (m->val_type == AL_JT_STRING && m->val_len == 2))
                continue;
            /* fall through */
        case A_KEEP:
            k = key_of(p, i, buf, sizeof(buf), &n);
            if (is_target(p, k, n) || (e->from_export && m->val_type == AL_JT_NULL))
                continue; /* superseded by a new member, or an export's null */
            emit_key(p, k, n, val, m->val_len, m->val_type, m->val_esc, p->line + m->key_off,
                     m->key_len);
            break;
        case A_RENAME:
            if (e->from_export && m->val_type == AL_JT_NULL)
                continue; /* an export's null, under any name */
            k = e->rename_to[p->arg[i]];
            emit(p, k, strlen(k), val, m->val_len, m->val_type, m->val_esc);
            break;
        default:
            break; /* dropped, set, or the source of a new member */
        }
    }
    for (uint32_t i = 0; i < e->nset; i++)
        emit(p, e->set_key[i], strlen(e->set_key[i]), e->set_value[i], strlen(e->set_value[i]),
             e->set_type[i], e->set_esc[i]);
    if (e->from_export && !p->user_time) {
        char num[24];
        int len = snprintf(num, sizeof(num), "%lld", (long long)p->time_ms);
        emit(p, "time", 4, num, (size_t)len, AL_JT_INTEGER, 0);
    }
    if (p->insert_src >= 0) {
        const al_jmember_t *m = &p->m[p->insert_src];
        emit(p, "insert_id", 9, p->line + m->val_off, m->val_len, m->val_type, m->val_esc);
    }
    if (e->skip_ups)
        emit(p, "$skip_user_properties_sync", 26, "true", 4, AL_JT_TRUE, 0);
    *p->o++ = '}';
}

/* Export: the event's time from its first present source. @return 1, or 0
 * with why set. */
static int event_time(plan_t *p, al_reason_t *why)
{
    static const char *const names[] = {"event_time", "client_event_time", "server_received_time"};
    const al_jmember_t *m;
    if (p->time_src < 0) {
        why->code = AL_REASON_BAD_EVENT_TIME;
        return 0;
    }
    m = &p->m[p->time_src];
    if (m->val_type != AL_JT_STRING ||
        !al_parse_utc_ms(p->line + m->val_off + 1, m->val_len - 2, &p->time_ms)) {
        why->code = AL_REASON_BAD_EVENT_TIME;
        why->field = names[p->act[p->time_src] - A_EVENT_TIME];
        return 0;
    }
    return 1;
}

/* Makes room for the longest output this line can give. */
static int reserve(const al_edits_t *e, al_xform_t *x, size_t len, uint32_t n)
{
    size_t need = len + 2 + (size_t)n * (AL_EDIT_KEY_MAX * 6 + 4) + 256;
    for (uint32_t i = 0; i < e->nset; i++)
        need += AL_EDIT_KEY_MAX * 6 + strlen(e->set_value[i]) + 4;
    if (need <= x->cap)
        return 1;
    free(x->buf);
    x->buf = malloc(need);
    x->cap = x->buf != NULL ? need : 0;
    return x->buf != NULL;
}

int al_transform(const al_edits_t *e, const char *line, size_t len, al_xform_t *x, const char **out,
                 size_t *out_len, al_event_t *ev, al_reason_t *why)
{
    al_jmembers_t list = {x->member, AL_XFORM_MEMBERS, 0};
    al_jscan_t in;
    plan_t p;

    memset(why, 0, sizeof(*why));
    if (!al_json_scan_members(line, len, &in, &list)) {
        why->code = AL_REASON_INVALID_JSON;
        why->column = in.err_pos + 1;
        why->json_error = in.err_msg;
        return 0;
    }
    if (in.top_type != AL_JT_OBJECT) {
        why->code = AL_REASON_NOT_OBJECT;
        return 0;
    }
    if (list.n > AL_XFORM_MEMBERS) {
        why->code = AL_REASON_TOO_MANY_FIELDS;
        return 0;
    }
    memset(&p, 0, sizeof(p));
    p.e = e;
    p.line = line;
    p.m = x->member;
    p.n = list.n;
    p.time_src = p.insert_src = -1;
    classify(&p);
    if (e->from_export && !p.user_time && !event_time(&p, why))
        return 0;
    if (!reserve(e, x, len, list.n))
        return -1;
    memset(&ev->scan, 0, sizeof(ev->scan));
    ev->scan.top_type = AL_JT_OBJECT;
    ev->scan.max_depth = in.max_depth;
    if (e->nset > 0 && e->set_depth + 1 > ev->scan.max_depth)
        ev->scan.max_depth = e->set_depth + 1;
    p.out = p.o = x->buf;
    p.scan = &ev->scan;
    write_event(&p);
    ev->time_derived = e->from_export && !p.user_time;
    *out = x->buf;
    *out_len = (size_t)(p.o - x->buf);
    return 1;
}
