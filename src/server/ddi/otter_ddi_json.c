/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "otter_fleet.h"
#include "otter_reqjson.h"

static int one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

/* Parses the text as one JSON object with bounded depth and no duplicate keys. */
static int load_object(const char *buf, size_t len, json_t **root, otter_err *err)
{
    json_error_t jerr;
    *root = NULL;
    if (len == 0)
        return otter_err_set(err, OTTER_EFORMAT, "a JSON object is required");
    if (otter_reqjson_depth(buf, len, OTTER_DDI_JSON_DEPTH) > OTTER_DDI_JSON_DEPTH)
        return otter_err_set(err, OTTER_EFORMAT, "JSON nested deeper than allowed");
    *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return otter_err_set(err, OTTER_EFORMAT, "malformed JSON at line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return otter_err_set(err, OTTER_EFORMAT, "expected a JSON object");
    }
    return 0;
}

/* Refuses keys of obj not in allowed; where names obj in messages. */
static int only_keys(json_t *obj, const char *const *allowed, const char *where, otter_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!one_of(key, allowed)) {
            char shown[40];
            snprintf(shown, sizeof shown, "%s", key);
            for (char *c = shown; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                    *c = '?';
            return otter_err_set(err, OTTER_EFORMAT, "%s: unknown key '%s'", where, shown);
        }
    }
    return 0;
}

/* A string without NUL of at most max bytes. */
static int plain_string(json_t *v, size_t max)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
           json_string_length(v) <= max;
}

/* The body's "id": a decimal string (as hawkBit sends it) or a number. */
static int parse_id(json_t *v, int64_t *id)
{
    if (json_is_integer(v)) {
        *id = json_integer_value(v);
        return *id >= 0 ? 0 : -1;
    }
    if (!plain_string(v, 19))
        return -1;
    const char *s = json_string_value(v);
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    *id = strtoll(s, NULL, 10);
    return 0;
}

static int parse_progress(json_t *p, otter_ddi_feedback *out, otter_err *err)
{
    static const char *const keys[] = {"cnt", "of", NULL};
    if (!json_is_object(p))
        return otter_err_set(err, OTTER_EFORMAT, "status.result.progress must be an object");
    if (only_keys(p, keys, "status.result.progress", err) < 0)
        return OTTER_EFORMAT;
    json_t *cnt = json_object_get(p, "cnt"), *of = json_object_get(p, "of");
    if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
        (of && (!json_is_integer(of) || json_integer_value(of) < 0)))
        return otter_err_set(err, OTTER_EFORMAT,
                             "status.result.progress: cnt and of are non-negative integers");
    out->progress_cnt = json_integer_value(cnt);
    out->progress_of = of ? json_integer_value(of) : -1;
    return 0;
}

/* A details array (bounded lines of bounded strings) as compact JSON text in *out. */
static int parse_details(json_t *details, const char *where, char **out, otter_err *err)
{
    size_t i;
    json_t *line;
    if (!json_is_array(details) || json_array_size(details) > OTTER_DDI_DETAILS_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%s must be an array of at most %d strings", where,
                             OTTER_DDI_DETAILS_MAX);
    json_array_foreach(details, i, line)
    {
        if (!plain_string(line, OTTER_DDI_DETAIL_BYTES))
            return otter_err_set(err, OTTER_EFORMAT, "%s[%zu] must be a string of at most %d bytes",
                                 where, i, OTTER_DDI_DETAIL_BYTES);
    }
    *out = json_dumps(details, JSON_COMPACT);
    return *out ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
}

