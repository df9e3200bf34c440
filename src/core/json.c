/* json.c - the strict one-pass JSON scanner behind every event.
 *
 * Design. The scanner is a small state machine with an explicit container
 * stack (one bit per level: object or array), so hostile nesting cannot blow
 * the C stack and no memory is allocated. Strings dominate event text, so
 * string bodies are skipped 32 bytes at a time with AVX2 (16 with SSE2): a
 * single signed compare against 0x20 flags both control characters and
 * non-ASCII bytes, two more compares flag the quote and the backslash; only
 * flagged bytes take the slow path (escape decoding, UTF-8 sequence check).
 * The scanner body (json_scan.inc) is compiled once per instruction set -
 * AVX2, SSE2, portable C - and the first call picks the best one the CPU
 * has; al_json_use_simd() can force one (tests, benchmarks). Everything outside
 * strings is short (punctuation, numbers, literals) and scanned byte by byte.
 *
 * Field extraction costs almost nothing: at depth 1 each key is compared with
 * the few names in AL_JSON_KEY_MAP by length first, and the value's span is
 * recorded when it ends. Error positions are byte indices in the line; the
 * caller turns them into the column a user sees.
 *
 * Strictness follows RFC 8259 exactly; in particular \u0000 is allowed (it is
 * valid JSON), unpaired surrogate escapes are not (they cannot be UTF-8), and
 * UTF-8 is checked per RFC 3629 (no overlongs, no surrogates, <= U+10FFFF).
 */
#include "json.h"

#include <stdatomic.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#define AL_JSON_X86 1
#include <immintrin.h>
#else
#define AL_JSON_X86 0
#endif

#define NO_POS ((size_t)-1)

static const char *const key_names[AL_KEY_COUNT] = {
#define AL_JSON_KEY_NAME(e, s) s,
    AL_JSON_KEY_MAP(AL_JSON_KEY_NAME)
#undef AL_JSON_KEY_NAME
};

const char *al_json_key_name(al_json_key_t k)
{
    return (k < AL_KEY_COUNT) ? key_names[k] : "";
}

