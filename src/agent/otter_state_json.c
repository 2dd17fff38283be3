/* SPDX-License-Identifier: Apache-2.0 */
/* The state file's JSON form: strict parsing and serialization (jansson). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_bootchooser.h"
#include "otter_state.h"
#include "otter_state_impl.h"

#define STATE_FORMAT 1

struct ctx {
    const char *name;
    otter_err *err;
};

__attribute__((format(printf, 3, 4))) static int refuse(struct ctx *c, const char *path,
                                                        const char *fmt, ...)
{
    char what[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return otter_err_set(c->err, OTTER_EFORMAT, "%s: %s%s%s", c->name, path, *path ? ": " : "",
                         what);
}

static void join(char *out, size_t size, const char *path, const char *key)
{
    snprintf(out, size, "%s%s%s", path, *path ? "." : "", key);
}

/* o must be an object with exactly the keys in keys (NULL-terminated). */
static int exact_keys(struct ctx *c, json_t *o, const char *path, const char *const *keys)
{
    if (!json_is_object(o))
        return refuse(c, path, "expected an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i])
            return refuse(c, path, "unknown key '%.64s'", k);
    }
    for (size_t i = 0; keys[i]; i++)
        if (!json_object_get(o, keys[i]))
            return refuse(c, path, "missing key '%s'", keys[i]);
    return 0;
}