static int parse_status(json_t *st, otter_ddi_feedback *out, otter_err *err)
{
    static const char *const keys[] = {"execution", "result", "details", "code", NULL};
    static const char *const rkeys[] = {"finished", "progress", NULL};
    if (!json_is_object(st))
        return otter_err_set(err, OTTER_EFORMAT, "status must be an object");
    if (only_keys(st, keys, "status", err) < 0)
        return OTTER_EFORMAT;
    json_t *ex = json_object_get(st, "execution");
    if (!plain_string(ex, 15) || !otter_action_execution_known(json_string_value(ex)))
        return otter_err_set(err, OTTER_EFORMAT,
                             "status.execution must be closed, proceeding, canceled, scheduled, "
                             "rejected, resumed, downloaded or download");
    snprintf(out->execution, sizeof out->execution, "%s", json_string_value(ex));
    json_t *code = json_object_get(st, "code");
    if (code && !json_is_integer(code))
        return otter_err_set(err, OTTER_EFORMAT, "status.code must be an integer");
    json_t *res = json_object_get(st, "result");
    if (!json_is_object(res))
        return otter_err_set(err, OTTER_EFORMAT, "status.result must be an object");
    if (only_keys(res, rkeys, "status.result", err) < 0)
        return OTTER_EFORMAT;
    json_t *fin = json_object_get(res, "finished");
    if (!plain_string(fin, 15) || !otter_action_finished_known(json_string_value(fin)))
        return otter_err_set(err, OTTER_EFORMAT,
                             "status.result.finished must be success, failure or none");
    snprintf(out->finished, sizeof out->finished, "%s", json_string_value(fin));
    json_t *prog = json_object_get(res, "progress");
    if (prog && parse_progress(prog, out, err) < 0)
        return OTTER_EFORMAT;
    json_t *details = json_object_get(st, "details");
    return details ? parse_details(details, "status.details", &out->details, err) : 0;
}

int otter_ddi_feedback_parse(const char *buf, size_t len, otter_ddi_feedback *out, otter_err *err)
{
    static const char *const keys[] = {"id", "time", "timestamp", "status", NULL};
    json_t *root = NULL;
    int ret;
    memset(out, 0, sizeof *out);
    out->progress_cnt = out->progress_of = -1;
    if ((ret = load_object(buf, len, &root, err)) < 0)
        goto out;
    if ((ret = only_keys(root, keys, "feedback", err)) < 0)
        goto out;
    json_t *id = json_object_get(root, "id");
    if (id) {
        if (parse_id(id, &out->id) < 0) {
            ret = otter_err_set(err, OTTER_EFORMAT, "id must be the action id");
            goto out;
        }
        out->has_id = 1;
    }
    json_t *t = json_object_get(root, "time"), *ts = json_object_get(root, "timestamp");
    if ((t && !plain_string(t, 64)) || (ts && !json_is_integer(ts))) {
        ret = otter_err_set(err, OTTER_EFORMAT, "time is a string, timestamp an integer");
        goto out;
    }
    json_t *st = json_object_get(root, "status");
    if (!st) {
        ret = otter_err_set(err, OTTER_EFORMAT, "status is required");
        goto out;
    }
    if ((ret = parse_status(st, out, err)) < 0)
        goto out;
    if (!out->details && !(out->details = strdup("[]")))
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
out:
    json_decref(root);
    if (ret < 0)
        otter_ddi_feedback_clear(out);
    return ret;
}

void otter_ddi_feedback_clear(otter_ddi_feedback *f)
{
    free(f->details);
    memset(f, 0, sizeof *f);
}

/* Checks the "data" object of configData: string values, bounded keys and values. */
static int check_data(json_t *data, otter_err *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(data))
        return otter_err_set(err, OTTER_EFORMAT, "data must be an object of strings");
    if (json_object_size(data) > OTTER_DDI_CONFIG_KEYS_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "data has more than %d keys",
                             OTTER_DDI_CONFIG_KEYS_MAX);
    json_object_foreach(data, key, v)
    {
        size_t n = strlen(key);
        if (n == 0 || n > OTTER_DDI_CONFIG_KEY_BYTES)
            return otter_err_set(err, OTTER_EFORMAT, "data keys are 1..%d bytes",
                                 OTTER_DDI_CONFIG_KEY_BYTES);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
                return otter_err_set(err, OTTER_EFORMAT, "data keys have no control characters");
        if (!plain_string(v, OTTER_DDI_CONFIG_VALUE_BYTES))
            return otter_err_set(err, OTTER_EFORMAT, "data values are strings of at most %d bytes",
                                 OTTER_DDI_CONFIG_VALUE_BYTES);
    }
    return 0;
}

