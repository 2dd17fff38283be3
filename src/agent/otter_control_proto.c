/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_control_proto.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const methods[] = {NULL,       "status", "subscribe",   "check",
                                      "download", "start",  "postpone",    "cancel",
                                      "decline",  "verify", "install_file"};
#define N_METHODS (sizeof methods / sizeof methods[0])

static const char *const phases[] = {"idle",       "available", "downloading", "ready",
                                     "installing", "reboot",    "failed"};

const char *otter_control_method_name(int method)
{
    return method > 0 && (size_t)method < N_METHODS ? methods[method] : "?";
}

const char *otter_control_phase_name(int phase)
{
    return phase >= 0 && phase <= OTTER_CONTROL_FAILED ? phases[phase] : "?";
}

/* The longest postponement a request may ask for; [control] postpone_max narrows it. */
#define MAX_POSTPONE (30L * 24 * 3600)

/* The error's code for the answer, and its message (what and where). */
#define BAD(c, ...) (*code = (c), otter_err_set(err, OTTER_EFORMAT, __VA_ARGS__))

/* id: an integer or a short string, kept as JSON text for the answer. */
static int read_id(json_t *id, otter_control_req *req, const char **code, otter_err *err)
{
    if (json_is_integer(id)) {
        snprintf(req->id, sizeof req->id, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        return 0;
    }
    if (!json_is_string(id))
        return BAD("bad_request", "request: field \"id\": %s",
                   id ? "expected an integer or a string" : "missing");
    const char *s = json_string_value(id);
    size_t n = json_string_length(id);
    if (n == 0 || n > OTTER_CONTROL_MAX_ID)
        return BAD("bad_request", "request: field \"id\": %s", "expected 1..64 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\' || s[i] & 0x80)
            return BAD("bad_request", "request: field \"id\": %s",
                       "only printable ASCII without quotes or backslashes");
    snprintf(req->id, sizeof req->id, "\"%s\"", s);
    return 0;
}

int otter_control_file_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > OTTER_CONTROL_MAX_FILE || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name[i] || /* strchr finds the terminator too */
            !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", name[i]))
            return 0;
    return 1;
}

/* install_file: params.file, a plain name (never a path: the daemon joins it to upload_dir). */
static int read_file_param(json_t *params, otter_control_req *req, const char **code,
                           otter_err *err)
{
    json_t *f = json_object_get(params, "file");
    if (!json_is_string(f))
        return BAD("bad_request", "request: params.file: %s",
                   f ? "expected a string" : "missing (install_file needs it)");
    if (!otter_control_file_name_ok(json_string_value(f), json_string_length(f)))
        return BAD("bad_request", "request: params.file: %s",
                   "expected a plain file name (1..64 of A-Z a-z 0-9 . _ -, not starting with "
                   "'.'), never a path");
    memcpy(req->file, json_string_value(f), json_string_length(f) + 1);
    return 0;
}

static int read_params(json_t *params, otter_control_req *req, const char **code, otter_err *err)
{
    const char *key;
    json_t *v;
    if (params && !json_is_object(params))
        return BAD("bad_request", "request: field \"params\": %s", "expected an object");
    json_object_foreach(params, key, v)
    {
        if (req->method == OTTER_CONTROL_START && strcmp(key, "reboot") == 0) {
            /* otter-agent install --from-server --no-reboot through the daemon */
            if (!json_is_boolean(v))
                return BAD("bad_request", "request: params.reboot: %s", "expected true or false");
            req->no_reboot = json_is_false(v);
            continue;
        }
        int known = (req->method == OTTER_CONTROL_POSTPONE && !strcmp(key, "seconds")) ||
                    (req->method == OTTER_CONTROL_INSTALL_FILE && !strcmp(key, "file"));
        if (!known) {
            *code = "bad_request";
            return otter_err_set(err, OTTER_EFORMAT,
                                 "request: params.%.64s: %s takes no such field", key,
                                 otter_control_method_name(req->method));
        }
    }
    if (req->method == OTTER_CONTROL_INSTALL_FILE)
        return read_file_param(params, req, code, err);
    if (req->method != OTTER_CONTROL_POSTPONE)
        return 0;
    json_t *s = json_object_get(params, "seconds");
    if (!json_is_integer(s) || json_integer_value(s) < 60 || json_integer_value(s) > MAX_POSTPONE)
        return BAD("bad_request", "request: params.seconds: %s",
                   s ? "expected an integer 60..2592000" : "missing (postpone needs it)");
    req->seconds = (long)json_integer_value(s);
    return 0;
}

static int read_method(json_t *m, otter_control_req *req, const char **code, otter_err *err)
{
    if (!json_is_string(m))
        return BAD("bad_request", "request: field \"method\": %s",
                   m ? "expected a string" : "missing");
    for (size_t i = 1; i < N_METHODS; i++)
        if (strcmp(json_string_value(m), methods[i]) == 0) {
            req->method = (int)i;
            return 0;
        }
    *code = "unknown_method";
    return otter_err_set(err, OTTER_EFORMAT,
                         "request: field \"method\": unknown method \"%.64s\" (status, subscribe, "
                         "check, download, start, postpone, cancel, decline, verify, "
                         "install_file)",
                         json_string_value(m));
}

int otter_control_req_parse(const char *buf, size_t len, otter_control_req *req, const char **code,
                            otter_err *err)
{
    memset(req, 0, sizeof *req);
    snprintf(req->id, sizeof req->id, "null");
    if (len > OTTER_CONTROL_MAX_REQ) {
        *code = "too_long";
        return otter_err_set(err, OTTER_EFORMAT, "request: %zu bytes, at most %d in one line", len,
                             OTTER_CONTROL_MAX_REQ);
    }
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson quotes the offending bytes: an answer must stay valid UTF-8 JSON. */
        for (char *t = je.text; *t; t++)
            if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f)
                *t = '?';
        *code = "parse";
        return otter_err_set(err, OTTER_EFORMAT, "request: not JSON at column %d: %s", je.column,
                             je.text);
    }
    int ret = 0;
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        ret = BAD("bad_request", "request: %s", "expected a JSON object");
        goto out;
    }
    if ((ret = read_id(json_object_get(root, "id"), req, code, err)) != 0)
        goto out;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "id") && strcmp(key, "method") && strcmp(key, "params")) {
            ret = BAD("bad_request", "request: unknown field \"%.64s\"", key);
            goto out;
        }
    }
    if ((ret = read_method(json_object_get(root, "method"), req, code, err)) != 0)
        goto out;
    ret = read_params(json_object_get(root, "params"), req, code, err);