static int get_str(struct ctx *c, json_t *o, const char *path, const char *key,
                   const char *(*check)(const char *), char **out)
{
    char at[256];
    join(at, sizeof at, path, key);
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return refuse(c, at, "expected a string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return refuse(c, at, "contains a NUL character");
    const char *why = check(s);
    if (why)
        return refuse(c, at, "%s", why);
    if (out && !(*out = strdup(s)))
        return otter_err_set(c->err, OTTER_ENOMEM, "%s: out of memory", c->name);
    return 0;
}

static int get_sha(struct ctx *c, json_t *o, const char *path, const char *key, char out[65])
{
    int ret = get_str(c, o, path, key, otter_state_check_sha256, NULL);
    if (ret == 0)
        memcpy(out, json_string_value(json_object_get(o, key)), 65);
    return ret;
}

static int get_uint(struct ctx *c, json_t *o, const char *path, const char *key, uint64_t *out)
{
    char at[256];
    join(at, sizeof at, path, key);
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return refuse(c, at, "expected a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_time(struct ctx *c, json_t *o, const char *path, int64_t *out)
{
    uint64_t t;
    int ret = get_uint(c, o, path, "time", &t);
    if (ret == 0)
        *out = (int64_t)t;
    return ret;
}

static int get_slot_name(struct ctx *c, json_t *o, const char *path, const char *key, int *out)
{
    char at[256];
    join(at, sizeof at, path, key);
    json_t *v = json_object_get(o, key);
    int slot = json_is_string(v) ? otter_bootchooser_index(json_string_value(v)) : OTTER_SLOT_NONE;
    if (slot == OTTER_SLOT_NONE || json_string_value(v)[0] > 'Z')
        return refuse(c, at, "expected \"A\" or \"B\"");
    *out = slot;
    return 0;
}

static int parse_images(struct ctx *c, json_t *arr, const char *path, otter_state_slot *slot)
{
    static const char *const keys[] = {"name", "target", "sha256", "size", NULL};
    if (!json_is_array(arr))
        return refuse(c, path, "expected an array");
    if (json_array_size(arr) > OTTER_STATE_MAX_IMAGES)
        return refuse(c, path, "more than %d images", OTTER_STATE_MAX_IMAGES);
    size_t i;
    json_t *im;
    json_array_foreach(arr, i, im)
    {
        char at[256];
        snprintf(at, sizeof at, "%s[%zu]", path, i);
        otter_state_image *dst = &slot->images[i];
        int ret = exact_keys(c, im, at, keys);
        if (ret)
            return ret;
        slot->n_images++; /* from here on the image is owned by the slot */
        if ((ret = get_str(c, im, at, "name", otter_state_check_id, &dst->name)) ||
            (ret = get_str(c, im, at, "target", otter_state_check_id, &dst->target)) ||
            (ret = get_sha(c, im, at, "sha256", dst->sha256)) ||
            (ret = get_uint(c, im, at, "size", &dst->size)))
            return ret;
    }
    return 0;
}

static int parse_slot(struct ctx *c, json_t *o, const char *path, otter_state_slot *slot)
{
    static const char *const keys[] = {"version", "security_version", "manifest_sha256", "images",
                                       NULL};
    if (json_is_null(o))
        return 0;
    int ret = exact_keys(c, o, path, keys);
    if (ret)
        return ret;
    slot->present = 1;
    char at[256];
    join(at, sizeof at, path, "images");
    if ((ret = get_str(c, o, path, "version", otter_state_check_id, &slot->version)) ||
        (ret = get_uint(c, o, path, "security_version", &slot->security_version)) ||
        (ret = get_sha(c, o, path, "manifest_sha256", slot->manifest_sha256)))
        return ret;
    return parse_images(c, json_object_get(o, "images"), at, slot);
}

/*
 * "switched" is the one optional key: written (false) only between the
 * record and the boot switch, so the record an install leaves behind reads
 * as before for an older agent's strict parser (a downgrade boots one), and
 * a record without it (an older agent's) means switched.
 */
static int parse_pending(struct ctx *c, json_t *o, otter_state_pending *p)
{
    static const char *const keys[] = {"slot", "version", "security_version", "manifest_sha256",
                                       "time", NULL};
    static const char *const keys_sw[] = {
        "slot", "version", "security_version", "manifest_sha256", "time", "switched", NULL};
    if (json_is_null(o))
        return 0;
    json_t *sw = json_is_object(o) ? json_object_get(o, "switched") : NULL;
    int ret = exact_keys(c, o, "pending", sw ? keys_sw : keys);
    if (ret)
        return ret;
    if (sw && !json_is_boolean(sw))
        return refuse(c, "pending.switched", "expected true or false");
    p->present = 1;
    p->switched = !sw || json_is_true(sw);
    if ((ret = get_slot_name(c, o, "pending", "slot", &p->slot)) ||
        (ret = get_str(c, o, "pending", "version", otter_state_check_id, &p->version)) ||
        (ret = get_uint(c, o, "pending", "security_version", &p->security_version)) ||
        (ret = get_sha(c, o, "pending", "manifest_sha256", p->manifest_sha256)))
        return ret;
    return get_time(c, o, "pending", &p->time);
}

static const char *check_result(const char *s)
{
    return strcmp(s, "success") == 0 || strcmp(s, "failure") == 0
               ? NULL
               : "expected \"success\" or \"failure\"";
}

static int parse_result(struct ctx *c, json_t *o, otter_state_result *r)
{
    static const char *const keys[] = {"status", "version", "reason", "time", NULL};
    if (json_is_null(o))
        return 0;
    int ret = exact_keys(c, o, "last_result", keys);
    if (ret || (ret = get_str(c, o, "last_result", "status", check_result, NULL)))
        return ret;
    r->status = strcmp(json_string_value(json_object_get(o, "status")), "success") == 0
                    ? OTTER_RESULT_SUCCESS
                    : OTTER_RESULT_FAILURE;
    if ((ret = get_str(c, o, "last_result", "version", otter_state_check_id, &r->version)) ||
        (ret = get_str(c, o, "last_result", "reason", otter_state_check_text, &r->reason)))
        return ret;
    return get_time(c, o, "last_result", &r->time);
}

static int parse_feedback(struct ctx *c, json_t *arr, otter_state *s)
{
    static const char *const keys[] = {"action_id", "status", "detail", "time", NULL};
    if (!json_is_array(arr))
        return refuse(c, "feedback", "expected an array");
    if (json_array_size(arr) > OTTER_STATE_MAX_FEEDBACK)
        return refuse(c, "feedback", "more than %d entries", OTTER_STATE_MAX_FEEDBACK);
    size_t i;
    json_t *f;
    json_array_foreach(arr, i, f)
    {
        char at[64];
        snprintf(at, sizeof at, "feedback[%zu]", i);
        otter_state_feedback *dst = &s->feedback[i];
        int ret = exact_keys(c, f, at, keys);
        if (ret)
            return ret;
        s->n_feedback++;
        if ((ret = get_str(c, f, at, "action_id", otter_state_check_id, &dst->action_id)) ||
            (ret = get_str(c, f, at, "status", otter_state_check_status, &dst->status)) ||
            (ret = get_str(c, f, at, "detail", otter_state_check_text, &dst->detail)) ||
            (ret = get_time(c, f, at, &dst->time)))
            return ret;
    }
    return 0;
}

static int parse_root(struct ctx *c, json_t *root, otter_state *s)
{
    static const char *const keys[] = {"format",      "booted",   "slots", "pending",
                                       "last_result", "feedback", NULL};
    static const char *const slot_keys[] = {"A", "B", NULL};
    int ret = exact_keys(c, root, "", keys);
    if (ret)
        return ret;
    json_t *format = json_object_get(root, "format");
    if (!json_is_integer(format) || json_integer_value(format) != STATE_FORMAT)
        return refuse(c, "format", "expected 1");
    json_t *slots = json_object_get(root, "slots");
    if ((ret = get_slot_name(c, root, "", "booted", &s->booted)) ||
        (ret = exact_keys(c, slots, "slots", slot_keys)) ||
        (ret = parse_slot(c, json_object_get(slots, "A"), "slots.A", &s->slots[0])) ||
        (ret = parse_slot(c, json_object_get(slots, "B"), "slots.B", &s->slots[1])) ||
        (ret = parse_pending(c, json_object_get(root, "pending"), &s->pending)) ||
        (ret = parse_result(c, json_object_get(root, "last_result"), &s->last)))
        return ret;
    return parse_feedback(c, json_object_get(root, "feedback"), s);
}

int otter_state_parse_mem(const char *buf, size_t len, const char *name, otter_state **out,
                          otter_err *err)
{
    struct ctx c = {name, err};
    *out = NULL;
    if (len > OTTER_STATE_MAX_BYTES)
        return otter_err_set(err, OTTER_EFORMAT, "%s: too large (%zu bytes, limit %d)", name, len,
                             OTTER_STATE_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return otter_err_set(err, OTTER_EFORMAT, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                             jerr.text);
    otter_state *s = calloc(1, sizeof *s);
    int ret =
        s ? parse_root(&c, root, s) : otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", name);
    json_decref(root);
    if (ret) {
        otter_state_free(s);
        return ret;
    }
    *out = s;
    return 0;
}

/* Serialization. Every json_* constructor may fail; set_new() tracks it once. */
struct build {
    int failed;
};

static void set_new(struct build *b, json_t *o, const char *key, json_t *v)
{
    if (!o || !v) {
        json_decref(v);
        b->failed = 1;
    } else if (json_object_set_new(o, key, v) != 0) {
        b->failed = 1;
    }
}

static void append_new(struct build *b, json_t *arr, json_t *v)
{
    if (!arr || !v) {
        json_decref(v);
        b->failed = 1;
    } else if (json_array_append_new(arr, v) != 0) {
        b->failed = 1;
    }
}

static json_t *slot_json(struct build *b, const otter_state_slot *slot)
{
    if (!slot->present)
        return json_null();
    json_t *o = json_object(), *images = json_array();
    set_new(b, o, "version", json_string(slot->version));
    set_new(b, o, "security_version", json_integer((json_int_t)slot->security_version));
    set_new(b, o, "manifest_sha256", json_string(slot->manifest_sha256));
    for (size_t i = 0; i < slot->n_images; i++) {
        const otter_state_image *im = &slot->images[i];
        json_t *j = json_object();
        set_new(b, j, "name", json_string(im->name));
        set_new(b, j, "target", json_string(im->target));
        set_new(b, j, "sha256", json_string(im->sha256));
        set_new(b, j, "size", json_integer((json_int_t)im->size));
        append_new(b, images, j);
    }
    set_new(b, o, "images", images);
    return o;
}

static json_t *pending_json(struct build *b, const otter_state_pending *p)
{
    if (!p->present)
        return json_null();
    char slot[2] = {otter_bootchooser_letter(p->slot), 0};
    json_t *o = json_object();
    set_new(b, o, "slot", json_string(slot));
    set_new(b, o, "version", json_string(p->version));
    set_new(b, o, "security_version", json_integer((json_int_t)p->security_version));
    set_new(b, o, "manifest_sha256", json_string(p->manifest_sha256));
    set_new(b, o, "time", json_integer(p->time));
    if (!p->switched)
        set_new(b, o, "switched", json_false());
    return o;
}

static json_t *result_json(struct build *b, const otter_state_result *r)
{
    if (r->status == OTTER_RESULT_NONE)
        return json_null();
    json_t *o = json_object();
    set_new(b, o, "status", json_string(r->status == OTTER_RESULT_SUCCESS ? "success" : "failure"));
    set_new(b, o, "version", json_string(r->version));
    set_new(b, o, "reason", json_string(r->reason));
    set_new(b, o, "time", json_integer(r->time));
    return o;
}

int otter_state_to_json(const otter_state *s, char **out, size_t *len, otter_err *err)
{
    struct build b = {0};
    char booted[2] = {otter_bootchooser_letter(s->booted), 0};
    json_t *root = json_object(), *slots = json_object(), *fb = json_array();
    set_new(&b, root, "format", json_integer(STATE_FORMAT));
    set_new(&b, root, "booted", json_string(booted));
    set_new(&b, slots, "A", slot_json(&b, &s->slots[0]));
    set_new(&b, slots, "B", slot_json(&b, &s->slots[1]));
    set_new(&b, root, "slots", slots);
    set_new(&b, root, "pending", pending_json(&b, &s->pending));
    set_new(&b, root, "last_result", result_json(&b, &s->last));
    for (size_t i = 0; i < s->n_feedback; i++) {
        const otter_state_feedback *f = &s->feedback[i];
        json_t *j = json_object();
        set_new(&b, j, "action_id", json_string(f->action_id));
        set_new(&b, j, "status", json_string(f->status));
        set_new(&b, j, "detail", json_string(f->detail));
        set_new(&b, j, "time", json_integer(f->time));
        append_new(&b, fb, j);
    }
    set_new(&b, root, "feedback", fb);
    char *text = b.failed ? NULL : json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "state: out of memory while serializing");
    size_t n = strlen(text);
    /* A text file ends in a newline; json_dumps leaves it out. */
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return otter_err_set(err, OTTER_ENOMEM, "state: out of memory while serializing");
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *out = withnl;
    *len = n + 1;
    return 0;
}
