/* response.c - the SDK response algorithm, over a jansson tree.
 *
 * Responses are small (a few kB at most, even with 2000 indices), arrive a
 * few hundred times a second, and their exact shape is the server's to
 * choose, so a general JSON library is the right tool here - unlike the event
 * hot path. Every list is read defensively: wrong types are ignored, indices
 * outside the batch are ignored, and the union of lists decides.
 */
#include "response.h"

#include "validate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"ok",        "drop",      "undeliverable", "config",
                                         "too_large", "throttled", "retry"};

const char *al_resp_kind_name(al_resp_kind_t kind)
{
    return (size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

/* @return the reasons[] slot (1-based) for text, adding it when new. */
static uint8_t reason_slot(al_response_t *r, const char *text)
{
    for (uint32_t i = 0; i < r->nreasons; i++)
        if (strcmp(r->reasons[i], text) == 0)
            return (uint8_t)(i + 1);
    if (r->nreasons == AL_RESP_MAX_REASONS)
        return AL_RESP_MAX_REASONS; /* the last slot takes the overflow */
    snprintf(r->reasons[r->nreasons], sizeof(r->reasons[0]), "%s", text);
    return (uint8_t)(++r->nreasons);
}

/* Indices are read with JSON_DECODE_INT_AS_REAL, so one number beyond
 * int64 cannot make the whole body unreadable: any number that is not a
 * whole position inside the batch is ignored. */
static void mark_index(al_response_t *r, json_t *idx, uint8_t mark)
{
    double d;
    uint32_t i;
    if (!json_is_number(idx))
        return;
    d = json_number_value(idx);
    if (!(d >= 0 && d < (double)r->nevents) || d != (double)(uint32_t)d)
        return;
    i = (uint32_t)d;
    if (r->mark[i] != AL_MARK_NONE)
        return;
    r->mark[i] = mark;
    if (mark == AL_MARK_THROTTLED)
        r->throttled++;
    else
        r->refused++;
}

/* Copies the server's text into dst on one line, the secret redacted before
 * the cut. */
static void copy_text(char *dst, size_t cap, const char *text, size_t len, const char *secret)
{
    al_redact_copy(dst, cap, text, len, secret);
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
}

/* @return 1 when doc is Amplitude's acknowledgement: {"code":200,...} or a
 * body with "events_ingested". A captive portal or a proxy also answers 200. */
static int is_ack(json_t *doc)
{
    json_t *code = json_object_get(doc, "code");
    if (json_is_number(code))
        return json_number_value(code) == 200;
    return json_is_number(json_object_get(doc, "events_ingested"));
}

/* Describes a 2xx that is not an acknowledgement, for the CONFIG stop. */
static void describe_bogus_ack(al_response_t *r, json_t *doc, const char *body, size_t len,
                               const char *secret)
{
    char snippet[96];
    json_t *code = json_object_get(doc, "code");
    if (doc != NULL && json_is_number(code)) {
        char err[sizeof(r->error)];
        memcpy(err, r->error, sizeof(err));
        snprintf(r->error, sizeof(r->error), "HTTP %ld but the body says code %.0f%s%.180s",
                 r->status, json_number_value(code), err[0] ? ": " : "", err);
        return;
    }
    if (len == 0) {
        snprintf(r->error, sizeof(r->error), "HTTP %ld with an empty body", r->status);
        return;
    }
    copy_text(snippet, 64, body, len < 4096 ? len : 4096, secret);
    snprintf(r->error, sizeof(r->error),
             "HTTP %ld with a body that is not Amplitude's answer: '%s%s'", r->status, snippet,
             len > 63 ? "..." : "");
}

/* Marks the events of {"field":[i,...],...} as refused for "<what> <field>". */
static void mark_field_lists(al_response_t *r, json_t *obj, const char *what)
{
    const char *field;
    json_t *list;
    json_object_foreach(obj, field, list)
    {
        char text[96];
        size_t k;
        json_t *idx;
        if (!json_is_array(list))
            continue;
        snprintf(text, sizeof(text), "server: %s %.48s", what, field);
        json_array_foreach(list, k, idx) mark_index(r, idx, reason_slot(r, text));
    }
}

static al_err_t collect_ids(json_t *obj, uint64_t **ids, size_t *n)
{
    const char *id;
    json_t *v;
    size_t cap = *n + json_object_size(obj);
    uint64_t *grown;
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return AL_ERR_OK;
    grown = realloc(*ids, cap * sizeof(**ids));
    if (grown == NULL)
        return AL_ERR_NOMEM;
    *ids = grown;
    json_object_foreach(obj, id, v)
    {
        (void)v;
        (*ids)[(*n)++] = al_id_hash(id, strlen(id));
    }
    return AL_ERR_OK;
}

al_err_t al_response_parse(al_response_t *r, long status, const char *body, size_t len,
                           uint32_t nevents, const char *secret)
{
    json_t *doc = NULL, *v;
    json_error_t jerr;
    al_err_t err = AL_ERR_OK;

    memset(r, 0, sizeof(*r));
    r->status = status;
    r->nevents = nevents > AL_MAX_BATCH_EVENTS ? AL_MAX_BATCH_EVENTS : nevents;
    if (body != NULL && len > 0)
        doc = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    if (doc != NULL) {
        v = json_object_get(doc, "error");
        if (json_is_string(v))
            copy_text(r->error, sizeof(r->error), json_string_value(v), json_string_length(v),
                      secret);
        v = json_object_get(doc, "missing_field");
        if (json_is_string(v))
            copy_text(r->missing_field, sizeof(r->missing_field), json_string_value(v),
                      json_string_length(v), secret);
    }

    if (status >= 200 && status < 300) {
        r->kind = is_ack(doc) ? AL_RESP_OK : AL_RESP_CONFIG;
        if (r->kind == AL_RESP_CONFIG)
            describe_bogus_ack(r, doc, body, body != NULL ? len : 0, secret);
    } else if (status == 400) {
        if (r->missing_field[0] != '\0' || al_response_key_refused(r)) {
            r->kind = AL_RESP_CONFIG;
        } else if (doc != NULL) {
            size_t k;
            json_t *idx;
            mark_field_lists(r, json_object_get(doc, "events_with_invalid_fields"), "invalid");
            mark_field_lists(r, json_object_get(doc, "events_with_missing_fields"), "missing");
            mark_field_lists(r, json_object_get(doc, "events_with_invalid_id_lengths"),
                             "invalid id length");
            v = json_object_get(doc, "silenced_events");
            if (json_is_array(v))
                json_array_foreach(v, k, idx)
                    mark_index(r, idx, reason_slot(r, "server: silenced event"));
            r->kind = r->refused > 0 ? AL_RESP_DROP : AL_RESP_UNDELIVERABLE;
        } else {
            r->kind = AL_RESP_UNDELIVERABLE;
        }
    } else if (status == 413) {
        r->kind = AL_RESP_TOO_LARGE;
    } else if (status == 429) {
        r->kind = AL_RESP_THROTTLED;
        if (doc != NULL) {
            size_t k;
            json_t *idx;
            v = json_object_get(doc, "throttled_events");
            if (json_is_array(v))
                json_array_foreach(v, k, idx) mark_index(r, idx, AL_MARK_THROTTLED);
            err = collect_ids(json_object_get(doc, "exceeded_daily_quota_users"), &r->quota_ids,
                              &r->nquota);
            if (err == AL_ERR_OK)
                err = collect_ids(json_object_get(doc, "exceeded_daily_quota_devices"),
                                  &r->quota_ids, &r->nquota);
            if (err == AL_ERR_OK)
                err = collect_ids(json_object_get(doc, "throttled_users"), &r->throttled_ids,
                                  &r->nthrottled);
            if (err == AL_ERR_OK)
                err = collect_ids(json_object_get(doc, "throttled_devices"), &r->throttled_ids,
                                  &r->nthrottled);
        }
    } else if (status == 408 || status >= 500) {
        r->kind = AL_RESP_RETRY;
    } else {
        r->kind = AL_RESP_CONFIG; /* 401, 403, 404 and the other 4xx */
    }
    json_decref(doc);
    return err;
}

/* @return 1 when body[0..len), without surrounding blanks and quotes, is
 * word. */
static int body_is(const char *body, size_t len, const char *word)
{
    size_t n = strlen(word);
    while (len > 0 && strchr(" \t\r\n\"", body[0]) != NULL) {
        body++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n\"", body[len - 1]) != NULL)
        len--;
    return len == n && memcmp(body, word, n) == 0;
}

al_err_t al_response_parse_identify(al_response_t *r, long status, const char *body, size_t len,
                                    uint32_t nidents, const char *secret)
{
    al_err_t err;
    if (body == NULL)
        len = 0;
    if (status >= 200 && status < 300) {
        memset(r, 0, sizeof(*r));
        r->status = status;
        r->nevents = nidents > AL_MAX_BATCH_EVENTS ? AL_MAX_BATCH_EVENTS : nidents;
        r->kind = body_is(body, len, "success") ? AL_RESP_OK : AL_RESP_CONFIG;
        if (r->kind == AL_RESP_CONFIG)
            describe_bogus_ack(r, NULL, body, len, secret);
        return AL_ERR_OK;
    }
    err = al_response_parse(r, status, body, len, nidents, secret);
    if (status == 400 && r->error[0] == '\0' && len > 0) {
        /* Identify answers in plain text: "missing_event", "Invalid API key" */
        copy_text(r->error, sizeof(r->error), body, len < 4096 ? len : 4096, secret);
        if (al_response_key_refused(r))
            r->kind = AL_RESP_CONFIG;
    }
    if (r->kind == AL_RESP_DROP) {
        /* Identify names no identifications: indices are not its answer */
        r->kind = AL_RESP_UNDELIVERABLE;
        memset(r->mark, 0, sizeof(r->mark));
        r->refused = 0;
    }
    return err;
}

int al_response_key_refused(const al_response_t *r)
{
    return r->status == 400 && (strncmp(r->error, "Invalid API key", 15) == 0 ||
                                strcmp(r->missing_field, "api_key") == 0);
}

int al_response_not_inflated(const al_response_t *r, int gzipped)
{
    return gzipped && (r->status == 415 || (r->status == 400 && r->kind != AL_RESP_DROP &&
                                            strncmp(r->error, "Invalid JSON", 12) == 0));
}

static int listed(const uint64_t *ids, size_t n, uint64_t h)
{
    if (h == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == h)
            return 1;
    return 0;
}

uint32_t al_response_mark_quota(al_response_t *r, const al_batch_t *b)
{
    uint32_t marked = 0;
    if (r->nquota == 0)
        return 0;
    for (uint32_t i = 0; i < b->events && i < r->nevents; i++) {
        if (listed(r->quota_ids, r->nquota, b->origin[i].uid) ||
            listed(r->quota_ids, r->nquota, b->origin[i].did)) {
            if (r->mark[i] == AL_MARK_THROTTLED)
                r->throttled--;
            r->mark[i] = AL_MARK_QUOTA;
            marked++;
        }
    }
    return marked;
}

void al_response_free(al_response_t *r)
{
    free(r->quota_ids);
    free(r->throttled_ids);
    r->quota_ids = r->throttled_ids = NULL;
    r->nquota = r->nthrottled = 0;
}
