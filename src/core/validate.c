/* validate.c - Amplitude's event rules on top of the JSON scanner.
 *
 * The scanner has already proved the line is JSON and recorded where the
 * interesting top-level values are; this file only looks at those few spans.
 * IDs are the one place where a value must be decoded: Amplitude counts
 * characters, not bytes, and compares placeholder values case-insensitively,
 * so escapes are decoded into a small stack buffer, never the heap.
 */
#include "validate.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const reason_keys[AL_REASON_COUNT] = {
#define AL_REASON_KEY(name, key, desc) key,
    AL_REASON_MAP(AL_REASON_KEY)
#undef AL_REASON_KEY
};

static const char *const reason_descs[AL_REASON_COUNT] = {
#define AL_REASON_DESC(name, key, desc) desc,
    AL_REASON_MAP(AL_REASON_DESC)
#undef AL_REASON_DESC
};

/* ID values Amplitude refuses, compared case-insensitively. "" is refused
 * too, but as "shorter than min_id_length", which says more. */
#define PH(s)                                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
static const struct {
    const char *text;
    size_t len;
} placeholders[] = {
    PH("anonymous"),
    PH("nil"),
    PH("none"),
    PH("null"),
    PH("n/a"),
    PH("na"),
    PH("undefined"),
    PH("unknown"),
    PH("0"),
    PH("-1"),
    PH("{}"),
    PH("lmy47d"),
    PH("00000000-0000-0000-0000-000000000000"),
};
#undef PH
#define PLACEHOLDER_MAX 36

void al_rules_init(al_rules_t *r)
{
    r->min_id_length = AL_DEFAULT_MIN_ID_LENGTH;
    r->max_event_bytes = AL_DEFAULT_MAX_EVENT_BYTES;
}

const char *al_reason_key(al_reason_code_t code)
{
    return (code < AL_REASON_COUNT) ? reason_keys[code] : "unknown";
}

/* Counts the characters of a scanned (hence well-formed) JSON string body and
 * copies it, decoded and ASCII-lowercased, into low[0..cap) when it fits.
 * @return the number of Unicode code points. */
static uint64_t id_chars(const unsigned char *s, size_t len, char *low, size_t cap, size_t *lowlen)
{
    char buf[1024], *heap = NULL;
    const unsigned char *text = s;
    uint64_t chars = 0;
    size_t n = len;

    if (memchr(s, '\\', len) != NULL) {
        /* escapes: decode first (UTF-8 is never longer than its escapes) */
        char *dst = len <= sizeof(buf) ? buf : (heap = malloc(len));
        if (dst != NULL) {
            n = al_json_unescape(dst, (const char *)s, len);
            text = (const unsigned char *)dst;
        }
    }
    for (size_t i = 0; i < n; i++)
        chars += ((text[i] & 0xC0) != 0x80); /* bytes that do not continue one */
    *lowlen = 0;
    if (n <= cap) { /* only text as short as a placeholder needs lowercasing */
        for (size_t i = 0; i < n; i++)
            low[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] | 0x20) : (char)text[i];
        *lowlen = n;
    }
    free(heap);
    return chars;
}

/* @return the placeholder that the lowercased id text low[0..n) equals, or NULL. */
static const char *placeholder_of(const char *low, size_t n)
{
    for (size_t k = 0; k < sizeof(placeholders) / sizeof(placeholders[0]); k++)
        if (placeholders[k].len == n && memcmp(placeholders[k].text, low, n) == 0)
            return placeholders[k].text;
    return NULL;
}

/* @return 1 when the id field is absent or valid; else 0 with why filled. */
static int check_id(const char *line, const al_jfield_t *f, al_json_key_t key,
                    const al_rules_t *rules, al_reason_t *why)
{
    char low[PLACEHOLDER_MAX + 1];
    size_t lowlen;
    uint64_t chars;

    if (f->type == AL_JT_ABSENT || f->type == AL_JT_NULL)
        return 1;
    why->key = key;
    if (f->type != AL_JT_STRING) {
        why->code = AL_REASON_ID_NOT_STRING;
        return 0;
    }
    chars = id_chars((const unsigned char *)line + f->off, f->len, low, sizeof(low), &lowlen);
    if (chars > 0 && chars <= PLACEHOLDER_MAX) {
        why->placeholder = placeholder_of(low, lowlen);
        if (why->placeholder != NULL) {
            why->code = AL_REASON_ID_PLACEHOLDER;
            return 0;
        }
    }
    if (chars < rules->min_id_length) {
        why->code = AL_REASON_ID_TOO_SHORT;
        return 0;
    }
    return 1;
}

