/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store contract of approvals and staged rollouts (schema v3), on SQLite
 * and on PostgreSQL (see store_test.h). The rules live in otter_rollout.c;
 * this checks what the store keeps, holds back and counts.
 */
#include "otter_test.h"
#include "otter_store.h"
#include "store_test.h"

struct fixture {
    otter_store *s;
    int64_t tenant, user, release, dev[3];
};

static void setup(struct fixture *f, const char *name)
{
    otter_err err;
    f->s = otter_test_store_fresh(name);
    assert_otter_ok(otter_store_tenant_create(f->s, "acme", 1, &f->tenant, &err), err);
    assert_otter_ok(otter_store_user_create(f->s, "carol", "$y$h", 0, 1, &f->user, &err), err);
    otter_release r = {.tenant_id = f->tenant, .size = 1, .meta = "{}"};
    snprintf(r.product, sizeof r.product, "gw");
    snprintf(r.version, sizeof r.version, "2.0");
    snprintf(r.kind, sizeof r.kind, "otter");
    snprintf(r.filename, sizeof r.filename, "gw.zip");
    memset(r.sha256, 'a', 64);
    memset(r.sha1, 'b', 40);
    memset(r.md5, 'c', 32);
    assert_otter_ok(otter_store_release_create(f->s, &r, f->user, 2, &f->release, &err), err);
    for (int i = 0; i < 3; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "d%d", i);
        assert_otter_ok(otter_store_device_create(f->s, f->tenant, cid, "gw-a", NULL, NULL, 3,
                                                  &f->dev[i], &err),
                        err);
    }
}

static void test_approvals(void **state)
{
    struct fixture f;
    otter_err err;
    otter_approval a;
    int found = -1;
    setup(&f, "rollout_approvals");
    assert_otter_ok(otter_store_approval_get(f.s, f.release, &a, &found, &err), err);
    assert_false(found); /* pending */
    otter_approval set = {.release_id = f.release, .decided_by = f.user, .decided_at = 10};
    snprintf(set.state, sizeof set.state, "approved");
    snprintf(set.decided_by_name, sizeof set.decided_by_name, "carol");
    snprintf(set.comment, sizeof set.comment, "lab ok ' ; --");
    assert_otter_ok(otter_store_approval_set(f.s, &set, &err), err);
    snprintf(set.state, sizeof set.state, "revoked");
    set.decided_at = 11;
    assert_otter_ok(otter_store_approval_set(f.s, &set, &err), err); /* replaces */
    assert_otter_ok(otter_store_approval_get(f.s, f.release, &a, &found, &err), err);
    assert_true(found);
    assert_string_equal(a.state, "revoked");
    assert_int_equal(a.decided_at, 11);
    assert_int_equal(a.decided_by, f.user);
    assert_string_equal(a.comment, "lab ok ' ; --");
    snprintf(set.state, sizeof set.state, "maybe");
    assert_otter_error(otter_store_approval_set(f.s, &set, &err), err, OTTER_ESTATE, "refused");
    /* The decider's name outlives the account. */
    assert_otter_ok(otter_store_user_delete(f.s, f.user, &found, &err), err);
    assert_otter_ok(otter_store_approval_get(f.s, f.release, &a, &found, &err), err);
    assert_int_equal(a.decided_by, 0);
    assert_string_equal(a.decided_by_name, "carol");
    otter_store_free(f.s);
}

static int take_rollout(void *ctx, const otter_rollout *r)
{
    otter_rollout *out = ctx;
    if (out->id == 0)
        *out = *r; /* the newest only */
    out->devices++;
    return 0;
}

struct counts {
    int64_t scheduled, running, canceling, canceled;
};

static int add_count(void *ctx, const otter_rollout_count *c)
{
    struct counts *n = ctx;
    if (strcmp(c->status, "scheduled") == 0)
        n->scheduled += c->count;
    else if (strcmp(c->status, "running") == 0)
        n->running += c->count;
    else if (strcmp(c->status, "canceling") == 0)
        n->canceling += c->count;
    else if (strcmp(c->status, "canceled") == 0)
        n->canceled += c->count;
    return 0;
}

