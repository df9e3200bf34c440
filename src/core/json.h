/* json.h - strict one-pass JSON validator that extracts top-level fields.
 *
 * The loader never builds a tree: it must look at every byte once, decide
 * whether the line is RFC 8259 JSON (valid UTF-8, no trailing commas, no
 * NaN, no control characters in strings, well-formed escapes and surrogate
 * pairs, nothing after the value), and remember where the handful of
 * top-level fields it cares about sit inside the line. Everything else is
 * skipped as it is validated.
 *
 * Thread-safety: al_json_scan() keeps no state between calls; any thread.
 */
#ifndef AL_JSON_H
#define AL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Containers nested deeper than this are refused as a syntax limit. It is far
 * above Amplitude's own nesting rule (validate.h), so it never decides a verdict
 * on an event that Amplitude would accept. */
#define AL_JSON_MAX_DEPTH 1024

/* Top-level keys the loader extracts: X(enum suffix, key text). */
#define AL_JSON_KEY_MAP(X)                                                                         \
    X(EVENT_TYPE, "event_type")                                                                    \
    X(USER_ID, "user_id")                                                                          \
    X(DEVICE_ID, "device_id")                                                                      \
    X(TIME, "time")                                                                                \
    X(INSERT_ID, "insert_id")

typedef enum {
#define AL_JSON_KEY_ENUM(e, s) AL_KEY_##e,
    AL_JSON_KEY_MAP(AL_JSON_KEY_ENUM)
#undef AL_JSON_KEY_ENUM
        AL_KEY_COUNT
} al_json_key_t;

typedef enum {
    AL_JT_ABSENT = 0,
    AL_JT_STRING,
    AL_JT_INTEGER, /* number without fraction or exponent */
    AL_JT_NUMBER,  /* any other number */
    AL_JT_TRUE,
    AL_JT_FALSE,
    AL_JT_NULL,
    AL_JT_OBJECT,
    AL_JT_ARRAY
} al_jtype_t;

/* Where one extracted value sits in the line. For strings, [off, off+len) is
 * the text between the quotes, still escaped; for other values it is the whole
 * value. */
typedef struct {
    uint32_t off;
    uint32_t len;
    uint8_t type;    /* al_jtype_t */
    uint8_t escaped; /* string contains a backslash escape */
    uint8_t seen;    /* times the key occurred at top level (2 = duplicate) */
} al_jfield_t;

/* One top-level member of an object, for callers that edit events
 * (transform.h). Offsets are into the scanned line. */
typedef struct {
    uint32_t key_off; /* the key's text between its quotes, still escaped */
    uint32_t key_len;
    uint32_t val_off; /* the whole value (a string with its quotes) */
    uint32_t val_len;
    uint8_t val_type; /* al_jtype_t */
    uint8_t key_esc;  /* the key contains a backslash escape */
    uint8_t val_esc;  /* a string value contains one */
} al_jmember_t;

/* Where al_json_scan() lists the top-level members when asked: at most cap
 * of them in v; n counts them all (n > cap: the list is incomplete). */
typedef struct {
    al_jmember_t *v;
    uint32_t cap;
    uint32_t n;
} al_jmembers_t;

typedef struct {
    al_jfield_t field[AL_KEY_COUNT];
    uint8_t top_type;   /* al_jtype_t of the top-level value */
    uint32_t max_depth; /* deepest container nesting; the top-level object is 1 */
    /* Set when the line is not valid JSON: */
    uint32_t err_pos;       /* byte index in the line of the offending byte */
    const char *err_msg;    /* static text, e.g. "trailing comma" */
    al_jmembers_t *members; /* al_json_scan_members()'s list, else NULL */
} al_jscan_t;

/* Validates p[0..len) as exactly one JSON value surrounded by optional
 * whitespace, and fills out. Fields of out->field are filled only when the
 * top-level value is an object. p need not be NUL-terminated; no byte at or
 * past p+len is read.
 * @return 1 when the text is valid JSON, 0 otherwise (err_pos/err_msg set). */
int al_json_scan(const char *p, size_t len, al_jscan_t *out);

/* al_json_scan(), also listing the top-level members of an object in
 * members (its n counts them all, even past its cap). Costs a few stores per
 * top-level member. */
int al_json_scan_members(const char *p, size_t len, al_jscan_t *out, al_jmembers_t *members);

/* Forces one variant of the scanner: "avx2", "sse2", "scalar", or "auto"
 * (the best the CPU has, the default). Not meant to be called while other
 * threads scan. @return 0, or -1 when this build or CPU does not have it. */
int al_json_use_simd(const char *name);

/* @return the name of the scanner variant in use. */
const char *al_json_simd(void);

/* @return 1 when p[0..n) is well-formed UTF-8 (RFC 3629), else 0. */
int al_json_utf8_valid(const char *p, size_t n);

/* Writes src[0..n) as the inside of a JSON string (no quotes) to dst, which
 * must hold AL_JSON_ESCAPED_MAX(n) bytes. Malformed UTF-8 is replaced by
 * U+FFFD so the output is always valid JSON. @return bytes written. */
#define AL_JSON_ESCAPED_MAX(n) ((n)*6)
size_t al_json_escape(char *dst, const char *src, size_t n);

/* Decodes the body of a string that al_json_scan() accepted (escapes
 * resolved, surrogate pairs joined) into dst, which must hold len bytes.
 * @return the decoded length. */
size_t al_json_unescape(char *dst, const char *src, size_t len);

/* @return the key text ("event_type") for k; static storage. */
const char *al_json_key_name(al_json_key_t k);

/* Writes src[0..n) as base64 (with padding) to dst, which must hold
 * (n + 2) / 3 * 4 bytes. @return bytes written. */
size_t al_base64(char *dst, const unsigned char *src, size_t n);

/* Writes a file name as a JSON member, byte for byte: "key":"name" when it
 * is valid UTF-8, else "key_base64":"..." (a JSON string cannot hold other
 * bytes, and replacing them would make the name another file's).
 * dst must hold AL_JSON_NAME_MAX(n) bytes (keys up to 16 bytes). @return
 * bytes written (no NUL). */
#define AL_JSON_NAME_MAX(n) (32 + AL_JSON_ESCAPED_MAX(n))
size_t al_json_name(char *dst, const char *key, const char *name, size_t n);

#endif