int al_event_check(const char *line, size_t len, const al_rules_t *rules, al_event_t *ev,
                   al_reason_t *why)
{
    memset(why, 0, sizeof(*why));
    if (len > rules->max_event_bytes) {
        why->code = AL_REASON_TOO_LONG;
        why->length = len;
        return 0;
    }
    ev->time_derived = 0;
    if (!al_json_scan(line, len, &ev->scan)) {
        why->code = AL_REASON_INVALID_JSON;
        why->column = ev->scan.err_pos + 1;
        why->json_error = ev->scan.err_msg;
        return 0;
    }
    return al_event_rules(line, len, rules, ev, why);
}

int al_shape_rules(size_t len, const al_rules_t *rules, const al_jscan_t *scan, al_reason_t *why)
{
    const al_jfield_t *f = scan->field;

    memset(why, 0, sizeof(*why));
    if (len > rules->max_event_bytes) {
        why->code = AL_REASON_TOO_LONG;
        why->length = len;
        return 0;
    }
    if (scan->top_type != AL_JT_OBJECT) {
        why->code = AL_REASON_NOT_OBJECT;
        return 0;
    }
    for (int k = 0; k < AL_KEY_COUNT; k++) {
        if (f[k].seen > 1) {
            why->code = AL_REASON_DUPLICATE_KEY;
            why->key = (al_json_key_t)k;
            return 0;
        }
    }
    if (scan->max_depth > AL_MAX_PROPERTY_DEPTH + 1) {
        why->code = AL_REASON_TOO_DEEP;
        return 0;
    }
    return 1;
}

int al_id_rules(const char *line, const al_rules_t *rules, const al_jscan_t *scan, al_reason_t *why)
{
    const al_jfield_t *f = scan->field;
    if ((f[AL_KEY_USER_ID].type == AL_JT_ABSENT || f[AL_KEY_USER_ID].type == AL_JT_NULL) &&
        (f[AL_KEY_DEVICE_ID].type == AL_JT_ABSENT || f[AL_KEY_DEVICE_ID].type == AL_JT_NULL)) {
        why->code = AL_REASON_MISSING_ID;
        return 0;
    }
    return check_id(line, &f[AL_KEY_USER_ID], AL_KEY_USER_ID, rules, why) &&
           check_id(line, &f[AL_KEY_DEVICE_ID], AL_KEY_DEVICE_ID, rules, why);
}

/* A time given as a number must be in milliseconds: a positive one
 * outside [AL_TIME_MIN_MS, AL_TIME_MAX_MS] is in another unit. The text is
 * a JSON integer (the scanner proved it); one of more digits than int64
 * holds is simply large. @return 1, or 0 with why set. */
static int time_in_ms(const char *text, size_t n, al_reason_t *why)
{
    uint64_t v = 0;
    if (n == 0 || text[0] == '-')
        return 1;
    for (size_t i = 0; i < n; i++)
        v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(text[i] - '0');
    if (v == 0 || (v >= (uint64_t)AL_TIME_MIN_MS && v <= (uint64_t)AL_TIME_MAX_MS))
        return 1;
    why->code =
        v < (uint64_t)AL_TIME_MIN_MS ? AL_REASON_TIME_IN_SECONDS : AL_REASON_TIME_IN_MICROSECONDS;
    why->key = AL_KEY_TIME;
    why->length = v;
    return 0;
}

int al_event_rules(const char *line, size_t len, const al_rules_t *rules, al_event_t *ev,
                   al_reason_t *why)
{
    const al_jfield_t *f = ev->scan.field;

    if (!al_shape_rules(len, rules, &ev->scan, why))
        return 0;
    if (f[AL_KEY_EVENT_TYPE].type == AL_JT_ABSENT || f[AL_KEY_EVENT_TYPE].type == AL_JT_NULL) {
        why->code = AL_REASON_MISSING_EVENT_TYPE;
        return 0;
    }
    if (f[AL_KEY_EVENT_TYPE].type != AL_JT_STRING) {
        why->code = AL_REASON_EVENT_TYPE_NOT_STRING;
        return 0;
    }
    if (f[AL_KEY_EVENT_TYPE].len == 0) {
        why->code = AL_REASON_EVENT_TYPE_EMPTY;
        return 0;
    }
    if (!al_id_rules(line, rules, &ev->scan, why))
        return 0;
    if (f[AL_KEY_TIME].type != AL_JT_ABSENT && f[AL_KEY_TIME].type != AL_JT_NULL &&
        f[AL_KEY_TIME].type != AL_JT_INTEGER) {
        why->code = AL_REASON_TIME_NOT_INTEGER;
        return 0;
    }
    if (f[AL_KEY_TIME].type == AL_JT_INTEGER && !ev->time_derived &&
        !time_in_ms(line + f[AL_KEY_TIME].off, f[AL_KEY_TIME].len, why))
        return 0;
    if (f[AL_KEY_INSERT_ID].type != AL_JT_ABSENT && f[AL_KEY_INSERT_ID].type != AL_JT_NULL &&
        f[AL_KEY_INSERT_ID].type != AL_JT_STRING) {
        why->code = AL_REASON_INSERT_ID_NOT_STRING;
        return 0;
    }
    why->code = AL_REASON_OK;
    return 1;
}

