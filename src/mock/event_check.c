/* event_check.c - Amplitude's event rules, restated over a jansson tree.
 *
 * Written from amplitude-api.md, not from the loader's validate.c. Where
 * jansson alone cannot see something the loader refuses - a top-level key
 * given twice, which a hash table silently collapses - the line is parsed a
 * second time with JSON_REJECT_DUPLICATES to find out.
 *
 * A `time` of any integer passes, as Amplitude takes it: one in seconds or
 * microseconds is accepted here (and lands in 1970, or far in the future).
 * The loader refuses those on its side (validate.h), a guard Amplitude does
 * not give; the tests' judge (tests/judge.c) adds that rule itself.
 */
#include "event_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const placeholders[] = {
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "0",
    "-1",
    "{}",
    "lmy47d",
    "00000000-0000-0000-0000-000000000000",
};
static const char *const tracked[] = {"event_type", "user_id", "device_id", "time", "insert_id"};

static size_t depth_of(json_t *v)
{
    size_t best = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            size_t d = depth_of(c);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            size_t d = depth_of(c);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    return 0;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            chars++;
    return chars;
}

static const char *check_id(json_t *v, unsigned min_id_length)
{
    const char *s;
    size_t n;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        return "id_not_string";
    s = json_string_value(v);
    n = json_string_length(v);
    for (size_t k = 0; k < sizeof(placeholders) / sizeof(placeholders[0]); k++) {
        size_t pl = strlen(placeholders[k]);
        if (pl == n && strncasecmp(s, placeholders[k], n) == 0)
            return "id_placeholder";
    }
    if (utf8_chars(s, n) < min_id_length)
        return "id_too_short";
    return NULL;
}

const char *mock_check_event(json_t *ev, unsigned min_id_length, const char **field)
{
    json_t *type, *uid, *did, *t, *iid;
    const char *r, *unused;

    if (field == NULL)
        field = &unused;
    *field = "event";
    if (!json_is_object(ev))
        return "not_object";
    if (depth_of(ev) > 41) {
        *field = "event_properties";
        return "too_deep";
    }
    *field = "event_type";
    type = json_object_get(ev, "event_type");
    if (type == NULL || json_is_null(type))
        return "missing_event_type";
    if (!json_is_string(type))
        return "event_type_not_string";
    if (json_string_length(type) == 0)
        return "event_type_empty";
    uid = json_object_get(ev, "user_id");
    did = json_object_get(ev, "device_id");
    if ((uid == NULL || json_is_null(uid)) && (did == NULL || json_is_null(did)))
        return (*field = "user_id", "missing_id");
    *field = "user_id";
    r = check_id(uid, min_id_length);
    if (r != NULL)
        return r;
    *field = "device_id";
    r = check_id(did, min_id_length);
    if (r != NULL)
        return r;
    *field = "time";
    t = json_object_get(ev, "time");
    if (t != NULL && !json_is_null(t) && !json_is_integer(t))
        return "time_not_integer";
    *field = "insert_id";
    iid = json_object_get(ev, "insert_id");
    if (iid != NULL && !json_is_null(iid) && !json_is_string(iid))
        return "insert_id_not_string";
    return NULL;
}

/* jansson refuses a whole document for one integer beyond int64, which
 * Amplitude accepts (in event_properties, say). Such integers are turned
 * into reals ("...0" -> "...0.0") outside strings, and the document parsed
 * again: every other value keeps its exact type, so "time" beyond int64 is
 * still not an integer. */
static char *widen_big_integers(const char *in, size_t len, size_t *out_len)
{
    char *out = malloc(len * 3 / 2 + 16), *o = out;
    size_t i = 0;
    if (out == NULL)
        return NULL;
    while (i < len) {
        char ch = in[i];
        if (ch == '"') {
            *o++ = in[i++];
            while (i < len && in[i] != '"') {
                if (in[i] == '\\' && i + 1 < len)
                    *o++ = in[i++];
                *o++ = in[i++];
            }
            if (i < len)
                *o++ = in[i++];
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t start = i, digits = 0;
            int integral = 1;
            if (in[i] == '-')
                i++;
            while (i < len && ((in[i] >= '0' && in[i] <= '9') || in[i] == '.' || in[i] == 'e' ||
                               in[i] == 'E' || in[i] == '+' || in[i] == '-')) {
                if (in[i] >= '0' && in[i] <= '9')
                    digits++;
                else
                    integral = 0;
                i++;
            }
            memcpy(o, in + start, i - start);
            o += i - start;
            if (integral && digits >= 19 && (size_t)(o - out) + 2 <= len * 3 / 2 + 16) {
                *o++ = '.';
                *o++ = '0';
            }
        } else {
            *o++ = in[i++];
        }
        if ((size_t)(o - out) + 4 > len * 3 / 2 + 16) {
            free(out);
            return NULL; /* cannot happen with sane input; give up */
        }
    }
    *out_len = (size_t)(o - out);
    return out;
}

json_t *mock_json_load(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    json_t *doc = json_loadb(buf, len, flags, err);
    size_t wlen;
    char *wide;
    if (doc != NULL || json_error_code(err) != json_error_numeric_overflow)
        return doc;
    wide = widen_big_integers(buf, len, &wlen);
    if (wide == NULL)
        return NULL;
    doc = json_loadb(wide, wlen, flags, err);
    free(wide);
    return doc;
}

/* Does the line repeat one of the tracked keys at top level? jansson keeps
 * the last value; its duplicate check names the key it tripped on. */
static int duplicate_tracked_key(const char *line, size_t len)
{
    json_error_t err;
    json_t *strict = mock_json_load(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
    if (strict != NULL) {
        json_decref(strict);
        return 0;
    }
    if (json_error_code(&err) != json_error_duplicate_key)
        return 0;
    for (size_t k = 0; k < sizeof(tracked) / sizeof(tracked[0]); k++) {
        char quoted[32];
        snprintf(quoted, sizeof(quoted), "'\"%s\"'", tracked[k]);
        if (strstr(err.text, quoted) != NULL)
            return 1;
    }
    return 0;
}

const char *mock_check_line(const char *line, size_t len, unsigned min_id_length,
                            size_t max_event_bytes)
{
    json_error_t err;
    json_t *ev;
    const char *r;
    size_t i;

    for (i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            break;
    if (i == len)
        return "blank";
    if (len > max_event_bytes)
        return "too_long";
    ev = mock_json_load(line, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    if (ev == NULL)
        return "invalid_json";
    if (!json_is_object(ev)) {
        json_decref(ev);
        return "not_object";
    }
    if (duplicate_tracked_key(line, len)) {
        json_decref(ev);
        return "duplicate_key";
    }
    r = mock_check_event(ev, min_id_length, NULL);
    json_decref(ev);
    return r;
}
