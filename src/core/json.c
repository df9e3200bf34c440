/* json.c - the strict one-pass JSON scanner behind every event.
 *
 * Design. The scanner is a small state machine with an explicit container
 * stack (one bit per level: object or array), so hostile nesting cannot blow
 * the C stack and no memory is allocated. Strings dominate event text, so
 * string bodies are skipped 16 bytes at a time with SSE2: a single signed
 * compare against 0x20 flags both control characters and non-ASCII bytes,
 * two more compares flag the quote and the backslash; only flagged bytes take
 * the slow path (escape decoding, UTF-8 sequence check). Everything outside
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

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
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

/* Scans a string body; i is just past the opening quote.
 * @return the index of the closing quote, or NO_POS with the error in out. */
static size_t scan_string(const unsigned char *p, size_t i, size_t n, uint8_t *escaped,
                          al_jscan_t *out)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
#endif
    for (;;) {
        unsigned char c;
#if defined(__SSE2__)
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            __m128i m =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmplt_epi8(v, space)); /* <0x20 or >=0x80 */
            unsigned mask = (unsigned)_mm_movemask_epi8(m);
            if (mask != 0) {
                i += (size_t)__builtin_ctz(mask);
                goto special;
            }
            i += 16;
        }
#endif
        while (i < n) {
            c = p[i];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
                goto special;
            i++;
        }
        return fail(out, n, "unterminated string");
    special:
        c = p[i];
        if (c == '"')
            return i;
        if (c == '\\') {
            size_t esc = i;
            *escaped = 1;
            if (i + 1 >= n)
                return fail(out, n, "unterminated string");
            switch (p[i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                i += 2;
                break;
            case 'u': {
                long cu = hex4(p, i + 2, n);
                if (cu < 0)
                    return fail(out, esc, "invalid \\u escape");
                i += 6;
                if (cu >= 0xDC00 && cu <= 0xDFFF)
                    return fail(out, esc, "unpaired surrogate in \\u escape");
                if (cu >= 0xD800 && cu <= 0xDBFF) {
                    long lo;
                    if (i + 1 >= n || p[i] != '\\' || p[i + 1] != 'u')
                        return fail(out, esc, "unpaired surrogate in \\u escape");
                    lo = hex4(p, i + 2, n);
                    if (lo < 0)
                        return fail(out, i, "invalid \\u escape");
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(out, esc, "unpaired surrogate in \\u escape");
                    i += 6;
                }
                break;
            }
            default:
                return fail(out, esc, "invalid escape in string");
            }
            continue;
        }
        if (c < 0x20)
            return fail(out, i, "control character in string");
        {
            size_t len = utf8_seq(p, i, n);
            if (len == 0)
                return fail(out, i, "invalid UTF-8");
            i += len;
        }
    }
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

