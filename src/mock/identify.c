/* identify.c - the mock's Identify API: form decoding, checks, and the
 * operations applied to per-project user properties (jansson objects). */
#include "identify.h"

#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mock_users {
    json_t *projects; /* "<app>" -> {"user:<id>" -> {properties}} */
};

mock_users_t *mock_users_new(void)
{
    mock_users_t *u = calloc(1, sizeof(*u));
    if (u != NULL && (u->projects = json_object()) == NULL) {
        free(u);
        u = NULL;
    }
    return u;
}

void mock_users_free(mock_users_t *u)
{
    if (u == NULL)
        return;
    json_decref(u->projects);
    free(u);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) ('+' a space, %XX a byte). @return malloc'd text or NULL. */
static char *form_value(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int mock_form_fields(const char *body, size_t len, char **api_key, char **identification)
{
    const char *p = body, *end = body + len;
    *api_key = *identification = NULL;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq != NULL) {
            char **dst = NULL;
            if ((size_t)(eq - p) == 7 && memcmp(p, "api_key", 7) == 0)
                dst = api_key;
            else if ((size_t)(eq - p) == 14 && memcmp(p, "identification", 14) == 0)
                dst = identification;
            if (dst != NULL) {
                free(*dst);
                *dst = form_value(eq + 1, (size_t)(stop - eq - 1));
                if (*dst == NULL) {
                    free(*api_key);
                    free(*identification);
                    *api_key = *identification = NULL;
                    return -1;
                }
            }
        }
        p = stop + 1;
    }
    return 0;
}

static const char *const ops[] = {"$set",    "$setOnce", "$unset",     "$clearAll",   "$add",
                                  "$append", "$prepend", "$preInsert", "$postInsert", "$remove"};

static int is_operation(const char *k)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(k, ops[i]) == 0)
            return 1;
    return 0;
}

const char *mock_identification_error(json_t *idn)
{
    json_t *u, *d, *up, *v;
    const char *k;
    int nops = 0, nplain = 0;

    if (!json_is_object(idn))
        return "identification is not an object";
    u = json_object_get(idn, "user_id");
    d = json_object_get(idn, "device_id");
    if (!(json_is_string(u) && json_string_length(u) > 0) &&
        !(json_is_string(d) && json_string_length(d) > 0))
        return "missing user_id and device_id";
    up = json_object_get(idn, "user_properties");
    if (up == NULL)
        return NULL;
    if (!json_is_object(up))
        return "user_properties is not an object";
    json_object_foreach(up, k, v)
    {
        if (k[0] == '$') {
            if (!is_operation(k))
                return "unknown operation";
            if (strcmp(k, "$clearAll") != 0 && !json_is_object(v))
                return "operation value is not an object";
            nops++;
        } else {
            nplain++;
        }
    }
    if (nops > 0 && nplain > 0)
        return "operations mixed with plain properties";
    if (json_is_object(json_object_get(up, "$add"))) {
        json_t *x;
        json_object_foreach(json_object_get(up, "$add"), k,
                            x) if (!json_is_number(x)) return "$add value is not a number";
    }
    return NULL;
}

/* @return the properties object of the identification's user. */
static json_t *user_of(mock_users_t *u, const char *key, json_t *idn)
{
    char app[16], name[1200];
    json_t *proj, *props, *id = json_object_get(idn, "user_id");
    int by_user = json_is_string(id) && json_string_length(id) > 0;

    snprintf(app, sizeof(app), "%u", mock_project_app(key));
    proj = json_object_get(u->projects, app);
    if (proj == NULL) {
        proj = json_object();
        json_object_set_new(u->projects, app, proj);
    }
    if (!by_user)
        id = json_object_get(idn, "device_id");
    snprintf(name, sizeof(name), "%s:%.1024s", by_user ? "user" : "device", json_string_value(id));
    props = json_object_get(proj, name);
    if (props == NULL) {
        props = json_object();
        json_object_set_new(proj, name, props);
    }
    return props;
}

/* The property as a list: [] when absent, [x] when a single value. New ref. */
static json_t *as_list(json_t *props, const char *k)
{
    json_t *cur = json_object_get(props, k), *l;
    if (json_is_array(cur))
        return json_copy(cur);
    l = json_array();
    if (cur != NULL)
        json_array_append(l, cur);
    return l;
}

static int list_has(json_t *l, json_t *x)
{
    size_t i;
    json_t *e;
    json_array_foreach(l, i, e) if (json_equal(e, x)) return 1;
    return 0;
}

/* Values of an operation: each element of an array, or the value itself. */
static void for_values(json_t *v, void (*fn)(json_t *l, json_t *x, int front), json_t *l, int front)
{
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            fn(l, json_array_get(v, front ? n - 1 - i : i), front);
    } else {
        fn(l, v, front);
    }
}

static void put(json_t *l, json_t *x, int front)
{
    if (front)
        json_array_insert(l, 0, x);
    else
        json_array_append(l, x);
}

static void put_new(json_t *l, json_t *x, int front)
{
    if (!list_has(l, x))
        put(l, x, front);
}

static void take_out(json_t *l, json_t *x, int front)
{
    (void)front;
    for (size_t i = json_array_size(l); i-- > 0;)
        if (json_equal(json_array_get(l, i), x))
            json_array_remove(l, i);
}

static void apply_op(json_t *props, const char *op, json_t *arg)
{
    const char *k;
    json_t *v;

    if (strcmp(op, "$clearAll") == 0) {
        json_object_clear(props);
        return;
    }
    json_object_foreach(arg, k, v)
    {
        if (strcmp(op, "$set") == 0) {
            json_object_set(props, k, v);
        } else if (strcmp(op, "$setOnce") == 0) {
            if (json_object_get(props, k) == NULL)
                json_object_set(props, k, v);
        } else if (strcmp(op, "$unset") == 0) {
            json_object_del(props, k);
        } else if (strcmp(op, "$add") == 0) {
            json_t *cur = json_object_get(props, k);
            double sum = (json_is_number(cur) ? json_number_value(cur) : 0) + json_number_value(v);
            if ((json_is_integer(cur) || cur == NULL) && json_is_integer(v))
                json_object_set_new(props, k, json_integer((json_int_t)sum));
            else
                json_object_set_new(props, k, json_real(sum));
        } else {
            json_t *l = as_list(props, k);
            if (strcmp(op, "$append") == 0)
                for_values(v, put, l, 0);
            else if (strcmp(op, "$prepend") == 0)
                for_values(v, put, l, 1);
            else if (strcmp(op, "$postInsert") == 0)
                for_values(v, put_new, l, 0);
            else if (strcmp(op, "$preInsert") == 0)
                for_values(v, put_new, l, 1);
            else if (strcmp(op, "$remove") == 0)
                for_values(v, take_out, l, 0);
            json_object_set_new(props, k, l);
        }
    }
}

void mock_users_apply(mock_users_t *u, const char *key, json_t *idn)
{
    json_t *props = user_of(u, key, idn), *up = json_object_get(idn, "user_properties"), *v;
    const char *k;
    int plain = 1;

    if (up == NULL)
        return;
    json_object_foreach(up, k, v) if (k[0] == '$') plain = 0;
    if (plain) {
        apply_op(props, "$set", up);
        return;
    }
    json_object_foreach(up, k, v) apply_op(props, k, v);
}

json_t *mock_users_dump(const mock_users_t *u)
{
    return json_deep_copy(u->projects);
}