int otter_ddi_config_apply(const char *buf, size_t len, const char *current, char **out,
                           otter_err *err)
{
    static const char *const keys[] = {"mode", "data", "id", "time", "status", NULL};
    json_t *root = NULL, *attrs = NULL;
    int ret;
    *out = NULL;
    if ((ret = load_object(buf, len, &root, err)) < 0 ||
        (ret = only_keys(root, keys, "configData", err)) < 0)
        goto out;
    json_t *mode = json_object_get(root, "mode"), *data = json_object_get(root, "data");
    const char *m = mode && plain_string(mode, 16) ? json_string_value(mode) : "merge";
    if (mode && !plain_string(mode, 16)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "mode is merge, replace or remove");
        goto out;
    }
    if (!data) {
        ret = otter_err_set(err, OTTER_EFORMAT, "data is required");
        goto out;
    }
    if ((ret = check_data(data, err)) < 0)
        goto out;
    attrs = json_loads(current ? current : "{}", 0, NULL);
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        attrs = json_object(); /* stored attributes unreadable: start over */
    }
    const char *key;
    json_t *v;
    if (strcmp(m, "replace") == 0) {
        json_object_clear(attrs);
        json_object_update(attrs, data);
    } else if (strcmp(m, "merge") == 0) {
        json_object_update(attrs, data);
    } else if (strcmp(m, "remove") == 0) {
        json_object_foreach(data, key, v) json_object_del(attrs, key);
    } else {
        ret = otter_err_set(err, OTTER_EFORMAT, "mode is merge, replace or remove");
        goto out;
    }
    if (json_object_size(attrs) > OTTER_DDI_CONFIG_KEYS_MAX) {
        ret =
            otter_err_set(err, OTTER_EFORMAT, "more than %d attributes", OTTER_DDI_CONFIG_KEYS_MAX);
        goto out;
    }
    *out = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    ret = *out ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
out:
    json_decref(root);
    json_decref(attrs);
    return ret;
}

/* ---- consent (issue #17): confirmation feedback and auto-confirm ---- */

int otter_ddi_confirmation_parse(const char *buf, size_t len, otter_ddi_confirmation *out,
                                 otter_err *err)
{
    static const char *const keys[] = {"confirmation", "code", "details", NULL};
    json_t *root = NULL;
    int ret;
    memset(out, 0, sizeof *out);
    if ((ret = load_object(buf, len, &root, err)) < 0 ||
        (ret = only_keys(root, keys, "confirmation feedback", err)) < 0)
        goto out;
    json_t *conf = json_object_get(root, "confirmation");
    const char *word = plain_string(conf, 15) ? json_string_value(conf) : "";
    if (strcmp(word, "confirmed") != 0 && strcmp(word, "denied") != 0) {
        ret = otter_err_set(err, OTTER_EFORMAT, "confirmation must be \"confirmed\" or \"denied\"");
        goto out;
    }
    out->confirmed = word[0] == 'c';
    json_t *code = json_object_get(root, "code");
    if (code && (!json_is_integer(code) || json_integer_value(code) < INT32_MIN ||
                 json_integer_value(code) > INT32_MAX)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "code must be a 32-bit integer");
        goto out;
    }
    out->has_code = code != NULL;
    out->code = code ? json_integer_value(code) : 0;
    json_t *details = json_object_get(root, "details");
    if (details)
        ret = parse_details(details, "details", &out->details, err);
    if (ret == 0 && !out->details && !(out->details = strdup("[]")))
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
out:
    json_decref(root);
    if (ret < 0)
        otter_ddi_confirmation_clear(out);
    return ret;
}