int al_json_scan(const char *text, size_t n, al_jscan_t *out)
{
    const unsigned char *p = (const unsigned char *)text;
    uint64_t stack[AL_JSON_MAX_DEPTH / 64]; /* bit set = object, clear = array */
    uint32_t depth = 0;
    int pending = -1; /* field whose value is being read at depth 1 */
    size_t i, e;
    uint8_t type, esc;

    memset(out, 0, sizeof(*out));
    if (n > UINT32_MAX)
        return fail(out, 0, "line too long"), 0;
    i = skip_ws(p, 0, n);

value:
    if (i >= n)
        return fail(out, i, "unexpected end of line"), 0;
    switch (p[i]) {
    case '{':
    case '[':
        if (depth == AL_JSON_MAX_DEPTH)
            return fail(out, i, "nesting too deep"), 0;
        if (p[i] == '{')
            stack[depth >> 6] |= (uint64_t)1 << (depth & 63);
        else
            stack[depth >> 6] &= ~((uint64_t)1 << (depth & 63));
        type = (p[i] == '{') ? AL_JT_OBJECT : AL_JT_ARRAY;
        if (depth == 0)
            out->top_type = type;
        else if (depth == 1 && pending >= 0) {
            out->field[pending].type = type;
            out->field[pending].off = (uint32_t)i;
        }
        depth++;
        if (depth > out->max_depth)
            out->max_depth = depth;
        i = skip_ws(p, i + 1, n);
        if (type == AL_JT_OBJECT) {
            if (i < n && p[i] == '}') {
                i++;
                depth--;
                goto closed;
            }
            goto key;
        }
        if (i < n && p[i] == ']') {
            i++;
            depth--;
            goto closed;
        }
        goto value;
    case '"':
        esc = 0;
        e = scan_string(p, i + 1, n, &esc, out);
        if (e == NO_POS)
            return 0;
        type = AL_JT_STRING;
        if (depth == 1 && pending >= 0) {
            out->field[pending].off = (uint32_t)(i + 1);
            out->field[pending].len = (uint32_t)(e - i - 1);
            out->field[pending].escaped = esc;
        }
        i = e + 1;
        break;
    case 't':
        if (!literal(p, i, n, "true", 4))
            return fail(out, i, "invalid literal"), 0;
        e = i + 4;
        type = AL_JT_TRUE;
        goto scalar;
    case 'f':
        if (!literal(p, i, n, "false", 5))
            return fail(out, i, "invalid literal"), 0;
        e = i + 5;
        type = AL_JT_FALSE;
        goto scalar;
    case 'n':
        if (!literal(p, i, n, "null", 4))
            return fail(out, i, "invalid literal"), 0;
        e = i + 4;
        type = AL_JT_NULL;
        goto scalar;
    case 'N':
    case 'I':
        return fail(out, i, "NaN and Infinity are not JSON"), 0;
    case '\'':
        return fail(out, i, "single-quoted string"), 0;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        e = scan_number(p, i, n, &type, out);
        if (e == NO_POS)
            return 0;
        goto scalar;
    default:
        return fail(out, i, "unexpected character"), 0;
    }
    goto after;

scalar:
    if (depth == 1 && pending >= 0) {
        out->field[pending].off = (uint32_t)i;
        out->field[pending].len = (uint32_t)(e - i);
    }
    i = e;
after:
    if (depth == 0) {
        out->top_type = type;
        goto end;
    }
    if (depth == 1 && pending >= 0) {
        out->field[pending].type = type;
        pending = -1;
    }
next:
    i = skip_ws(p, i, n);
    if (i >= n)
        return fail(out, i, "unexpected end of line"), 0;
    if (stack[(depth - 1) >> 6] & ((uint64_t)1 << ((depth - 1) & 63))) {
        if (p[i] == ',') {
            i = skip_ws(p, i + 1, n);
            if (i < n && p[i] == '}')
                return fail(out, i, "trailing comma"), 0;
            goto key;
        }
        if (p[i] == '}') {
            i++;
            depth--;
            goto closed;
        }
        return fail(out, i, "expected ',' or '}' after object member"), 0;
    }
    if (p[i] == ',') {
        i = skip_ws(p, i + 1, n);
        if (i < n && p[i] == ']')
            return fail(out, i, "trailing comma"), 0;
        goto value;
    }
    if (p[i] == ']') {
        i++;
        depth--;
        goto closed;
    }
    return fail(out, i, "expected ',' or ']' after array element"), 0;

closed: /* a container ended just before p[i]; depth is already its parent's */
    if (depth == 0)
        goto end;
    if (depth == 1 && pending >= 0) {
        out->field[pending].len = (uint32_t)(i - out->field[pending].off);
        pending = -1;
    }
    goto next;

key:
    if (i >= n)
        return fail(out, i, "unexpected end of line"), 0;
    if (p[i] != '"')
        return fail(out, i, p[i] == '\'' ? "single-quoted string" : "expected string key"), 0;
    esc = 0;
    e = scan_string(p, i + 1, n, &esc, out);
    if (e == NO_POS)
        return 0;
    if (depth == 1) {
        pending = match_key(p + i + 1, e - i - 1, esc);
        if (pending >= 0 && out->field[pending].seen < 255)
            out->field[pending].seen++;
    }
    i = skip_ws(p, e + 1, n);
    if (i >= n || p[i] != ':')
        return fail(out, i, "expected ':' after object key"), 0;
    i = skip_ws(p, i + 1, n);
    goto value;

end:
    i = skip_ws(p, i, n);
    if (i != n)
        return fail(out, i, "unexpected text after the JSON value"), 0;
    return 1;
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
