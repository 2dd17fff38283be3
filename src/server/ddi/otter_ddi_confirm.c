/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit's user-consent flow in DDI (docs/ddi.md "User consent"): an
 * action made with consent "ask" is shown by the base poll as
 * confirmationBase, not deploymentBase, until the device confirms it.
 * GET confirmationBase/{actionId} describes the offer like deploymentBase;
 * POST .../feedback confirms or denies it. Denied, the action stays open
 * and waiting (as hawkBit: the user may still agree later) and counts as
 * declined in its rollout; a later "confirmed" goes ahead. A device may
 * turn on hawkBit's auto-confirm, which confirms what waits and everything
 * asked later, until it turns it off.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_ddi_internal.h"
#include "otter_ddi_json.h"
#include "otter_fleet.h"
#include "otter_rollout.h"

int ddi_refuse_unconfirmed(struct ddi_call *c, const otter_action *a)
{
    if (!a->awaiting)
        return 0;
    return ddi_fail(c, 404,
                    "action %lld waits for the user's consent: GET confirmationBase/%lld and "
                    "confirm it first",
                    (long long)a->id, (long long)a->id);
}

/* GET confirmationBase: the auto-confirm state and where to go next. */
static int confirmation_state(struct ddi_call *c)
{
    otter_err err;
    otter_autoconfirm ac;
    otter_action open_a;
    int active = 0, has_open = 0;
    if (otter_store_autoconfirm_get(c->ddi->store, c->dev->id, &ac, &active, &err) < 0 ||
        otter_store_action_open(c->ddi->store, c->dev->id, &open_a, &has_open, &err) < 0)
        return ddi_fail_err(c, &err);
    json_t *state = json_pack("{s:b}", "active", active);
    if (state && active) {
        json_object_set_new(state, "initiator", json_string(ac.initiator));
        json_object_set_new(state, "remark", json_string(ac.remark));
        /* hawkBit gives the activation time in milliseconds. */
        json_object_set_new(state, "activatedAt", json_integer(ac.activated_at * 1000));
    }
    json_t *links = json_object();
    if (links)
        json_object_set_new(links, active ? "deactivateAutoConfirm" : "activateAutoConfirm",
                            ddi_href(c, "/confirmationBase/%s",
                                     active ? "deactivateAutoConfirm" : "activateAutoConfirm"));
    if (links && has_open && open_a.awaiting &&
        otter_action_state_of(&open_a) != OTTER_ACTION_CANCELING)
        json_object_set_new(links, "confirmationBase",
                            ddi_href(c, "/confirmationBase/%lld", (long long)open_a.id));
    return ddi_reply(c, 200, json_pack("{s:o, s:o}", "autoConfirm", state, "_links", links));
}

/* The device's open action {id} that may be confirmed now: 0, or the status answered. */
static int load_open(struct ddi_call *c, otter_action *a)
{
    int status = ddi_load_action(c, c->seg[1], a);
    if (status)
        return status;
    otter_action_state st = otter_action_state_of(a);
    if (st == OTTER_ACTION_CANCELED)
        return ddi_refuse_canceled(c, a);
    if (!otter_action_is_open(st) || st == OTTER_ACTION_CANCELING)
        return ddi_fail(c, 410, "action %lld is %s", (long long)a->id, a->status);
    return ddi_refuse_held_back(c, a);
}

/* GET confirmationBase/{actionId}: the offer, as deploymentBase would show it. */
static int confirmation_action(struct ddi_call *c)
{
    otter_action a;
    json_t *doc = NULL;
    int status = load_open(c, &a);
    if (status)
        return status;
    if (!a.awaiting)
        return ddi_fail(c, 404, "action %lld does not wait for a confirmation", (long long)a.id);
    if ((status = ddi_offer_doc(c, &a, 0, "confirmation", &doc)) != 0)
        return status;
    json_object_set_new(doc, "actionHistory",
                        json_pack("{s:s, s:[s]}", "status", "WAIT_FOR_CONFIRMATION", "messages",
                                  strcmp(a.confirm, "denied") == 0
                                      ? "the user declined; waiting for a confirmation"
                                      : "waiting for the confirmation by the device"));
    return ddi_reply(c, 200, doc);
}