void otter_ddi_confirmation_clear(otter_ddi_confirmation *c)
{
    free(c->details);
    memset(c, 0, sizeof *c);
}

int otter_ddi_autoconfirm_parse(const char *buf, size_t len, otter_ddi_autoconfirm *out,
                                otter_err *err)
{
    static const char *const keys[] = {"initiator", "remark", NULL};
    json_t *root = NULL;
    int ret = 0;
    memset(out, 0, sizeof *out);
    if (len == 0) /* the body is optional (hawkBit) */
        return 0;
    if ((ret = load_object(buf, len, &root, err)) < 0 ||
        (ret = only_keys(root, keys, "auto-confirm", err)) < 0)
        goto out;
    json_t *ini = json_object_get(root, "initiator"), *rem = json_object_get(root, "remark");
    if ((ini && !json_is_null(ini) && !plain_string(ini, sizeof out->initiator - 1)) ||
        (rem && !json_is_null(rem) && !plain_string(rem, sizeof out->remark - 1))) {
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "initiator (at most %zu bytes) and remark (at most %zu bytes) are "
                            "strings",
                            sizeof out->initiator - 1, sizeof out->remark - 1);
        goto out;
    }
    snprintf(out->initiator, sizeof out->initiator, "%s",
             json_is_string(ini) ? json_string_value(ini) : "");
    snprintf(out->remark, sizeof out->remark, "%s",
             json_is_string(rem) ? json_string_value(rem) : "");
out:
    json_decref(root);
    return ret;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly (RFC 3339 in UTC, no fraction) as unix seconds. */
static int parse_utc(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se, n = 0;
    if (strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 20 ||
        y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || h < 0 ||
        mi < 0 || se < 0)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* One details line "otter.user=CHOICE[;until=TIME]"; 1 taken, <0 malformed. */
static int user_line(const char *line, char choice[16], int64_t *until, otter_err *err)
{
    static const char *const words[] = {"waiting", "postponed", "started", NULL};
    const char *v = line + strlen(OTTER_DDI_USER_PREFIX);
    size_t n = strcspn(v, ";");
    char word[16];
    snprintf(word, sizeof word, "%.*s", (int)(n < 15 ? n : 15), v);
    if (n > 15 || !one_of(word, words))
        return otter_err_set(err, OTTER_EFORMAT,
                             "details: otter.user is waiting, postponed;until=TIME or started");
    *until = 0;
    int postponed = strcmp(word, "postponed") == 0;
    if (postponed != (v[n] == ';'))
        return otter_err_set(err, OTTER_EFORMAT,
                             "details: otter.user=postponed needs ;until=YYYY-MM-DDTHH:MM:SSZ, "
                             "the other choices take nothing after them");
    if (postponed && (strncmp(v + n, ";until=", 7) != 0 || parse_utc(v + n + 7, until) < 0))
        return otter_err_set(err, OTTER_EFORMAT,
                             "details: otter.user=postponed;until= wants YYYY-MM-DDTHH:MM:SSZ");
    snprintf(choice, 16, "%s", word);
    return 1;
}

int otter_ddi_user_choice(const char *details, char choice[16], int64_t *until, otter_err *err)
{
    json_t *arr = json_loads(details ? details : "[]", 0, NULL);
    size_t i;
    json_t *line;
    int ret = 0;
    choice[0] = '\0';
    *until = 0;
    json_array_foreach(arr, i, line)
    {
        const char *s = json_string_value(line);
        if (!s || strncmp(s, OTTER_DDI_USER_PREFIX, strlen(OTTER_DDI_USER_PREFIX)) != 0)
            continue;
        if (ret == 1) {
            ret = otter_err_set(err, OTTER_EFORMAT, "details: otter.user given twice");
            break;
        }
        if ((ret = user_line(s, choice, until, err)) < 0)
            break;
    }
    json_decref(arr);
    if (ret < 0)
        choice[0] = '\0';
    return ret;
}
