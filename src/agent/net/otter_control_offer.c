/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_control_offer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int lang_ok(const char *l)
{
    size_t n = strlen(l);
    if (n == 0 || n > 35)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((l[i] >= 'a' && l[i] <= 'z') || (l[i] >= 'A' && l[i] <= 'Z') ||
              (l[i] >= '0' && l[i] <= '9') || l[i] == '-'))
            return 0;
    return 1;
}

static int add_note(otter_control_offer *o, const char *lang, json_t *v, otter_err *err)
{
    if (!lang_ok(lang) || !json_is_string(v) || json_string_length(v) > OTTER_CONTROL_MAX_NOTE)
        return otter_err_set(err, OTTER_EFORMAT,
                             "offer: metadata otter.notes.%.40s: expected a language tag and at "
                             "most %d bytes of text",
                             lang, OTTER_CONTROL_MAX_NOTE);
    for (size_t i = 0; i < o->n_notes; i++)
        if (strcmp(o->lang[i], lang) == 0)
            return otter_err_set(err, OTTER_EFORMAT, "offer: otter.notes.%s twice", lang);
    if (o->n_notes == OTTER_CONTROL_MAX_NOTES)
        return 0; /* more languages than a device shows: the first ones */
    o->notes[o->n_notes] = strdup(json_string_value(v));
    if (!o->notes[o->n_notes])
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    snprintf(o->lang[o->n_notes], sizeof o->lang[0], "%s", lang);
    o->n_notes++;
    return 0;
}

/* otter.deferrals_left, otter.deferral_max_seconds (counts), otter.urgent ("1"). */
static int deferral_meta(otter_control_offer *o, const char *key, const char *s, otter_err *err)
{
    char *end = NULL;
    long n = s && s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1;
    if (n < 0 || *end || n > 100000000)
        return otter_err_set(err, OTTER_EFORMAT, "offer: %s: expected a count", key);
    if (strcmp(key, "otter.deferrals_left") == 0) {
        o->deferrals_limited = 1;
        o->deferrals_left = n;
    } else if (strcmp(key, "otter.deferral_max_seconds") == 0) {
        o->deferral_max = n;
    } else if (strcmp(key, "otter.urgent") == 0) {
        o->urgent = n == 1;
    }
    return 0;
}

/* otter.deadline: a moment in UTC, exactly YYYY-MM-DDTHH:MM:SSZ (what the UI shows as is). */
static int set_deadline(otter_control_offer *o, const char *s, otter_err *err)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    char again[sizeof o->deadline];
    time_t t = end && !*end ? timegm(&tm) : (time_t)-1;
    struct tm back;
    /* strptime takes "2026-2-30T1:2:3Z"; printing it back must give the same text. */
    if (t == (time_t)-1 || !gmtime_r(&t, &back) ||
        !strftime(again, sizeof again, "%Y-%m-%dT%H:%M:%SZ", &back) || strcmp(again, s) != 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "offer: otter.deadline: expected a UTC time YYYY-MM-DDTHH:MM:SSZ");
    snprintf(o->deadline, sizeof o->deadline, "%s", again);
    return 0;
}

static int one_meta(otter_control_offer *o, json_t *m, otter_err *err)
{
    const char *key = json_string_value(json_object_get(m, "key"));
    json_t *v = json_object_get(m, "value");
    if (!key)
        return otter_err_set(err, OTTER_EFORMAT, "offer: metadata entry without a key");
    if (strncmp(key, "otter.notes.", 12) == 0)
        return add_note(o, key + 12, v, err);
    const char *s = json_string_value(v);
    if (strcmp(key, "otter.security") == 0) {
        if (!s || (strcmp(s, "0") && strcmp(s, "1")))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "offer: otter.security: expected \"0\" or \"1\"");
        o->security = s[0] == '1';
    } else if (strcmp(key, "otter.deferrals_left") == 0 ||
               strcmp(key, "otter.deferral_max_seconds") == 0 || strcmp(key, "otter.urgent") == 0) {
        return deferral_meta(o, key, s, err);
    } else if (strcmp(key, "otter.size") == 0) {
        char *end;
        unsigned long long n = s ? strtoull(s, &end, 10) : 0;
        if (!s || !*s || *end || s[0] == '-')
            return otter_err_set(err, OTTER_EFORMAT, "offer: otter.size: expected a byte count");
        o->size = n;
    } else if (strcmp(key, "otter.deadline") == 0) {
        return set_deadline(o, s, err);
    }
    return 0;
}

static int read_chunks(otter_control_offer *o, json_t *chunks, otter_err *err)
{
    size_t i, j;
    json_t *c, *m;
    uint64_t artifacts = 0;
    json_array_foreach(chunks, i, c)
    {
        const char *version = json_string_value(json_object_get(c, "version"));
        if (i == 0 && version)
            snprintf(o->version, sizeof o->version, "%s", version);
        json_t *first = json_array_get(json_object_get(c, "artifacts"), 0);
        artifacts += (uint64_t)json_integer_value(json_object_get(first, "size"));
        json_t *meta = json_object_get(c, "metadata");
        if (meta && !json_is_array(meta))
            return otter_err_set(err, OTTER_EFORMAT, "offer: chunks[%zu].metadata: expected a list",
                                 i);
        json_array_foreach(meta, j, m)
        {
            int ret = one_meta(o, m, err);
            if (ret)
                return ret;
        }
    }
    if (!o->size)
        o->size = artifacts;
    return 0;
}

int otter_control_offer_parse(const char *body, size_t len, const char *key,
                              otter_control_offer *offer, otter_err *err)
{
    otter_control_offer_clear(offer);
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *d = json_object_get(root, key);
    const char *id = json_string_value(json_object_get(root, "id"));
    int ret = 0;
    if (!id || !json_is_object(d)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "offer: no id or no %s object", key);
        goto out;
    }
    snprintf(offer->action, sizeof offer->action, "%s", id);
    offer->consent = strcmp(key, "confirmation") == 0;
    ret = read_chunks(offer, json_object_get(d, "chunks"), err);
out:
    json_decref(root);
    if (ret)
        otter_control_offer_clear(offer);
    return ret;
}

char *otter_control_confirmation_new(int confirmed, const char *detail)
{
    json_t *j = json_pack("{s:s, s:i, s:[s]}", "confirmation", confirmed ? "confirmed" : "denied",
                          "code", 0, "details", detail);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int otter_control_consent_answer(const char *todo_action, int download, int start, int decline,
                                 const char *action)
{
    /* A request about another offer (it changed meanwhile) is no answer to this one. */
    if (!action[0] || strcmp(todo_action, action) != 0)
        return 0;
    if (decline)
        return -1;
    return download || start ? 1 : 0;
}
