/* identify.c - the rules of an identification and form encoding (identify.h). */
#include "identify.h"

#include <string.h>

/* The operations, with whether a second application changes the result. */
static const struct {
    const char *name;
    uint8_t len;
    uint8_t repeatable; /* idempotent: $set twice is $set once */
} operations[] = {
    {"$set", 4, 1},         {"$setOnce", 8, 1}, {"$unset", 6, 1},   {"$clearAll", 9, 1},
    {"$add", 4, 0},         {"$append", 7, 0},  {"$prepend", 8, 0}, {"$preInsert", 10, 0},
    {"$postInsert", 11, 0}, {"$remove", 7, 0},
};

/* @return the index of the operation named k[0..n) (escapes already
 * resolved by the caller when there were any), or -1. */
static int operation_of(const char *k, size_t n)
{
    for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
        if (operations[i].len == n && memcmp(operations[i].name, k, n) == 0)
            return (int)i;
    return -1;
}

/* The key of member m, decoded into buf when it has escapes. */
static const char *key_text(const char *line, const al_jmember_t *m, char *buf, size_t cap,
                            size_t *n)
{
    if (!m->key_esc || m->key_len > cap) {
        *n = m->key_len;
        return line + m->key_off;
    }
    *n = al_json_unescape(buf, line + m->key_off, m->key_len);
    return buf;
}

static int refuse(al_reason_t *why, al_reason_code_t code, const char *field)
{
    why->code = code;
    why->field = field;
    return 0;
}

/* $add's properties must be numbers. p is the operation's object. */
static int numbers_only(const char *p, size_t n, al_reason_t *why)
{
    al_jmember_t mem[AL_IDENT_MEMBERS];
    al_jmembers_t list = {mem, AL_IDENT_MEMBERS, 0};
    al_jscan_t scan;
    al_json_scan_members(p, n, &scan, &list); /* valid: part of a valid line */
    if (list.n > AL_IDENT_MEMBERS)
        return refuse(why, AL_REASON_TOO_MANY_FIELDS, "$add");
    for (uint32_t i = 0; i < list.n; i++)
        if (mem[i].val_type != AL_JT_INTEGER && mem[i].val_type != AL_JT_NUMBER)
            return refuse(why, AL_REASON_ADD_NOT_NUMERIC, "$add");
    return 1;
}

/* user_properties at up: plain, or operations only, each well formed. */
static int check_properties(const char *line, const al_jmember_t *up, al_ident_t *id,
                            al_reason_t *why)
{
    al_jmember_t mem[AL_IDENT_MEMBERS];
    al_jmembers_t list = {mem, AL_IDENT_MEMBERS, 0};
    al_jscan_t scan;
    const char *p = line + up->val_off;
    uint32_t ops = 0;

    if (up->val_type == AL_JT_NULL)
        return 1;
    if (up->val_type != AL_JT_OBJECT)
        return refuse(why, AL_REASON_USER_PROPERTIES_NOT_OBJECT, NULL);
    al_json_scan_members(p, up->val_len, &scan, &list);
    if (list.n > AL_IDENT_MEMBERS)
        return refuse(why, AL_REASON_TOO_MANY_FIELDS, "user_properties");
    for (uint32_t i = 0; i < list.n; i++) {
        char buf[32];
        size_t n;
        const char *k = key_text(p, &mem[i], buf, sizeof(buf), &n);
        ops += n > 0 && k[0] == '$';
    }
    if (ops != 0 && ops != list.n)
        return refuse(why, AL_REASON_MIXED_OPERATIONS, NULL);
    for (uint32_t i = 0; i < ops; i++) {
        char buf[32];
        size_t n;
        const char *k = key_text(p, &mem[i], buf, sizeof(buf), &n);
        int op = operation_of(k, n);
        if (op < 0)
            return refuse(why, AL_REASON_UNKNOWN_OPERATION, NULL);
        if (strcmp(operations[op].name, "$clearAll") == 0)
            continue; /* its value does not matter */
        if (mem[i].val_type != AL_JT_OBJECT)
            return refuse(why, AL_REASON_OPERATION_NOT_OBJECT, operations[op].name);
        if (op == 4 && !numbers_only(p + mem[i].val_off, mem[i].val_len, why))
            return 0;
        id->non_idempotent |= !operations[op].repeatable;
    }
    id->operations = ops;
    return 1;
}

int al_ident_check(const char *line, size_t len, const al_rules_t *rules, al_ident_t *id,
                   al_reason_t *why)
{
    al_jmember_t mem[AL_IDENT_MEMBERS];
    al_jmembers_t list = {mem, AL_IDENT_MEMBERS, 0};
    const al_jmember_t *up = NULL;

    memset(why, 0, sizeof(*why));
    id->non_idempotent = 0;
    id->operations = 0;
    if (len > rules->max_event_bytes) {
        why->code = AL_REASON_TOO_LONG;
        why->length = len;
        return 0;
    }
    if (!al_json_scan_members(line, len, &id->scan, &list)) {
        why->code = AL_REASON_INVALID_JSON;
        why->column = id->scan.err_pos + 1;
        why->json_error = id->scan.err_msg;
        return 0;
    }
    if (!al_shape_rules(len, rules, &id->scan, why))
        return 0;
    if (list.n > AL_IDENT_MEMBERS)
        return refuse(why, AL_REASON_TOO_MANY_FIELDS, NULL);
    if (!al_id_rules(line, rules, &id->scan, why))
        return 0;
    for (uint32_t i = 0; i < list.n; i++) {
        char buf[32];
        size_t n;
        const char *k = key_text(line, &mem[i], buf, sizeof(buf), &n);
        if (n == 15 && memcmp(k, "user_properties", 15) == 0) {
            if (up != NULL)
                return refuse(why, AL_REASON_DUPLICATE_KEY, "user_properties");
            up = &mem[i];
        }
    }
    if (up != NULL && !check_properties(line, up, id, why))
        return 0;
    why->code = AL_REASON_OK;
    return 1;
}

/* 1 for the bytes a form value keeps as they are. */
static const unsigned char keep[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['*'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

size_t al_form_encode(char *dst, const char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (keep[c]) {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            o[0] = '%';
            o[1] = hex[c >> 4];
            o[2] = hex[c & 15];
            o += 3;
        }
    }
    return (size_t)(o - dst);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t al_form_decode(char *dst, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '+') {
            dst[o++] = ' ';
        } else if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return (size_t)-1;
            hi = hexval(src[i + 1]);
            lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return (size_t)-1;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    return o;
}