static void test_rollouts(void **state)
{
    struct fixture f;
    otter_err err;
    int found;
    int64_t ro, ro2, act[3];
    setup(&f, "rollout_rollouts");
    otter_rollout r = {
        .tenant_id = f.tenant, .release_id = f.release, .created_by = f.user, .n_stages = 2};
    snprintf(r.name, sizeof r.name, "wave-1");
    snprintf(r.filter, sizeof r.filter, "{\"model\":\"gw-a\"}");
    snprintf(r.created_by_name, sizeof r.created_by_name, "carol");
    r.stages[0] = (otter_rollout_stage){.percent = 10, .success_threshold = 90};
    r.stages[1] = (otter_rollout_stage){
        .percent = 100, .success_threshold = 95, .failure_threshold = 5, .min_devices = 7};
    assert_otter_ok(otter_store_rollout_create(f.s, &r, 20, &ro, &err), err);
    assert_otter_error(otter_store_rollout_create(f.s, &r, 20, &ro2, &err), err, OTTER_ESTATE,
                       "exists");
    r.n_stages = 0;
    assert_otter_error(otter_store_rollout_create(f.s, &r, 20, &ro2, &err), err, OTTER_EUSAGE,
                       "stages");
    r.n_stages = 1;
    snprintf(r.name, sizeof r.name, "wave-2");
    assert_otter_ok(otter_store_rollout_create(f.s, &r, 21, &ro2, &err), err);

    otter_rollout *got = calloc(1, sizeof *got);
    assert_otter_ok(otter_store_rollout_list(f.s, f.tenant, 0, 0, take_rollout, got, &err), err);
    assert_int_equal(got->devices, 2); /* counted by take_rollout */
    assert_int_equal(got->id, ro2);    /* newest first */
    memset(got, 0, sizeof *got);
    assert_otter_ok(otter_store_rollout_list(f.s, 0, ro, 0, take_rollout, got, &err), err);
    assert_int_equal(got->id, ro);
    assert_string_equal(got->state, "draft");
    assert_string_equal(got->download, "forced");
    assert_string_equal(got->maintenance, "");
    assert_string_equal(got->filter, "{\"model\":\"gw-a\"}");
    assert_string_equal(got->created_by_name, "carol");
    assert_int_equal(got->n_stages, 2);
    assert_int_equal(got->stages[1].percent, 100);
    assert_int_equal(got->stages[1].failure_threshold, 5);
    assert_int_equal(got->stages[1].min_devices, 7);

    /* Actions in stages 0, 1, 1: only stage 0 is offered once the rollout runs. */
    for (int i = 0; i < 3; i++) {
        otter_action a = {.tenant_id = f.tenant,
                          .device_id = f.dev[i],
                          .release_id = f.release,
                          .rollout_id = ro,
                          .stage = i ? 1 : 0};
        assert_otter_ok(otter_store_action_create(f.s, &a, f.user, 30, &act[i], &err), err);
    }
    otter_action a;
    assert_otter_ok(otter_store_action_open(f.s, f.dev[0], &a, &found, &err), err);
    assert_false(found); /* draft: nothing offered */
    assert_otter_ok(otter_store_action_pending(f.s, f.dev[0], &a, &found, &err), err);
    assert_true(found && a.id == act[0] && a.rollout_id == ro);
    snprintf(got->state, sizeof got->state, "running");
    got->devices = 3;
    assert_otter_ok(otter_store_rollout_update(f.s, got, 40, &err), err);
    assert_otter_ok(otter_store_action_open(f.s, f.dev[0], &a, &found, &err), err);
    assert_true(found && a.id == act[0]);
    assert_otter_ok(otter_store_action_open(f.s, f.dev[1], &a, &found, &err), err);
    assert_false(found); /* stage 1 not reached */
    got->current_stage = 1;
    assert_otter_ok(otter_store_rollout_update(f.s, got, 41, &err), err);
    assert_otter_ok(otter_store_action_open(f.s, f.dev[1], &a, &found, &err), err);
    assert_true(found && a.id == act[1] && a.stage == 1);

    /* A started action stays offered even when its rollout pauses. */
    assert_otter_ok(otter_store_action_set_status(f.s, act[1], "running", "none", 42, &err), err);
    snprintf(got->state, sizeof got->state, "paused");
    snprintf(got->pause_reason, sizeof got->pause_reason, "failures above 5%%");
    assert_otter_ok(otter_store_rollout_update(f.s, got, 43, &err), err);
    assert_otter_ok(otter_store_action_open(f.s, f.dev[1], &a, &found, &err), err);
    assert_true(found && a.id == act[1]);
    assert_otter_ok(otter_store_action_open(f.s, f.dev[2], &a, &found, &err), err);
    assert_false(found);

    struct counts n = {0};
    assert_otter_ok(otter_store_rollout_counts(f.s, ro, add_count, &n, &err), err);
    assert_int_equal(n.scheduled, 2);
    assert_int_equal(n.running, 1);
    assert_otter_ok(otter_store_rollout_cancel_actions(f.s, ro, 50, &err), err);
    memset(&n, 0, sizeof n);
    assert_otter_ok(otter_store_rollout_counts(f.s, ro, add_count, &n, &err), err);
    assert_int_equal(n.canceled, 2);
    assert_int_equal(n.canceling, 1);
    memset(got, 0, sizeof *got);
    assert_otter_ok(otter_store_rollout_list(f.s, f.tenant, ro, 0, take_rollout, got, &err), err);
    assert_string_equal(got->state, "paused");
    assert_string_equal(got->pause_reason, "failures above 5%");
    assert_int_equal(got->updated_at, 43);
    free(got);

    /* Event-stream tickets are a third kind of token. */
    otter_token t = {
        .user_id = f.user, .kind = OTTER_TOKEN_TICKET, .created_at = 1, .expires_at = 100};
    otter_token tg;
    int64_t tid;
    assert_otter_ok(otter_store_token_create(f.s, &t, "tt", &tid, &err), err);
    assert_otter_ok(otter_store_token_find(f.s, "tt", &tg, &found, &err), err);
    assert_true(found && tg.kind == OTTER_TOKEN_TICKET);
    otter_store_free(f.s);
}

