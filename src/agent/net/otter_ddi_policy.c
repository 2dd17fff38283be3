/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi_policy.h"
#include "otter_ddi.h"

#include <string.h>

static int effective(int mode, int attempt)
{
    return mode == OTTER_DDI_ATTEMPT ? attempt : mode;
}

int otter_ddi_decide(const otter_ddi_situation *s)
{
    if (s->switched)
        return OTTER_DDI_STEP_NONE;
    int download = effective(s->download, s->attempt);
    int update = effective(s->update, s->attempt);
    int may_install = update != OTTER_DDI_SKIP && s->maintenance_available;
    if (s->spooled)
        return may_install ? OTTER_DDI_STEP_INSTALL_SPOOL : OTTER_DDI_STEP_WAIT;
    /* Download skip: the server wants nothing fetched yet, not even ahead. */
    if (download == OTTER_DDI_SKIP)
        return OTTER_DDI_STEP_NONE;
    return may_install ? OTTER_DDI_STEP_INSTALL_STREAM : OTTER_DDI_STEP_DOWNLOAD;
}

int otter_ddi_decide_cancel(const char *stop_id, const char *switched_action)
{
    /* Only a switched slot is beyond recall: everything before it (download,
     * spool, a written but unrecorded inactive slot) is simply dropped. */
    if (switched_action && switched_action[0] && strcmp(stop_id, switched_action) == 0)
        return OTTER_DDI_CANCEL_REJECT;
    return OTTER_DDI_CANCEL_CONFIRM;
}

/* t +- t/10, whole seconds, uniform over that range as rnd is. */
static long jittered(long t, unsigned long rnd)
{
    long j = t / 10;
    return t - j + (long)(rnd % (unsigned long)(2 * j + 1));
}

long otter_ddi_next_sleep(otter_ddi_pacing *p, int ok, long interval, unsigned long rnd)
{
    if (!ok) {
        long wait = p->backoff < OTTER_DDI_BACKOFF_MIN ? OTTER_DDI_BACKOFF_MIN : p->backoff;
        if (wait > OTTER_DDI_BACKOFF_MAX)
            wait = OTTER_DDI_BACKOFF_MAX;
        p->backoff = wait * 2 > OTTER_DDI_BACKOFF_MAX ? OTTER_DDI_BACKOFF_MAX : wait * 2;
        /* Jittered too: a fleet that lost the server together must not come back in step. */
        return jittered(wait, rnd);
    }
    p->backoff = OTTER_DDI_BACKOFF_MIN;
    if (interval <= 0)
        interval = OTTER_DDI_POLL_DEFAULT;
    if (interval > OTTER_DDI_POLL_MAX)
        interval = OTTER_DDI_POLL_MAX;
    return jittered(interval, rnd);
}

const char *otter_ddi_step_name(int step)
{
    switch (step) {
    case OTTER_DDI_STEP_DOWNLOAD:
        return "downloading now, installing when allowed";
    case OTTER_DDI_STEP_WAIT:
        return "downloaded; waiting for the server to allow the install";
    case OTTER_DDI_STEP_INSTALL_STREAM:
        return "downloading and installing";
    case OTTER_DDI_STEP_INSTALL_SPOOL:
        return "installing the downloaded package";
    default:
        return "nothing to do";
    }
}