/* The feedback row of a confirmation: its word and code first, then the device's details. */
static char *confirmation_details(const otter_ddi_confirmation *f)
{
    json_t *arr = json_loads(f->details, 0, NULL);
    char line[48];
    snprintf(line, sizeof line, "confirmation=%s", f->confirmed ? "confirmed" : "denied");
    json_array_insert_new(arr, 0, json_string(line));
    if (f->has_code) {
        snprintf(line, sizeof line, "code=%lld", (long long)f->code);
        json_array_insert_new(arr, 1, json_string(line));
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

/* Stores the confirmation of a and its feedback row in one transaction. */
static int confirmation_store(struct ddi_call *c, const otter_action *a,
                              const otter_ddi_confirmation *f)
{
    otter_err err;
    int64_t n = 0;
    char *details = confirmation_details(f);
    otter_feedback row = {.action_id = a->id,
                          .at = c->now,
                          .kind = "deployment",
                          .execution = "proceeding",
                          .finished = "none",
                          .progress_cnt = -1,
                          .progress_of = -1,
                          .details = details};
    if (!details)
        return ddi_fail(c, 500, "out of memory");
    int status = 0;
    if (otter_store_begin(c->ddi->store, &err) < 0) {
        free(details);
        return ddi_fail_err(c, &err);
    }
    if (otter_store_feedback_count(c->ddi->store, a->id, &n, &err) < 0)
        status = ddi_fail_err(c, &err);
    else if ((uint64_t)n >= c->ddi->cfg->ddi_max_feedback) /* as deploymentBase feedback */
        status = ddi_fail(c, 403, "action %lld has %lld feedback messages, the most kept",
                          (long long)a->id, (long long)n);
    else if (otter_store_feedback_add(c->ddi->store, &row, &err) < 0 ||
             otter_store_action_set_confirm(
                 c->ddi->store, a->id, f->confirmed ? "confirmed" : "denied", c->now, &err) < 0 ||
             otter_store_action_set_user(c->ddi->store, a->id, f->confirmed ? "" : "declined", 0,
                                         c->now, &err) < 0 ||
             otter_store_commit(c->ddi->store, &err) < 0)
        status = ddi_fail_err(c, &err);
    if (status)
        otter_store_rollback(c->ddi->store);
    free(details);
    return status;
}

/* POST confirmationBase/{actionId}/feedback. */
static int confirmation_feedback(struct ddi_call *c)
{
    otter_err err;
    otter_action a;
    otter_ddi_confirmation f;
    if (otter_ddi_confirmation_parse(c->req->body, c->req->body_len, &f, &err) < 0)
        return ddi_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, "%s", err.msg);
    int status = load_open(c, &a);
    if (status)
        goto out;
    if (strcmp(a.consent, "ask") != 0) {
        status = ddi_fail(c, 409, "action %lld does not ask for a confirmation (consent %s)",
                          (long long)a.id, a.consent);
        goto out;
    }
    if (strcmp(a.confirm, "confirmed") == 0) {
        /* A retry of the confirmation is answered like the first one; going back is not. */
        status = f.confirmed
                     ? ddi_reply(c, 200, NULL)
                     : ddi_fail(c, 409, "action %lld is confirmed already", (long long)a.id);
        goto out;
    }
    if ((status = confirmation_store(c, &a, &f)) != 0)
        goto out;
    if (a.rollout_id)
        otter_rollout_touch(); /* event streams show the user's choices */
    status = ddi_reply(c, 200, NULL);
out:
    otter_ddi_confirmation_clear(&f);
    return status;
}

/* POST confirmationBase/activateAutoConfirm: 409 when it is active already (hawkBit). */
static int autoconfirm_activate(struct ddi_call *c)
{
    otter_err err;
    otter_ddi_autoconfirm body;
    otter_autoconfirm cur, ac = {.activated_at = c->now};
    int active = 0;
    if (otter_ddi_autoconfirm_parse(c->req->body, c->req->body_len, &body, &err) < 0)
        return ddi_fail(c, 400, "%s", err.msg);
    if (otter_store_autoconfirm_get(c->ddi->store, c->dev->id, &cur, &active, &err) < 0)
        return ddi_fail_err(c, &err);
    if (active)
        return ddi_fail(c, 409, "auto-confirm is active already");
    /* hawkBit's defaults: the controller as initiator. */
    snprintf(ac.initiator, sizeof ac.initiator, "%s",
             body.initiator[0] ? body.initiator : c->dev->controller_id);
    snprintf(ac.remark, sizeof ac.remark, "%s",
             body.remark[0] ? body.remark : "activated by the device");
    if (otter_store_autoconfirm_set(c->ddi->store, c->dev->id, &ac, c->now, &err) < 0)
        return ddi_fail_err(c, &err);
    otter_rollout_touch();
    return ddi_reply(c, 200, NULL);
}

static int autoconfirm_deactivate(struct ddi_call *c)
{
    otter_err err;
    if (otter_store_autoconfirm_delete(c->ddi->store, c->dev->id, &err) < 0)
        return ddi_fail_err(c, &err);
    return ddi_reply(c, 200, NULL);
}

int ddi_confirmation(struct ddi_call *c)
{
    const char *m = c->req->method;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (c->nseg == 1)
        return get ? confirmation_state(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (c->nseg == 2 && strcmp(c->seg[1], "activateAutoConfirm") == 0)
        return post ? autoconfirm_activate(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (c->nseg == 2 && strcmp(c->seg[1], "deactivateAutoConfirm") == 0)
        return post ? autoconfirm_deactivate(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (c->nseg == 2)
        return get ? confirmation_action(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (c->nseg == 3 && strcmp(c->seg[2], "feedback") == 0)
        return post ? confirmation_feedback(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    return ddi_fail(c, 404, "no such DDI resource");
}

/* ---- the user's choices in deploymentBase feedback ---- */

int ddi_user_choice_check(struct ddi_call *c, const char *details, char choice[16], int64_t *until)
{
    otter_err err;
    if (otter_ddi_user_choice(details, choice, until, &err) < 0)
        return ddi_fail(c, 400, "%s", err.msg);
    return 0;
}
