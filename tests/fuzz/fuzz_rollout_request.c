/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rollout request body (the one nested management request): whatever
 * is accepted must be a rollout the store can keep — a valid name, 1..16
 * stages with growing percents and thresholds in range, a filter that
 * re-checks and fits its column; whatever is refused must say where.
 * The campaign keys (maintenance_schedule, deferrals, urgent) too: an
 * accepted body's campaign parses alike, within bounds, with a schedule
 * that parses again and judges an instant without error.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "otter_campaign.h"
#include "otter_reqjson.h"
#include "otter_rollout.h"
#include "otter_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted body's campaign controls: the same keys parse, within their bounds. */
static void check_campaign(const uint8_t *data, size_t size)
{
    static otter_campaign k;
    static otter_schedule s;
    char where[OTTER_CAMPAIGN_WHERE_MAX];
    otter_err err;
    int open;
    if (otter_campaign_request_parse((const char *)data, size, 16, &k, where, &err) < 0 ||
        k.deferral_max < -1 || k.deferral_max > OTTER_DEFERRALS_MAX ||
        (k.deferral_seconds != 0 && (k.deferral_seconds < OTTER_DEFERRAL_SECONDS_MIN ||
                                     k.deferral_seconds > OTTER_DEFERRAL_SECONDS_MAX)) ||
        (k.urgent && k.deferral_max >= 0))
        __builtin_trap();
    if (k.schedule[0] &&
        (otter_schedule_parse(k.schedule, strlen(k.schedule), &s, &err) < 0 || s.n < 1 ||
         s.n > OTTER_WINDOWS_MAX || otter_schedule_open(&s, 1796578200, &open, &err) < 0))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static otter_rollout r;
    json_t *filter = NULL;
    char where[OTTER_ROLLOUT_WHERE_MAX];
    otter_err err;
    memset(&r, 0, sizeof r);
    int ret = otter_rollout_request_parse((const char *)data, size, 16, &r, &filter, where, &err);
    if (ret == 0) {
        if (!otter_reqjson_name_ok(r.name) || r.release_id < 1 || r.n_stages < 1 ||
            r.n_stages > OTTER_ROLLOUT_STAGES_MAX || !filter)
            __builtin_trap();
        for (size_t i = 0; i < r.n_stages; i++) {
            const otter_rollout_stage *g = &r.stages[i];
            if (g->percent < 1 || g->percent > 100 ||
                (i && g->percent <= r.stages[i - 1].percent) || g->success_threshold < 0 ||
                g->success_threshold > 100 || g->failure_threshold < 0 ||
                g->failure_threshold > 100 || g->min_devices < 0)
                __builtin_trap();
        }
        if (otter_rollout_filter_check(filter, "fuzz", &err) < 0 ||
            strlen(r.filter) > OTTER_STORE_ATTR_MAX)
            __builtin_trap();
        json_decref(filter);
        check_campaign(data, size);
    } else if ((where[0] == '\0' && ret != OTTER_ENOMEM) || filter) {
        __builtin_trap();
    }
    return 0;
}
