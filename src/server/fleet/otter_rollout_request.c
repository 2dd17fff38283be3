/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout request body: the one nested management request, read strictly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_campaign.h"
#include "otter_fleet.h"
#include "otter_json.h"
#include "otter_reqjson.h"
#include "otter_rollout.h"

#define ROLLOUT_BODY_MAX (64 * 1024)

static int mode_ok(const char *w, int allow_empty)
{
    return (allow_empty && !*w) || strcmp(w, "skip") == 0 || strcmp(w, "attempt") == 0 ||
           strcmp(w, "forced") == 0;
}

/* Names the field in where and says what is wrong with it. */
static int fail(char *where, const char *at, otter_err *err, const char *why, const char *value)
{
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "%s", at);
    return otter_err_set(err, OTTER_EFORMAT, "%s: '%.64s' %s", at, value, why);
}

static int parse_stage(const json_t *st, size_t i, int prev_percent, otter_rollout_stage *g,
                       char *where, otter_err *err)
{
    static const char *const known[] = {"percent", "success_threshold", "failure_threshold",
                                        "min_devices", NULL};
    char at[OTTER_ROLLOUT_WHERE_MAX];
    snprintf(at, sizeof at, "body.stages[%zu]", i);
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "%s", at);
    if (!json_is_object(st))
        return otter_err_set(err, OTTER_EFORMAT, "%s: want an object", at);
    int64_t percent = 0, success = 100, failure = 0, min_devices = 0;
    int ret;
    if ((ret = otter_json_known_keys(st, known, at, err)) < 0 ||
        (ret = otter_json_get_int(st, "percent", 0, 1, 100, at, &percent, err)) < 0 ||
        (ret = otter_json_get_int(st, "success_threshold", 1, 0, 100, at, &success, err)) < 0 ||
        (ret = otter_json_get_int(st, "failure_threshold", 1, 0, 100, at, &failure, err)) < 0 ||
        (ret = otter_json_get_int(st, "min_devices", 1, 0, 1000000000, at, &min_devices, err)) < 0)
        return ret;
    if (percent <= prev_percent) {
        snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "%s.percent", at);
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s.percent: %lld is not above the stage before (%d): percents "
                             "are cumulative and must grow",
                             at, (long long)percent, prev_percent);
    }
    g->percent = (int)percent;
    g->success_threshold = (int)success;
    g->failure_threshold = (int)failure;
    g->min_devices = min_devices;
    return 0;
}

/* The consent mode (docs/rollouts.md "Consent"), after download and update. */
static int parse_consent(const json_t *root, otter_rollout *out, char *where, otter_err *err)
{
    const char *consent = "auto";
    int ret;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.consent");
    if ((ret = otter_json_get_string(root, "consent", 1, 24, "body", &consent, err)) < 0)
        return ret;
    int given = json_object_get(root, "download") || json_object_get(root, "update");
    otter_err why;
    if ((ret = otter_fleet_consent(consent, given, out->consent, out->download, out->update,
                                   &why)) < 0)
        return otter_err_set(err, ret, "body.%s", why.msg);
    return 0;
}

