/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_reqjson.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_auth.h"
#include "otter_store.h"

enum ftype {
    F_NAME,   /* otter_reqjson_name_ok */
    F_SECRET, /* password: 1..OTTER_AUTH_PASSWORD_MAX bytes; policy checked by the handler */
    F_ROLE,   /* a role name; checked against the list by the handler */
    F_LABEL,  /* free text, 1..OTTER_STORE_LABEL_MAX bytes, no control characters */
    F_INT,    /* integer >= 0 */
    F_BOOL,
    F_NAMELIST, /* array of 1..OTTER_REQJSON_LIST_MAX names, stored joined by '\n' */
    F_WORD,     /* a keyword, 1..24 of a-z _; the handler checks the allowed ones */
    F_COMMENT,  /* free text, 0..OTTER_STORE_COMMENT_MAX bytes, no control characters but \n */
};

struct field {
    const char *key;
    enum ftype type;
    int required;
};

struct spec {
    const char *name;
    struct field f[OTTER_REQJSON_FIELDS_MAX];
};

/* Every request body the management API accepts, indexed by otter_req_kind. */
static const struct spec specs[OTTER_REQ_KIND_COUNT] = {
    [OTTER_REQ_NONE] = {"empty", {{0}}},
    [OTTER_REQ_LOGIN] = {"login", {{"username", F_NAME, 1}, {"password", F_SECRET, 1}}},
    [OTTER_REQ_TENANT_CREATE] = {"tenant", {{"name", F_NAME, 1}}},
    [OTTER_REQ_USER_CREATE] =
        {"user", {{"username", F_NAME, 1}, {"password", F_SECRET, 1}, {"is_admin", F_BOOL, 0}}},
    [OTTER_REQ_MEMBER_CREATE] =
        {"member", {{"username", F_NAME, 1}, {"password", F_SECRET, 1}, {"role", F_ROLE, 1}}},
    [OTTER_REQ_ROLE_SET] = {"role", {{"role", F_ROLE, 1}}},
    [OTTER_REQ_PASSWORD_SET] = {"password", {{"password", F_SECRET, 1}}},
    [OTTER_REQ_PASSWORD_CHANGE] = {"password change",
                                   {{"old_password", F_SECRET, 1}, {"new_password", F_SECRET, 1}}},
    [OTTER_REQ_TOKEN_CREATE] =
        {"token", {{"name", F_LABEL, 1}, {"password", F_SECRET, 1}, {"expires_in", F_INT, 0}}},
    [OTTER_REQ_DEVICE_CREATE] = {"device",
                                 {{"controller_id", F_NAME, 1},
                                  {"model", F_NAME, 1},
                                  {"group", F_NAME, 0},
                                  {"name", F_LABEL, 0}}},
    [OTTER_REQ_GROUP_CREATE] = {"group", {{"name", F_NAME, 1}}},
    [OTTER_REQ_DEPLOY] = {"deployment",
                          {{"release", F_INT, 1},
                           {"devices", F_NAMELIST, 0},
                           {"group", F_NAME, 0},
                           {"download", F_WORD, 0},
                           {"update", F_WORD, 0},
                           {"maintenance_window", F_WORD, 0},
                           {"consent", F_WORD, 0}}},
    [OTTER_REQ_DECISION] = {"decision", {{"comment", F_COMMENT, 0}}},
    [OTTER_REQ_MAINTENANCE] = {"maintenance window", {{"maintenance_window", F_WORD, 1}}},
    [OTTER_REQ_RESUME] = {"resume", {{"retry_failed", F_BOOL, 0}}},
    [OTTER_REQ_CSV] = {"csv", {{0}}},
    [OTTER_REQ_UPLOAD] = {"upload", {{0}}},
    [OTTER_REQ_ROLLOUT] = {"rollout", {{0}}},
    [OTTER_REQ_JSON] = {"json", {{0}}},
};

int otter_reqjson_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > OTTER_STORE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("._@-", c)))
            return 0;
    }
    return 1;
}

size_t otter_reqjson_depth(const char *buf, size_t len, unsigned max_depth)
{
    size_t depth = 0, worst = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > worst)
                worst = depth;
            if (worst > max_depth)
                return worst;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return worst;
}

