/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_json.h"

#include <stdio.h>
#include <string.h>

/*
 * Paths in messages: `where` is "file:" for a top-level object or
 * "file: a[0]" below it; a field is then "file: key" or "file: a[0].key".
 */
static const char *field_path(char *buf, size_t size, const char *where, const char *key)
{
    size_t n = strlen(where);
    snprintf(buf, size, "%s%s%s", where, n && where[n - 1] == ':' ? " " : ".", key);
    return buf;
}

static const char *object_path(char *buf, size_t size, const char *where)
{
    size_t n = strlen(where);
    if (n && where[n - 1] == ':')
        n--;
    snprintf(buf, size, "%.*s", (int)n, where);
    return buf;
}

int otter_json_load(const char *buf, size_t len, size_t max, const char *where, json_t **out,
                    otter_err *err)
{
    char p[256];
    if (len > max)
        return otter_err_set(err, OTTER_EFORMAT, "%s: too large (%zu bytes, limit %zu)",
                             object_path(p, sizeof p, where), len, max);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return otter_err_set(err, OTTER_EFORMAT, "%s: line %d column %d: %s",
                             object_path(p, sizeof p, where), jerr.line, jerr.column, jerr.text);
    *out = root;
    return 0;
}

int otter_json_known_keys(const json_t *obj, const char *const *known, const char *where,
                          otter_err *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        (void)value;
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, key) == 0)
                ok = 1;
        if (!ok) {
            char p[256];
            return otter_err_set(err, OTTER_EFORMAT, "%s: unknown key \"%.64s\"",
                                 object_path(p, sizeof p, where), key);
        }
    }
    return 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/*
 * The field key of obj, checked for type: 1 with *v set, 0 when it is absent
 * and optional, or OTTER_EFORMAT naming the field. p receives the field's
 * path for the caller's own messages.
 */
static int lookup(const json_t *obj, const char *key, int optional, json_type type,
                  const char *what, const char *where, char p[256], json_t **v, otter_err *err)
{
    *v = json_object_get(obj, key);
    if (!*v) {
        if (optional)
            return 0;
        return otter_err_set(err, OTTER_EFORMAT, "%s: missing \"%s\"", object_path(p, 256, where),
                             key);
    }
    field_path(p, 256, where, key);
    if (json_typeof(*v) != type)
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected %s, got %s", p, what, type_name(*v));
    return 1;
}

int otter_json_get_string(const json_t *obj, const char *key, int optional, size_t max_len,
                          const char *where, const char **out, otter_err *err)
{
    char p[256];
    json_t *v;
    int ret = lookup(obj, key, optional, JSON_STRING, "a string", where, p, &v, err);
    if (ret <= 0)
        return ret;
    size_t n = json_string_length(v);
    if (n == 0 || n > max_len)
        return otter_err_set(err, OTTER_EFORMAT, "%s: length %zu out of range 1..%zu", p, n,
                             max_len);
    *out = json_string_value(v);
    return 0;
}

int otter_json_get_int(const json_t *obj, const char *key, int optional, int64_t min, int64_t max,
                       const char *where, int64_t *out, otter_err *err)
{
    char p[256];
    json_t *v;
    int ret = lookup(obj, key, optional, JSON_INTEGER, "an integer", where, p, &v, err);
    if (ret <= 0)
        return ret;
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return otter_err_set(err, OTTER_EFORMAT, "%s: %lld out of range %lld..%lld", p,
                             (long long)n, (long long)min, (long long)max);
    *out = n;
    return 0;
}

int otter_json_get_array(const json_t *obj, const char *key, size_t min, size_t max,
                         const char *where, json_t **out, otter_err *err)
{
    char p[256];
    json_t *v;
    int ret = lookup(obj, key, 0, JSON_ARRAY, "an array", where, p, &v, err);
    if (ret <= 0)
        return ret;
    size_t n = json_array_size(v);
    if (n < min || n > max)
        return otter_err_set(err, OTTER_EFORMAT, "%s: %zu entries, allowed %zu..%zu", p, n, min,
                             max);
    *out = v;
    return 0;
}