char *al_reason_format(const al_reason_t *why, const al_rules_t *rules, char *buf, size_t cap)
{
    const char *key = al_json_key_name(why->key);

    switch (why->code) {
    case AL_REASON_INVALID_JSON:
        snprintf(buf, cap, "invalid JSON at column %u: %s", why->column, why->json_error);
        break;
    case AL_REASON_TOO_LONG:
        snprintf(buf, cap, "line of %llu bytes is longer than --max-event-bytes %u",
                 (unsigned long long)why->length, rules->max_event_bytes);
        break;
    case AL_REASON_DUPLICATE_KEY:
        snprintf(buf, cap, "duplicate key %s", why->field != NULL ? why->field : key);
        break;
    case AL_REASON_OPERATION_NOT_OBJECT:
        snprintf(buf, cap, "the value of %s is not an object of properties", why->field);
        break;
    case AL_REASON_ID_NOT_STRING:
        snprintf(buf, cap, "%s is not a string", key);
        break;
    case AL_REASON_ID_TOO_SHORT:
        snprintf(buf, cap, "%s shorter than %u", key, rules->min_id_length);
        break;
    case AL_REASON_ID_PLACEHOLDER:
        snprintf(buf, cap, "%s is \"%s\", a placeholder Amplitude refuses", key, why->placeholder);
        break;
    case AL_REASON_TIME_NOT_INTEGER:
        snprintf(buf, cap, "time is not an integer (milliseconds since epoch)");
        break;
    case AL_REASON_TIME_IN_SECONDS:
        snprintf(buf, cap,
                 "time %llu looks like seconds (as milliseconds it is before 1973-03-03); "
                 "ampload wants milliseconds since the epoch",
                 (unsigned long long)why->length);
        break;
    case AL_REASON_TIME_IN_MICROSECONDS:
        snprintf(buf, cap,
                 "time %llu looks like %s (as milliseconds it is after the year 5138); "
                 "ampload wants milliseconds since the epoch",
                 (unsigned long long)why->length,
                 why->length > 100000000000000000ULL ? "nanoseconds" : "microseconds");
        break;
    case AL_REASON_BAD_EVENT_TIME:
        if (why->field != NULL)
            snprintf(buf, cap, "%s is not a UTC time \"YYYY-MM-DD HH:MM:SS[.ffffff]\"", why->field);
        else
            snprintf(buf, cap,
                     "no event time: event_time, client_event_time and "
                     "server_received_time are all absent or null");
        break;
    default:
        snprintf(buf, cap, "%s",
                 why->code < AL_REASON_COUNT ? reason_descs[why->code] : "unknown reason");
        break;
    }
    return buf;
}

uint64_t al_id_hash(const char *text, size_t len)
{
    uint64_t h = XXH3_64bits(text, len);
    return h ? h : 1;
}

uint64_t al_event_id_hash(const char *line, const al_jfield_t *f)
{
    char buf[1024], *big;
    uint64_t h;
    if (f->type != AL_JT_STRING)
        return 0;
    if (!f->escaped)
        return al_id_hash(line + f->off, f->len);
    if (f->len <= sizeof(buf))
        return al_id_hash(buf, al_json_unescape(buf, line + f->off, f->len));
    /* an escaped id over 1 KiB is rare: two spellings of one id must still
     * land on one shard and one throttle pause, so decode it on the heap */
    big = malloc(f->len);
    if (big == NULL)
        return al_id_hash(line + f->off, f->len);
    h = al_id_hash(big, al_json_unescape(big, line + f->off, f->len));
    free(big);
    return h;
}