static int fail(otter_reqjson *out, otter_err *err, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(otter_reqjson *out, otter_err *err, const char *where, const char *fmt, ...)
{
    char msg[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(out->where, sizeof out->where, "%s", where);
    return otter_err_set(err, OTTER_EFORMAT, "%s", msg);
}

static int check_string(const struct field *f, const char *s, size_t n, otter_reqjson *out,
                        char *where, otter_err *err)
{
    if (strlen(s) != n)
        return fail(out, err, where, "'%s' contains a NUL character", f->key);
    switch (f->type) {
    case F_NAME:
        if (!otter_reqjson_name_ok(s))
            return fail(out, err, where,
                        "'%s' must be 1..64 characters of A-Z a-z 0-9 . _ @ - "
                        "starting with a letter or digit",
                        f->key);
        break;
    case F_SECRET:
        if (n < 1 || n > OTTER_AUTH_PASSWORD_MAX)
            return fail(out, err, where, "'%s' must be 1..1024 bytes", f->key);
        break;
    case F_ROLE:
        if (n < 1 || n > 16)
            return fail(out, err, where, "'%s' is not a role", f->key);
        break;
    case F_WORD:
        if (n < 1 || n > 24 || strspn(s, "abcdefghijklmnopqrstuvwxyz_") != n)
            return fail(out, err, where, "'%s' is not one of the allowed words", f->key);
        break;
    case F_COMMENT:
        if (n > OTTER_STORE_COMMENT_MAX)
            return fail(out, err, where, "'%s' must be at most %d bytes", f->key,
                        OTTER_STORE_COMMENT_MAX);
        for (size_t i = 0; i < n; i++)
            if (((unsigned char)s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f)
                return fail(out, err, where, "'%s' contains a control character", f->key);
        break;
    case F_LABEL:
        if (n < 1 || n > OTTER_STORE_LABEL_MAX)
            return fail(out, err, where, "'%s' must be 1..128 bytes", f->key);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return fail(out, err, where, "'%s' contains a control character", f->key);
        break;
    default:
        break;
    }
    return 0;
}

static int take_value(const struct field *f, json_t *v, size_t slot, otter_reqjson *out,
                      otter_err *err)
{
    char where[OTTER_REQJSON_WHERE_MAX];
    snprintf(where, sizeof where, "body.%s", f->key);
    if (f->type == F_BOOL) {
        if (!json_is_boolean(v))
            return fail(out, err, where, "'%s' must be true or false", f->key);
        out->v[slot].boolean = json_is_true(v);
    } else if (f->type == F_INT) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return fail(out, err, where, "'%s' must be a non-negative integer", f->key);
        out->v[slot].num = json_integer_value(v);
    } else if (f->type == F_NAMELIST) {
        size_t n = json_array_size(v), total = 0;
        if (!json_is_array(v) || n < 1 || n > OTTER_REQJSON_LIST_MAX)
            return fail(out, err, where, "'%s' must be an array of 1..%d names", f->key,
                        OTTER_REQJSON_LIST_MAX);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (!json_is_string(e) || !otter_reqjson_name_ok(json_string_value(e)) ||
                strlen(json_string_value(e)) != json_string_length(e))
                return fail(out, err, where, "'%s'[%zu] is not a valid name", f->key, i);
            total += json_string_length(e) + 1;
        }
        char *joined = malloc(total);
        if (!joined)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        char *p = joined;
        for (size_t i = 0; i < n; i++) {
            size_t len = json_string_length(json_array_get(v, i));
            memcpy(p, json_string_value(json_array_get(v, i)), len);
            p += len;
            *p++ = i + 1 < n ? '\n' : '\0';
        }
        out->v[slot].str = joined;
    } else {
        if (!json_is_string(v))
            return fail(out, err, where, "'%s' must be a string", f->key);
        const char *s = json_string_value(v);
        int ret = check_string(f, s, json_string_length(v), out, where, err);
        if (ret < 0)
            return ret;
        out->v[slot].str = strdup(s);
        if (!out->v[slot].str)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    out->v[slot].present = 1;
    return 0;
}

int otter_reqjson_parse(otter_req_kind kind, const char *buf, size_t len, unsigned max_depth,
                        otter_reqjson *out, otter_err *err)
{
    int ret = OTTER_EFORMAT;
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (kind <= OTTER_REQ_NONE || kind >= OTTER_REQ_CSV) {
        /* A body-less route still accepts an empty body or an empty object. */
        if (kind == OTTER_REQ_NONE && (len == 0 || (len == 2 && buf[0] == '{' && buf[1] == '}')))
            return 0;
        return fail(out, err, "body", "this request takes no body");
    }
    const struct spec *sp = &specs[kind];
    if (len == 0 && kind == OTTER_REQ_RESUME)
        return 0; /* resume's options are all optional; a bare POST keeps working */
    if (len == 0)
        return fail(out, err, "body", "a JSON object (%s) is required", sp->name);
    if (otter_reqjson_depth(buf, len, max_depth) > max_depth)
        return fail(out, err, "body", "JSON nested deeper than allowed");
    json_error_t jerr;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(out->where, sizeof out->where, "body line %d column %d", jerr.line, jerr.column);
        ret = otter_err_set(err, OTTER_EFORMAT, "malformed JSON: %s", jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        ret = fail(out, err, "body", "expected a JSON object (%s)", sp->name);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t slot = 0;
        while (slot < OTTER_REQJSON_FIELDS_MAX && sp->f[slot].key &&
               strcmp(sp->f[slot].key, key) != 0)
            slot++;
        if (slot == OTTER_REQJSON_FIELDS_MAX || !sp->f[slot].key) {
            /* Echo only a safe prefix of a hostile key. */
            char shown[40];
            snprintf(shown, sizeof shown, "%s", key);
            for (char *c = shown; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                    *c = '?';
            ret = fail(out, err, "body", "unknown key '%s'", shown);
            goto out;
        }
        if ((ret = take_value(&sp->f[slot], v, slot, out, err)) < 0)
            goto out;
    }
    for (size_t i = 0; i < OTTER_REQJSON_FIELDS_MAX && sp->f[i].key; i++) {
        if (sp->f[i].required && !out->v[i].present) {
            char where[OTTER_REQJSON_WHERE_MAX];
            snprintf(where, sizeof where, "body.%s", sp->f[i].key);
            ret = fail(out, err, where, "'%s' is required", sp->f[i].key);
            goto out;
        }
    }
    ret = 0;
out:
    json_decref(root);
    if (ret < 0) {
        char where[OTTER_REQJSON_WHERE_MAX];
        memcpy(where, out->where, sizeof where);
        otter_reqjson_clear(out);
        memcpy(out->where, where, sizeof where);
    }
    return ret;
}

void otter_reqjson_clear(otter_reqjson *r)
{
    for (size_t i = 0; i < OTTER_REQJSON_FIELDS_MAX; i++) {
        if (r->v[i].str) {
            /* Passwords pass through here: do not leave them in freed memory. */
            memset(r->v[i].str, 0, strlen(r->v[i].str));
            free(r->v[i].str);
        }
    }
    memset(r, 0, sizeof *r);
}

static int slot_of(const otter_reqjson *r, const char *key)
{
    if (r->kind <= OTTER_REQ_NONE || r->kind >= OTTER_REQ_KIND_COUNT)
        return -1;
    for (int i = 0; i < OTTER_REQJSON_FIELDS_MAX && specs[r->kind].f[i].key; i++)
        if (strcmp(specs[r->kind].f[i].key, key) == 0)
            return r->v[i].present ? i : -1;
    return -1;
}

const char *otter_reqjson_str(const otter_reqjson *r, const char *key)
{
    int i = slot_of(r, key);
    return i < 0 ? NULL : r->v[i].str;
}

int otter_reqjson_has(const otter_reqjson *r, const char *key)
{
    return slot_of(r, key) >= 0;
}

int64_t otter_reqjson_int(const otter_reqjson *r, const char *key)
{
    int i = slot_of(r, key);
    return i < 0 ? 0 : r->v[i].num;
}

int otter_reqjson_bool(const otter_reqjson *r, const char *key)
{
    int i = slot_of(r, key);
    return i < 0 ? 0 : r->v[i].boolean;
}
