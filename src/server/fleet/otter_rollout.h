/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staged rollouts: which devices a rollout targets, which stage each one
 * falls into, the counts per stage, and the rules that advance or pause a
 * rollout on their own. HTTP-free, so the rules can be tested directly and
 * called from both the management API and the device API (feedback).
 *
 * Membership is deterministic: a device's bucket is the first 4 bytes
 * (big-endian) of SHA-256(rollout id as 8 bytes big-endian ‖ controller
 * id) mod 10000. When the rollout starts, its targeted devices are ranked
 * by bucket (ties by controller id) and cut at each stage's cumulative
 * percent: stage i holds ranks [round(p(i-1)·n/100), round(p(i)·n/100)).
 * A stage is exactly its share of the fleet, the order in which devices
 * come is the same for anyone who computes it, and a device's place does
 * not depend on when it polls. (Cutting at bucket < percent×100 instead
 * is the same order, but its stage sizes carry sampling noise: ±1.6 % of
 * 1,000 devices at 50 %.)
 *
 * Judging a stage (see docs/rollouts.md; the verdict is otter_rollout_judge
 * in otter_fleet.c): size = devices in the stage,
 * done = succeeded + failed, sample = min_devices when 0 < min_devices <
 * size, else size.
 *   pause   when failure_threshold > 0, failed > 0 and
 *           failed × 100 ≥ failure_threshold × max(done, sample)
 *           (checked for every stage reached so far, and only once a
 *           failure came after the operator last resumed: resuming
 *           accepts the failures so far);
 *   advance when the current stage has done ≥ sample and
 *           succeeded × 100 ≥ success_threshold × done;
 *   finish  when the last stage is current and no action is open.
 */
#ifndef OTTER_ROLLOUT_H
#define OTTER_ROLLOUT_H

#include <jansson.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

#define OTTER_ROLLOUT_BUCKETS 10000u

uint32_t otter_rollout_bucket(int64_t rollout_id, const char *controller_id);

/*
 * Checks a filter document: an object with optional "models", "groups",
 * "versions" (arrays of 1..64 strings) and "attributes" (object of string
 * values, at most 16). Unknown keys are refused. where names it in errors.
 */
int otter_rollout_filter_check(const json_t *filter, const char *where, otter_err *err);

/*
 * True when device d passes filter (groups are checked by the caller).
 * "versions" matches the version the device reported in configData
 * ("version"), else the one it last installed through this server.
 */
int otter_rollout_filter_match(const json_t *filter, const otter_device *d);

/* Counts of one stage (or of the whole rollout). */
typedef struct otter_rollout_tally {
    int64_t devices;
    int64_t waiting;   /* in a stage not reached yet */
    int64_t scheduled; /* offered, not started */
    int64_t running;   /* started (downloading, installing, being canceled) */
    int64_t success;
    int64_t failure;
    int64_t canceled;
} otter_rollout_tally;

typedef struct otter_rollout_stats {
    otter_rollout_tally total;
    otter_rollout_tally stage[OTTER_ROLLOUT_STAGES_MAX];
    /* The users' choices (issue #17); filled by otter_rollout_stats_users() only. */
    otter_rollout_user_counts users;
    /* Artifact bytes downloaded (issue #12); filled by otter_rollout_stats_traffic() only. */
    otter_rollout_traffic traffic;
} otter_rollout_stats;

/*
 * Adds the users' choices to st (docs/rollouts.md "Consent"): shown by the
 * stats and event streams, not needed by the rules, so not counted on
 * every closing feedback.
 */
int otter_rollout_stats_users(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                              otter_err *err);

int otter_rollout_stats_get(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                            otter_err *err);

/*
 * Adds the artifact bytes the rollout's devices downloaded to st
 * (docs/rollouts.md "Bytes sent", otter_traffic.c); like the users'
 * choices, shown by the stats and event streams only.
 */
int otter_rollout_stats_traffic(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                                otter_err *err);

