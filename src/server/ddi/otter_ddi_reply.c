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
