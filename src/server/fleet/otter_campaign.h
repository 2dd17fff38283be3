/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A rollout's campaign controls in its request body and its documents
 * (issue #15, docs/rollouts.md "Maintenance schedules", "Deferrals"):
 *   "maintenance_schedule": {time_zone, windows} | null   (otter_window.h)
 *   "deferrals": {"max": 0..100, "max_seconds": 60..2592000}
 *   "urgent": true   (a security fix: the user may not postpone it)
 * and the rule a postponement is judged by.
 */
#ifndef OTTER_CAMPAIGN_H
#define OTTER_CAMPAIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

#define OTTER_DEFERRALS_MAX 100
#define OTTER_DEFERRAL_SECONDS_MIN 60
#define OTTER_DEFERRAL_SECONDS_MAX 2592000 /* 30 days, the agent's own bound */
#define OTTER_CAMPAIGN_WHERE_MAX 64        /* = OTTER_ROLLOUT_WHERE_MAX */

/*
 * Reads the campaign keys of a rollout request body (the rest is
 * otter_rollout_request_parse's) into *out, strictly: unknown keys in
 * deferrals, bounds, "urgent" with deferrals, a schedule together with
 * a fixed maintenance_window. where names the field on failure.
 */
int otter_campaign_request_parse(const char *buf, size_t len, unsigned max_depth,
                                 otter_campaign *out, char where[OTTER_CAMPAIGN_WHERE_MAX],
                                 otter_err *err);

/* The same from the parsed body object (otter_rollout_request_parse checks with it). */
int otter_campaign_from_json(const json_t *root, otter_campaign *out,
                             char where[OTTER_CAMPAIGN_WHERE_MAX], otter_err *err);

/* Sets "maintenance_schedule", "deferrals" and "urgent" of c in doc (a rollout document). */
void otter_campaign_doc_add(json_t *doc, const otter_campaign *c);

/*
 * May the user postpone once more, by `seconds`, after `used`
 * postponements? 0 when yes; else OTTER_ESTATE with the reason in err
 * (urgent, every deferral used, longer than allowed).
 */
int otter_campaign_deferral_check(const otter_campaign *c, int64_t used, int64_t seconds,
                                  otter_err *err);

/* Postponements left after `used` (-1: no limit; 0 for an urgent rollout). */
int64_t otter_campaign_deferrals_left(const otter_campaign *c, int64_t used);

#endif