/*
 * An approval that ends withdraws the release's direct deployments that no
 * device started; started ones and a rollout's actions (held back by its
 * pause) stay.
 */
static void test_withdraw(void **state)
{
    struct fixture f;
    otter_err err;
    int found;
    int64_t ro, act[4], n = -1;
    setup(&f, "rollout_withdraw");
    otter_rollout r = {
        .tenant_id = f.tenant, .release_id = f.release, .created_by = f.user, .n_stages = 1};
    snprintf(r.name, sizeof r.name, "wave");
    snprintf(r.filter, sizeof r.filter, "{}");
    r.stages[0] = (otter_rollout_stage){.percent = 100};
    assert_otter_ok(otter_store_rollout_create(f.s, &r, 20, &ro, &err), err);
    /* Direct on d0 (scheduled) and d1 (started); d2 in the rollout; a second direct on d0. */
    otter_action a[4] = {
        {.tenant_id = f.tenant, .device_id = f.dev[0], .release_id = f.release},
        {.tenant_id = f.tenant, .device_id = f.dev[1], .release_id = f.release},
        {.tenant_id = f.tenant, .device_id = f.dev[2], .release_id = f.release, .rollout_id = ro},
        {.tenant_id = f.tenant, .device_id = f.dev[0], .release_id = f.release},
    };
    for (int i = 0; i < 4; i++)
        assert_otter_ok(otter_store_action_create(f.s, &a[i], f.user, 30, &act[i], &err), err);
    assert_otter_ok(otter_store_action_set_status(f.s, act[1], "running", "none", 31, &err), err);
    assert_otter_ok(otter_store_release_withdraw_actions(f.s, f.release, 40, &n, &err), err);
    assert_int_equal(n, 2);
    static const char *const want[4] = {"canceled", "running", "scheduled", "canceled"};
    for (int i = 0; i < 4; i++) {
        otter_action got;
        assert_otter_ok(otter_store_action_get(f.s, act[i], &got, &found, &err), err);
        assert_true(found);
        assert_string_equal(got.status, want[i]);
    }
    otter_action open;
    assert_otter_ok(otter_store_action_open(f.s, f.dev[0], &open, &found, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_release_withdraw_actions(f.s, f.release, 41, &n, &err), err);
    assert_int_equal(n, 0);
    otter_store_free(f.s);
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approvals),
        cmocka_unit_test(test_rollouts),
        cmocka_unit_test(test_withdraw),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
