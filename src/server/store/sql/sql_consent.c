/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for the user's consent (issue #17, docs/ddi.md "User
 * consent"): an action's confirmation and its user's last choice, a
 * device's hawkBit auto-confirm, and a rollout's counts of user choices.
 * A confirmation or an auto-confirm changes what the base poll offers
 * (confirmationBase or deploymentBase), so those are counted changes of the
 * device; the user's choice is only shown to operators.
 */
#include <string.h>

#include "otter_sql.h"

/* The device of action id (0 when there is none). */
static int64_t device_of(otter_store *s, int64_t id)
{
    otter_action a;
    otter_err err;
    int found = 0;
    if (otter_store_action_get(s, id, &a, &found, &err) < 0 || !found)
        return OTTER_CHANGE_ANY_DEVICE;
    return a.device_id;
}

int otter_store_action_set_confirm(otter_store *s, int64_t id, const char *confirm, int64_t now,
                                   otter_err *err)
{
    return otter_sql_change(s, device_of(s, id), "recording confirmation", NULL, err,
                            "UPDATE actions SET confirm = ?, updated_at = ? WHERE id = ?", "tii",
                            confirm, now, id);
}

int otter_store_action_set_user(otter_store *s, int64_t id, const char *choice, int64_t until,
                                int64_t now, otter_err *err)
{
    (void)now; /* updated_at is the action's DDI state; a choice does not move it */
    return otter_sql_write_quiet(s, "recording the user's choice", NULL, err,
                                 "UPDATE actions SET user_choice = ?, user_until = ? WHERE id = ?",
                                 "tii", choice, until, id);
}

static int autoconfirm_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    otter_autoconfirm *a = ctx;
    if (otter_sql_copy(st, 0, a->initiator, sizeof a->initiator, err) < 0 ||
        otter_sql_copy(st, 1, a->remark, sizeof a->remark, err) < 0)
        return OTTER_EFORMAT;
    a->activated_at = otter_sql_int(st, 2);
    return 1;
}

int otter_store_autoconfirm_get(otter_store *s, int64_t device_id, otter_autoconfirm *out,
                                int *found, otter_err *err)
{
    memset(out, 0, sizeof *out);
    int ret = otter_sql_read(s, "reading auto-confirm", autoconfirm_row, out, err,
                             "SELECT initiator, remark, activated_at FROM device_autoconfirm"
                             " WHERE device_id = ?",
                             "i", device_id);
    *found = ret == 1;
    return ret < 0 ? ret : 0;
}

int otter_store_autoconfirm_set(otter_store *s, int64_t device_id, const otter_autoconfirm *a,
                                int64_t now, otter_err *err)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = otter_sql_write(&ch, "activating auto-confirm", NULL, err,
                              "INSERT INTO device_autoconfirm(device_id, initiator, remark,"
                              " activated_at) VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO"
                              " UPDATE SET initiator = excluded.initiator,"
                              " remark = excluded.remark, activated_at = excluded.activated_at",
                              "itti", device_id, a->initiator, a->remark, a->activated_at);
    /* As hawkBit: what waits for a confirmation is confirmed by the activation. */
    if (ret == 0)
        ret = otter_sql_write(&ch, "confirming waiting actions", NULL, err,
                              "UPDATE actions SET confirm = 'confirmed', updated_at = ?"
                              " WHERE device_id = ? AND confirm IN ('waiting','denied')"
                              " AND status IN ('scheduled','running')",
                              "ii", now, device_id);
    return otter_change_end(&ch, ret, device_id, err);
}

int otter_store_autoconfirm_delete(otter_store *s, int64_t device_id, otter_err *err)
{
    return otter_sql_change(s, device_id, "deactivating auto-confirm", NULL, err,
                            "DELETE FROM device_autoconfirm WHERE device_id = ?", "i", device_id);
}

static int user_count_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    otter_rollout_user_counts *c = ctx;
    const char *k = otter_sql_text(st, 0);
    int64_t n = otter_sql_int(st, 1);
    if (!k)
        return 0;
    if (strcmp(k, "waiting") == 0)
        c->waiting += n;
    else if (strcmp(k, "postponed") == 0)
        c->postponed += n;
    else if (strcmp(k, "declined") == 0)
        c->declined += n;
    else if (strcmp(k, "started") == 0)
        c->started += n;
    return 0;
}

/*
 * One key per action: declined (denied), waiting (asked and offered: its
 * rollout runs and reached its stage; or the user's own "waiting"),
 * postponed, started; only open actions count for the first three.
 */
#define USER_KEY                                                                                   \
    "CASE WHEN a.user_choice = 'started' THEN 'started'"                                           \
    " WHEN a.status NOT IN ('scheduled','running') THEN ''"                                        \
    " WHEN a.confirm = 'denied' THEN 'declined'"                                                   \
    " WHEN a.confirm = 'waiting' AND r.state = 'running' AND a.stage <= r.current_stage"           \
    "  THEN 'waiting'"                                                                             \
    " WHEN a.confirm = 'waiting' THEN ''"                                                          \
    " ELSE a.user_choice END"

int otter_store_rollout_user_counts(otter_store *s, int64_t rollout_id,
                                    otter_rollout_user_counts *out, otter_err *err)
{
    memset(out, 0, sizeof *out);
    return otter_sql_read(s, "counting the users' choices", user_count_row, out, err,
                          "SELECT " USER_KEY ", count(*) FROM actions a"
                          " JOIN rollouts r ON r.id = a.rollout_id"
                          " WHERE a.rollout_id = ? AND a.superseded_by IS NULL"
                          " GROUP BY " USER_KEY,
                          "i", rollout_id);
}