static size_t fail(al_jscan_t *out, size_t pos, const char *msg)
{
    out->err_pos = (uint32_t)pos;
    out->err_msg = msg;
    return NO_POS;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline size_t skip_ws(const unsigned char *p, size_t i, size_t n)
{
    while (i < n && is_ws(p[i]))
        i++;
    return i;
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* @return the code unit of the 4 hex digits at p[i..i+4), or -1. */
static long hex4(const unsigned char *p, size_t i, size_t n)
{
    long v = 0;
    if (i + 4 > n)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(p[i + k]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* @return the length of the valid UTF-8 sequence starting at p[i] (a byte
 * >= 0x80), or 0 when it is malformed or cut off by n. */
static size_t utf8_seq(const unsigned char *p, size_t i, size_t n)
{
    unsigned c = p[i], c1;

    if (c < 0xC2)
        return 0; /* stray continuation byte or overlong 2-byte form */
    if (i + 1 >= n)
        return 0;
    c1 = p[i + 1];
    if ((c1 & 0xC0) != 0x80)
        return 0;
    if (c < 0xE0)
        return 2;
    if (i + 2 >= n || (p[i + 2] & 0xC0) != 0x80)
        return 0;
    if (c < 0xF0) {
        if (c == 0xE0 && c1 < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && c1 > 0x9F)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c > 0xF4 || i + 3 >= n || (p[i + 3] & 0xC0) != 0x80)
        return 0;
    if (c == 0xF0 && c1 < 0x90)
        return 0; /* overlong */
    if (c == 0xF4 && c1 > 0x8F)
        return 0; /* above U+10FFFF */
    return 4;
}

/* Scans a number starting at p[i]. @return the index just past it, or NO_POS. */
static size_t scan_number(const unsigned char *p, size_t i, size_t n, uint8_t *type,
                          al_jscan_t *out)
{
    int integer = 1;

    if (p[i] == '-')
        i++;
    if (i >= n)
        return fail(out, i, "invalid number");
    if (p[i] == '0') {
        i++;
        if (i < n && p[i] >= '0' && p[i] <= '9')
            return fail(out, i, "leading zero in number");
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    } else if (p[i] == 'I') {
        return fail(out, i, "NaN and Infinity are not JSON");
    } else {
        return fail(out, i, "invalid number");
    }
    if (i < n && p[i] == '.') {
        i++;
        if (i >= n || p[i] < '0' || p[i] > '9')
            return fail(out, i, "digit expected after decimal point");
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        integer = 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i >= n || p[i] < '0' || p[i] > '9')
            return fail(out, i, "digit expected in exponent");
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        integer = 0;
    }
    *type = integer ? AL_JT_INTEGER : AL_JT_NUMBER;
    return i;
}

/* Decodes a short escaped key into buf (ASCII only). @return its length, or
 * 0 when it is too long or not ASCII, so it cannot be one of ours. */
static size_t unescape_key(const unsigned char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (o + 1 >= cap)
            return 0;
        if (c == '\\') {
            long cu;
            if (i + 1 >= len)
                return 0;
            switch (s[i + 1]) {
            case '"':
            case '\\':
            case '/':
                buf[o++] = (char)s[i + 1];
                i++;
                continue;
            case 'u':
                cu = hex4(s, i + 2, len);
                if (cu <= 0 || cu >= 0x80)
                    return 0;
                buf[o++] = (char)cu;
                i += 5;
                continue;
            default:
                return 0; /* \b \f \n \r \t never appear in our keys */
            }
        }
        if (c >= 0x80)
            return 0;
        buf[o++] = (char)c;
    }
    return o;
}

static int match_key(const unsigned char *s, size_t len, int escaped)
{
    char buf[16];
    const char *k = (const char *)s;

    if (escaped) {
        len = unescape_key(s, len, buf, sizeof(buf));
        k = buf;
    }
    switch (len) {
    case 4:
        return memcmp(k, "time", 4) == 0 ? AL_KEY_TIME : -1;
    case 7:
        return memcmp(k, "user_id", 7) == 0 ? AL_KEY_USER_ID : -1;
    case 9:
        if (memcmp(k, "device_id", 9) == 0)
            return AL_KEY_DEVICE_ID;
        return memcmp(k, "insert_id", 9) == 0 ? AL_KEY_INSERT_ID : -1;
    case 10:
        return memcmp(k, "event_type", 10) == 0 ? AL_KEY_EVENT_TYPE : -1;
    default:
        return -1;
    }
}

static inline int literal(const unsigned char *p, size_t i, size_t n, const char *word, size_t wl)
{
    return i + wl <= n && memcmp(p + i, word, wl) == 0;
}

/* ---- the scanner, one variant per instruction set ---------------------- */

#define SCAN_FN(name) name##_scalar
#define SCAN_SIMD     0
#include "json_scan.inc"
#undef SCAN_FN
#undef SCAN_SIMD

#if AL_JSON_X86
#define SCAN_FN(name) name##_sse2
#define SCAN_SIMD     16
#include "json_scan.inc"
#undef SCAN_FN
#undef SCAN_SIMD

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#define SCAN_FN(name) name##_avx2
#define SCAN_SIMD     32
#include "json_scan.inc"
#undef SCAN_FN
#undef SCAN_SIMD
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

typedef int (*scan_fn)(const char *, size_t, al_jscan_t *);

static const struct {
    const char *name;
    scan_fn fn;
} variants[] = {
#if AL_JSON_X86
    {"avx2", scan_avx2},
    {"sse2", scan_sse2},
#endif
    {"scalar", scan_scalar},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static _Atomic int chosen = -1; /* index into variants; -1 until the first scan */

static int cpu_has(const char *name)
{
#if AL_JSON_X86
    if (strcmp(name, "avx2") == 0) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }
#endif
    (void)name;
    return 1; /* sse2 is part of x86-64; scalar runs anywhere */
}

static int choose(void)
{
    int best = (int)NVARIANTS - 1;
    for (size_t k = 0; k < NVARIANTS; k++)
        if (cpu_has(variants[k].name)) {
            best = (int)k;
            break;
        }
    atomic_store_explicit(&chosen, best, memory_order_relaxed);
    return best;
}

int al_json_scan_members(const char *text, size_t n, al_jscan_t *out, al_jmembers_t *members)
{
    int k = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (k < 0)
        k = choose();
    out->members = members; /* the scanner keeps it and clears the rest */
    return variants[k].fn(text, n, out);
}

int al_json_scan(const char *text, size_t n, al_jscan_t *out)
{
    return al_json_scan_members(text, n, out, NULL);
}

int al_json_use_simd(const char *name)
{
    for (size_t k = 0; k < NVARIANTS; k++)
        if (strcmp(variants[k].name, name) == 0 && cpu_has(name)) {
            atomic_store_explicit(&chosen, (int)k, memory_order_relaxed);
            return 0;
        }
    if (strcmp(name, "auto") == 0) {
        choose();
        return 0;
    }
    return -1;
}

const char *al_json_simd(void)
{
    int k = atomic_load_explicit(&chosen, memory_order_relaxed);
    return variants[k < 0 ? choose() : k].name;
}

int al_json_utf8_valid(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq(p, i, n);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

size_t al_json_escape(char *dst, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)src;
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_seq(p, i, n);
            if (len == 0) {
                memcpy(dst + o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(dst + o, p + i, len);
                o += len;
                i += len;
            }
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (c == '\r') {
            dst[o++] = '\\';
            dst[o++] = 'r';
        } else if (c == '\t') {
            dst[o++] = '\\';
            dst[o++] = 't';
        } else if (c < 0x20) {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[c >> 4];
            dst[o + 5] = hex[c & 15];
            o += 6;
        } else {
            dst[o++] = (char)c;
        }
    }
    return o;
}

size_t al_json_unescape(char *dst, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;

    for (size_t i = 0; i < len;) {
        long cp;
        if (s[i] != '\\') {
            dst[o++] = (char)s[i++];
            continue;
        }
        switch (s[i + 1]) {
        case 'b':
            dst[o++] = '\b';
            break;
        case 'f':
            dst[o++] = '\f';
            break;
        case 'n':
            dst[o++] = '\n';
            break;
        case 'r':
            dst[o++] = '\r';
            break;
        case 't':
            dst[o++] = '\t';
            break;
        case 'u':
            cp = hex4(s, i + 2, len);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(s, i + 2, len) - 0xDC00);
                i += 6;
            }
            /* UTF-8 is never longer than the escape it came from */
            if (cp < 0x80) {
                dst[o++] = (char)cp;
            } else if (cp < 0x800) {
                dst[o++] = (char)(0xC0 | (cp >> 6));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                dst[o++] = (char)(0xE0 | (cp >> 12));
                dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                dst[o++] = (char)(0xF0 | (cp >> 18));
                dst[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        default: /* " \ / */
            dst[o++] = (char)s[i + 1];
            break;
        }
        i += 2;
    }
    return o;
}

size_t al_base64(char *dst, const unsigned char *src, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o++] = tab[v >> 18];
        dst[o++] = tab[(v >> 12) & 63];
        dst[o++] = tab[(v >> 6) & 63];
        dst[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
        dst[o++] = tab[v >> 18];
        dst[o++] = tab[(v >> 12) & 63];
        dst[o++] = (i + 1 < n) ? tab[(v >> 6) & 63] : '=';
        dst[o++] = '=';
    }
    return o;
}

size_t al_json_name(char *dst, const char *key, const char *name, size_t n)
{
    int utf8 = al_json_utf8_valid(name, n);
    size_t o = 0, kl = strlen(key);
    dst[o++] = '"';
    memcpy(dst + o, key, kl);
    o += kl;
    if (!utf8) {
        memcpy(dst + o, "_base64", 7);
        o += 7;
    }
    memcpy(dst + o, "\":\"", 3);
    o += 3;
    o += utf8 ? al_json_escape(dst + o, name, n)
              : al_base64(dst + o, (const unsigned char *)name, n);
    dst[o++] = '"';
    return o;
}