/* st's traffic as the stats document's "traffic" object (otter_traffic.c); NULL without memory. */
json_t *otter_rollout_traffic_doc(const otter_rollout_traffic *t);

/* Loads rollout id (of tenant_id, 0 = any); *found = 0 when there is none. */
int otter_rollout_load(otter_store *s, int64_t tenant_id, int64_t id, otter_rollout *out,
                       int *found, otter_err *err);

/* What targeting found. */
typedef struct otter_rollout_plan {
    int64_t devices;                             /* targeted */
    int64_t per_stage[OTTER_ROLLOUT_STAGES_MAX]; /* targeted per stage */
    int64_t busy;                                /* matched but working on another action */
    int64_t current;                             /* matched but already on the release */
    int64_t outside;                             /* matched but beyond the last stage's percent */
    int64_t incompatible; /* matched but model unknown or not in the release's compatible */
} otter_rollout_plan;

/*
 * The release's "compatible" models (issue #15): *compatible gets a new
 * reference to the array of release_id (of tenant_id), or NULL when the
 * release names none (foreign packages: the server cannot tell, so it
 * does not filter). A release that is gone is an error.
 */
int otter_release_compatible(otter_store *s, int64_t tenant_id, int64_t release_id,
                             json_t **compatible, otter_err *err);

/*
 * 1 when a device of model may be offered a release whose compatible list
 * is compatible (NULL: any model). An unknown model ("") fits no list:
 * the device would refuse the package before any payload byte anyway.
 */
int otter_release_fits(const json_t *compatible, const char *model);

/*
 * otter_release_fits for device d: its model is the one it reports in
 * configData ("model", what its agent checks), else the registered one.
 */
int otter_release_fits_device(const json_t *compatible, const otter_device *d);

/*
 * Walks r's tenant's devices through its filter and stages; devices whose
 * model is not in the release's compatible list are left out (counted as
 * incompatible). With create,
 * makes one action per targeted device (stage set, held back until its
 * stage is reached) — the caller holds a transaction. release_version:
 * devices already on it are left out. filter: r->filter parsed.
 */
int otter_rollout_plan_make(otter_store *s, const otter_rollout *r, const json_t *filter,
                            const char *release_version, int create, int64_t actor, int64_t now,
                            otter_rollout_plan *plan, otter_err *err);

/*
 * Applies the automatic rules to a running rollout (advance, pause,
 * finish: otter_rollout_judge's verdict, otter_rollout_apply's move),
 * updating it in the store; *changed = 1 when its state or stage moved.
 * The caller holds a transaction.
 */
int otter_rollout_evaluate(otter_store *s, otter_rollout *r, int64_t now, int *changed,
                           otter_err *err);

/*
 * A process-wide counter that moves whenever an action of any rollout or
 * a rollout itself changes: event streams compare it instead of querying.
 */
void otter_rollout_touch(void);
uint64_t otter_rollout_generation(void);

/*
 * Parses a rollout request body (POST rollouts and rollouts/preview):
 * {"name", "release", "filter"?, "stages": [{"percent", "success_threshold"?,
 * "failure_threshold"?, "min_devices"?}], "download"?, "update"?,
 * "maintenance_window"?}. Strict: unknown keys, wrong types, out-of-range
 * numbers, percents not strictly increasing are refused with the field's
 * path in where ("body.stages[1].percent"). Fills out's name, release,
 * filter (normalised JSON text), modes and stages; *filter gets the parsed
 * filter (new reference).
 */
#define OTTER_ROLLOUT_WHERE_MAX 64
int otter_rollout_request_parse(const char *buf, size_t len, unsigned max_depth, otter_rollout *out,
                                json_t **filter, char where[OTTER_ROLLOUT_WHERE_MAX],
                                otter_err *err);

/* Stats as the API's JSON document (new reference). */
json_t *otter_rollout_stats_doc(const otter_rollout *r, const otter_rollout_stats *st, json_t *at);

#endif
