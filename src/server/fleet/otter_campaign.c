/* SPDX-License-Identifier: Apache-2.0 */
/* A rollout's campaign controls: request keys, documents, the deferral rule (otter_campaign.h). */
#include <stdio.h>
#include <string.h>

#include "otter_campaign.h"
#include "otter_json.h"
#include "otter_reqjson.h"
#include "otter_window.h"

#define BODY_MAX (64 * 1024)

static int parse_deferrals(const json_t *root, otter_campaign *out, char *where, otter_err *err)
{
    static const char *const known[] = {"max", "max_seconds", NULL};
    const json_t *d = json_object_get(root, "deferrals");
    int64_t max = -1, seconds = 0;
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.deferrals");
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_object(d))
        return otter_err_set(err, OTTER_EFORMAT,
                             "body.deferrals: want an object {max, max_seconds} or null");
    if (otter_json_known_keys(d, known, "body.deferrals", err) < 0)
        return OTTER_EFORMAT;
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.deferrals.max");
    if (otter_json_get_int(d, "max", 1, 0, OTTER_DEFERRALS_MAX, "body.deferrals", &max, err) < 0)
        return OTTER_EFORMAT;
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.deferrals.max_seconds");
    if (otter_json_get_int(d, "max_seconds", 1, OTTER_DEFERRAL_SECONDS_MIN,
                           OTTER_DEFERRAL_SECONDS_MAX, "body.deferrals", &seconds, err) < 0)
        return OTTER_EFORMAT;
    out->deferral_max = max;
    out->deferral_seconds = seconds;
    return 0;
}

static int parse_urgent(const json_t *root, otter_campaign *out, char *where, otter_err *err)
{
    const json_t *u = json_object_get(root, "urgent");
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.urgent");
    if (!u)
        return 0;
    if (!json_is_boolean(u))
        return otter_err_set(err, OTTER_EFORMAT, "body.urgent: want true or false");
    out->urgent = json_is_true(u);
    if (out->urgent && json_object_get(root, "deferrals") &&
        !json_is_null(json_object_get(root, "deferrals")))
        return otter_err_set(err, OTTER_EFORMAT,
                             "body.urgent: an urgent rollout allows no deferral; drop "
                             "\"deferrals\" or urgent");
    return 0;
}

static int parse_schedule(const json_t *root, otter_campaign *out, char *where, otter_err *err)
{
    const json_t *s = json_object_get(root, "maintenance_schedule");
    const json_t *fixed = json_object_get(root, "maintenance_window");
    otter_schedule sch;
    char at[OTTER_WINDOW_WHERE_MAX];
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.maintenance_schedule");
    if (!s || json_is_null(s))
        return 0;
    if (fixed && !json_is_null(fixed))
        return otter_err_set(err, OTTER_EFORMAT,
                             "body.maintenance_schedule: give a schedule or a fixed "
                             "maintenance_window, not both");
    int ret = otter_schedule_from_json(s, "body.maintenance_schedule", &sch, at, err);
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "%s", at);
    if (ret < 0)
        return ret;
    return otter_schedule_text(&sch, out->schedule, sizeof out->schedule, err);
}

int otter_campaign_from_json(const json_t *root, otter_campaign *out,
                             char where[OTTER_CAMPAIGN_WHERE_MAX], otter_err *err)
{
    int ret;
    *out = OTTER_CAMPAIGN_NONE;
    if ((ret = parse_schedule(root, out, where, err)) < 0 ||
        (ret = parse_deferrals(root, out, where, err)) < 0 ||
        (ret = parse_urgent(root, out, where, err)) < 0)
        *out = OTTER_CAMPAIGN_NONE;
    return ret;
}

int otter_campaign_request_parse(const char *buf, size_t len, unsigned max_depth,
                                 otter_campaign *out, char where[OTTER_CAMPAIGN_WHERE_MAX],
                                 otter_err *err)
{
    json_t *root = NULL;
    int ret;
    *out = OTTER_CAMPAIGN_NONE;
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body");
    if (otter_reqjson_depth(buf, len, max_depth) > max_depth)
        return otter_err_set(err, OTTER_EFORMAT, "JSON nested deeper than allowed");
    if ((ret = otter_json_load(buf, len, BODY_MAX, "body", &root, err)) < 0)
        return ret;
    if (!json_is_object(root))
        ret = otter_err_set(err, OTTER_EFORMAT, "body: expected a JSON object (rollout)");
    else
        ret = otter_campaign_from_json(root, out, where, err);
    json_decref(root);
    if (ret < 0)
        *out = OTTER_CAMPAIGN_NONE;
    return ret;
}

void otter_campaign_doc_add(json_t *doc, const otter_campaign *c)
{
    json_t *schedule = c->schedule[0] ? json_loads(c->schedule, 0, NULL) : NULL;
    json_object_set_new(doc, "maintenance_schedule", schedule ? schedule : json_null());
    json_object_set_new(
        doc, "deferrals",
        json_pack("{s:o, s:o}", "max",
                  c->deferral_max >= 0 ? json_integer(c->deferral_max) : json_null(), "max_seconds",
                  c->deferral_seconds ? json_integer(c->deferral_seconds) : json_null()));
    json_object_set_new(doc, "urgent", json_boolean(c->urgent));
}

int otter_campaign_deferral_check(const otter_campaign *c, int64_t used, int64_t seconds,
                                  otter_err *err)
{
    if (c->urgent)
        return otter_err_set(err, OTTER_ESTATE,
                             "postpone refused: this is an urgent update that may not be "
                             "postponed");
    if (c->deferral_max >= 0 && used >= c->deferral_max)
        return otter_err_set(err, OTTER_ESTATE,
                             "postpone refused: all %lld postponements this update allows are "
                             "used",
                             (long long)c->deferral_max);
    if (c->deferral_seconds > 0 && seconds > c->deferral_seconds)
        return otter_err_set(err, OTTER_ESTATE,
                             "postpone refused: %lld s is longer than this update allows "
                             "(%lld s)",
                             (long long)seconds, (long long)c->deferral_seconds);
    return 0;
}

int64_t otter_campaign_deferrals_left(const otter_campaign *c, int64_t used)
{
    if (c->urgent)
        return 0;
    if (c->deferral_max < 0)
        return -1;
    return used >= c->deferral_max ? 0 : c->deferral_max - used;
}