out:
    json_decref(root);
    return ret;
}

void otter_control_offer_clear(otter_control_offer *o)
{
    for (size_t i = 0; i < o->n_notes; i++)
        free(o->notes[i]);
    memset(o, 0, sizeof *o);
}

int otter_control_offer_copy(otter_control_offer *dst, const otter_control_offer *src)
{
    otter_control_offer_clear(dst);
    *dst = *src;
    for (size_t i = 0; i < src->n_notes; i++) {
        dst->notes[i] = strdup(src->notes[i]);
        if (!dst->notes[i]) {
            dst->n_notes = i;
            otter_control_offer_clear(dst);
            return otter_err_set(NULL, OTTER_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static json_t *time_or_null(long long t)
{
    if (t <= 0)
        return json_null();
    char s[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

static json_t *offer_json(const otter_control_offer *o)
{
    json_t *notes = json_object();
    for (size_t i = 0; i < o->n_notes; i++)
        json_object_set_new(notes, o->lang[i], json_string(o->notes[i]));
    json_t *j = json_pack("{s:s, s:s, s:I, s:b, s:o, s:b, s:o}", "action", o->action, "version",
                          o->version, "size", (json_int_t)o->size, "security", o->security,
                          "deadline", o->deadline[0] ? json_string(o->deadline) : json_null(),
                          "needs_consent", o->consent, "notes", notes);
    /* The rollout's deferral limits (issue #15): null = no limit from the server. */
    json_object_set_new(j, "deferrals_left",
                        o->urgent              ? json_integer(0)
                        : o->deferrals_limited ? json_integer(o->deferrals_left)
                                               : json_null());
    json_object_set_new(j, "urgent", json_boolean(o->urgent));
    return j;
}

char *otter_control_state_json(const otter_control_state *st)
{
    json_t *blockers = json_array();
    for (size_t i = 0; i < st->n_blockers; i++)
        json_array_append_new(blockers, json_pack("{s:s, s:s}", "what", st->blocker_what[i],
                                                  "message", st->blocker_why[i]));
    int busy = st->phase == OTTER_CONTROL_DOWNLOADING || st->phase == OTTER_CONTROL_INSTALLING;
    json_t *verify = st->verifies
                         ? json_pack("{s:b, s:s, s:s}", "ok", !st->verify_failure[0], "failure",
                                     st->verify_failure, "message", st->verify_message)
                         : json_null();
    json_t *j = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:o, s:I, s:o}", "state",
        otter_control_phase_name(st->phase), "percent",
        busy && st->percent >= 0 ? json_integer(st->percent) : json_null(), "reason",
        st->phase == OTTER_CONTROL_FAILED ? json_string(st->reason) : json_null(), "offer",
        st->have_offer ? offer_json(&st->offer) : json_null(), "postponed_until",
        time_or_null(st->postponed_until), "start_blockers", blockers, "checks",
        (json_int_t)st->checks, "last_check", time_or_null(st->last_check), "check_error",
        st->check_error[0] ? json_string(st->check_error) : json_null(), "verifies",
        (json_int_t)st->verifies, "connection", verify, "refusals", (json_int_t)st->refusals,
        "refusal", st->refusal[0] ? json_string(st->refusal) : json_null());
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static char *line_of(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *l = realloc(s, n + 2);
    if (!l) {
        free(s);
        return NULL;
    }
    l[n] = '\n';
    l[n + 1] = '\0';
    return l;
}

char *otter_control_answer_ok(const char *id, const char *result_json)
{
    json_t *idj = json_loads(id, JSON_DECODE_ANY, NULL);
    json_t *res = json_loads(result_json, JSON_DECODE_ANY, NULL);
    return line_of(json_pack("{s:o, s:b, s:o}", "id", idj ? idj : json_null(), "ok", 1, "result",
                             res ? res : json_null()));
}

char *otter_control_answer_err(const char *id, const char *code, const char *message)
{
    json_t *idj = json_loads(id, JSON_DECODE_ANY, NULL);
    return line_of(json_pack("{s:o, s:b, s:{s:s, s:s}}", "id", idj ? idj : json_null(), "ok", 0,
                             "error", "code", code, "message", message));
}

char *otter_control_event(const char *kind, const char *body_json)
{
    json_t *body = json_loads(body_json, JSON_DECODE_ANY, NULL);
    return line_of(json_pack("{s:s, s:o}", "event", kind, kind, body ? body : json_null()));
}