/* What to install: name, release, the DDI download/update modes and the maintenance window. */
static int parse_what(const json_t *root, otter_rollout *out, char *where, otter_err *err)
{
    const char *name = NULL, *download = "forced", *update = "forced";
    int64_t release = 0;
    int ret;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.name");
    if ((ret = otter_json_get_string(root, "name", 0, OTTER_STORE_NAME_MAX, "body", &name, err)) <
        0)
        return ret;
    if (!otter_reqjson_name_ok(name))
        return fail(where, "body.name", err,
                    "must be 1..64 characters of A-Z a-z 0-9 . _ @ - starting with a letter or "
                    "digit",
                    name);
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.release");
    if ((ret = otter_json_get_int(root, "release", 0, 1, INT64_MAX, "body", &release, err)) < 0)
        return ret;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.download");
    if ((ret = otter_json_get_string(root, "download", 1, 16, "body", &download, err)) < 0)
        return ret;
    if (!mode_ok(download, 0))
        return fail(where, "body.download", err, "is not skip, attempt or forced", download);
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.update");
    if ((ret = otter_json_get_string(root, "update", 1, 16, "body", &update, err)) < 0)
        return ret;
    if (!mode_ok(update, 0))
        return fail(where, "body.update", err, "is not skip, attempt or forced", update);
    const json_t *mw = json_object_get(root, "maintenance_window");
    if (mw && !json_is_null(mw) &&
        (!json_is_string(mw) || (strcmp(json_string_value(mw), "available") != 0 &&
                                 strcmp(json_string_value(mw), "unavailable") != 0))) {
        snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.maintenance_window");
        return otter_err_set(
            err, OTTER_EFORMAT,
            "body.maintenance_window: want \"available\", \"unavailable\" or null");
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    out->release_id = release;
    snprintf(out->download, sizeof out->download, "%s", download);
    snprintf(out->update, sizeof out->update, "%s", update);
    snprintf(out->maintenance, sizeof out->maintenance, "%s",
             json_is_string(mw) ? json_string_value(mw) : "");
    return parse_consent(root, out, where, err);
}

/* The device filter: checked, kept in *filter (new reference) and as text in out->filter. */
static int parse_filter(const json_t *root, otter_rollout *out, json_t **filter, char *where,
                        otter_err *err)
{
    int ret;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.filter");
    json_t *f = json_object_get(root, "filter");
    *filter = f ? json_incref(f) : json_object();
    if (!*filter)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if ((ret = otter_rollout_filter_check(*filter, "body", err)) < 0)
        return ret;
    char *text = json_dumps(*filter, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || strlen(text) > OTTER_STORE_ATTR_MAX) {
        free(text);
        return otter_err_set(err, OTTER_EFORMAT, "body.filter: larger than %d bytes",
                             OTTER_STORE_ATTR_MAX);
    }
    snprintf(out->filter, sizeof out->filter, "%s", text);
    free(text);
    return 0;
}

static int parse_stages(const json_t *root, otter_rollout *out, char *where, otter_err *err)
{
    json_t *stages = NULL;
    int ret;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body.stages");
    if ((ret = otter_json_get_array(root, "stages", 1, OTTER_ROLLOUT_STAGES_MAX, "body", &stages,
                                    err)) < 0)
        return ret;
    out->n_stages = 0;
    for (size_t i = 0; i < json_array_size(stages); i++) {
        int prev = i ? out->stages[i - 1].percent : 0;
        if ((ret = parse_stage(json_array_get(stages, i), i, prev, &out->stages[i], where, err)) <
            0)
            return ret;
        out->n_stages++;
    }
    return 0;
}

/* The campaign keys (otter_campaign.h) are checked here too; the API reads their values. */
static int parse_campaign(const json_t *root, char *where, otter_err *err)
{
    otter_campaign c;
    return otter_campaign_from_json(root, &c, where, err);
}

int otter_rollout_request_parse(const char *buf, size_t len, unsigned max_depth, otter_rollout *out,
                                json_t **filter, char where[OTTER_ROLLOUT_WHERE_MAX],
                                otter_err *err)
{
    static const char *const known[] = {"name",
                                        "release",
                                        "filter",
                                        "stages",
                                        "download",
                                        "update",
                                        "maintenance_window",
                                        "consent",
                                        "maintenance_schedule",
                                        "deferrals",
                                        "urgent",
                                        "bandwidth_cap",
                                        NULL};
    json_t *root = NULL;
    int ret;
    *filter = NULL;
    snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body");
    if (len == 0)
        return otter_err_set(err, OTTER_EFORMAT, "a JSON object (rollout) is required");
    if (otter_reqjson_depth(buf, len, max_depth) > max_depth)
        return otter_err_set(err, OTTER_EFORMAT, "JSON nested deeper than allowed");
    if ((ret = otter_json_load(buf, len, ROLLOUT_BODY_MAX, "body", &root, err)) < 0)
        return ret;
    if (!json_is_object(root))
        ret = otter_err_set(err, OTTER_EFORMAT, "body: expected a JSON object (rollout)");
    else if ((ret = otter_json_known_keys(root, known, "body", err)) == 0 &&
             (ret = parse_what(root, out, where, err)) == 0 &&
             (ret = parse_filter(root, out, filter, where, err)) == 0 &&
             (ret = parse_stages(root, out, where, err)) == 0 &&
             (ret = parse_campaign(root, where, err)) == 0)
        snprintf(where, OTTER_ROLLOUT_WHERE_MAX, "body");
    json_decref(root);
    if (ret < 0) {
        json_decref(*filter);
        *filter = NULL;
    }
    return ret;
}
