/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the DDI files share for their answers: errors in DDI's shape, the
 * refusal of a canceled or withdrawn action, the hawkBit sleep text. The
 * dispatch (otter_ddi.c) and the poll, download and auth files call it; it
 * calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "otter_ddi_internal.h"
#include "otter_fleet.h"

void otter_ddi_sleep_text(uint64_t seconds, char *out, size_t cap)
{
    if (seconds > 99 * 3600 + 59 * 60 + 59)
        seconds = 99 * 3600 + 59 * 60 + 59;
    snprintf(out, cap, "%02u:%02u:%02u", (unsigned)(seconds / 3600), (unsigned)(seconds / 60 % 60),
             (unsigned)(seconds % 60));
}

/* status with doc (owned, freed here) as the JSON body. */
int ddi_reply(struct ddi_call *c, int status, json_t *doc)
{
    free(c->resp->body);
    c->resp->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (doc && !c->resp->body)
        return ddi_fail(c, 500, "out of memory");
    return status;
}

int ddi_fail(struct ddi_call *c, int status, const char *fmt, ...)
{
    char msg[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(c->resp->body);
    json_t *doc = json_pack("{s:s}", "error", msg);
    c->resp->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return status;
}

int ddi_fail_err(struct ddi_call *c, const otter_err *err)
{
    fprintf(stderr, "otter-server: ddi %s %s: %s\n", c->req->method, c->req->path, err->msg);
    return ddi_fail(c, 500, "internal error");
}

int ddi_refuse_canceled(struct ddi_call *c, const otter_action *a)
{
    otter_err err;
    otter_approval ap;
    int found = 0;
    if (otter_store_approval_get(c->ddi->store, a->release_id, &ap, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (found && !otter_approval_allows_rollout(otter_approval_state_of(&ap)))
        return ddi_fail(c, 410,
                        "action %lld was withdrawn: the approval of its release is %s; it will "
                        "not be offered again",
                        (long long)a->id, ap.state);
    return ddi_fail(c, 404, "action %lld is canceled", (long long)a->id);
}

/* The device's action {id} (404 otherwise). */
int ddi_load_action(struct ddi_call *c, const char *id_text, otter_action *a)
{
    otter_err err;
    int found = 0;
    char *end = NULL;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end || id <= 0)
        return ddi_fail(c, 404, "no such action");
    if (otter_store_action_get(c->ddi->store, id, a, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found || a->device_id != c->dev->id)
        return ddi_fail(c, 404, "no action %lld for this device", id);
    return 0;
}

/*
 * A rollout's action the device has not started is its to take only while
 * the poll would offer it (rollout running, stage reached, no older action
 * first): fetching deploymentBase or sending feedback by id must not get
 * around a pause or a stage not yet open. The store's offer rule decides,
 * the same one the poll and its cache use. 0 = may go on, else the status
 * already answered.
 */
int ddi_refuse_held_back(struct ddi_call *c, const otter_action *a)
{
    otter_err err;
    otter_action offered;
    int found = 0;
    if (!a->rollout_id || otter_action_state_of(a) != OTTER_ACTION_SCHEDULED)
        return 0;
    if (otter_store_action_open(c->ddi->store, c->dev->id, &offered, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found || offered.id != a->id)
        return ddi_fail(c, 404,
                        "action %lld is not offered now: its rollout is paused or has not "
                        "reached its stage",
                        (long long)a->id);
    return 0;
}
