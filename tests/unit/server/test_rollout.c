/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rollout rules against a real store (SQLite, and PostgreSQL as
 * test_server_rollout_pg; see store_test.h): targeting by filter, exact
 * stage shares, the held-back offer of waiting stages, and the automatic
 * advance, pause (with min_devices and accepted failures) and finish; the
 * rollout store contract (approvals, rollouts, counts, cancel); and the
 * strict request body.
 */
#include "otter_test.h"
#include "otter_rollout.h"
#include "otter_store.h"
#include "store_test.h"

static otter_store *open_fresh(const char *name, int64_t *tenant, int64_t *release)
{
    otter_err err;
    otter_store *s = otter_test_store_fresh(name);
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, tenant, &err), err);
    otter_release r = {.tenant_id = *tenant, .kind = "other", .size = 1};
    snprintf(r.product, sizeof r.product, "gw");
    snprintf(r.version, sizeof r.version, "2.0");
    snprintf(r.filename, sizeof r.filename, "fw.bin");
    memset(r.sha256, 'a', 64);
    memset(r.sha1, 'b', 40);
    memset(r.md5, 'c', 32);
    assert_otter_ok(otter_store_release_create(s, &r, 0, 1, release, &err), err);
    return s;
}

static void add_devices(otter_store *s, int64_t tenant, int n, const char *model)
{
    otter_err err;
    for (int i = 0; i < n; i++) {
        char cid[32];
        int64_t id;
        snprintf(cid, sizeof cid, "%s-%03d", model, i);
        assert_otter_ok(otter_store_device_create(s, tenant, cid, model, NULL, NULL, 1, &id, &err),
                        err);
    }
}

static int64_t make_rollout(otter_store *s, int64_t tenant, int64_t release, const char *filter,
                            const otter_rollout_stage *stages, size_t n, otter_rollout *r)
{
    otter_err err;
    int64_t id;
    int found = 0;
    memset(r, 0, sizeof *r);
    r->tenant_id = tenant;
    r->release_id = release;
    snprintf(r->name, sizeof r->name, "r%p", (void *)stages);
    snprintf(r->filter, sizeof r->filter, "%s", filter);
    r->n_stages = n;
    memcpy(r->stages, stages, n * sizeof *stages);
    assert_otter_ok(otter_store_rollout_create(s, r, 5, &id, &err), err);
    assert_otter_ok(otter_rollout_load(s, tenant, id, r, &found, &err), err);
    assert_true(found);
    /* Start as the API does: plan with actions, then running. */
    otter_rollout_plan plan;
    json_t *f = json_loads(filter, 0, NULL);
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_rollout_plan_make(s, r, f, "2.0", 1, 0, 6, &plan, &err), err);
    json_decref(f);
    r->devices = plan.devices;
    snprintf(r->state, sizeof r->state, "running");
    assert_otter_ok(otter_store_rollout_update(s, r, 6, &err), err);
    assert_otter_ok(otter_store_commit(s, &err), err);
    return id;
}

/* Closes up to n open actions of stage `stage` with result; returns how many. */
struct closer {
    otter_store *s;
    int64_t rollout, stage;
    const char *result;
    int left, done;
};

static int close_some(void *ctx, const otter_device *d)
{
    struct closer *c = ctx;
    otter_err err;
    otter_action a;
    int found = 0;
    if (c->left == 0)
        return 0;
    assert_otter_ok(otter_store_action_pending(c->s, d->id, &a, &found, &err), err);
    if (!found || a.rollout_id != c->rollout || a.stage != c->stage)
        return 0;
    int ok = strcmp(c->result, "success") == 0;
    assert_otter_ok(
        otter_store_action_set_status(c->s, a.id, ok ? "finished" : "error", c->result, 7, &err),
        err);
    c->left--;
    c->done++;
    return 0;
}

static int close_stage(otter_store *s, int64_t tenant, int64_t rollout, int64_t stage,
                       const char *result, int n)
{
    otter_err err;
    struct closer c = {s, rollout, stage, result, n, 0};
    otter_device_filter f = {.tenant_id = tenant, .limit = 1000};
    assert_otter_ok(otter_store_device_list(s, &f, close_some, &c, &err), err);
    return c.done;
}

static void evaluate(otter_store *s, otter_rollout *r)
{
    otter_err err;
    int changed = 0;
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_rollout_evaluate(s, r, 8, &changed, &err), err);
    assert_otter_ok(otter_store_commit(s, &err), err);
}

static void test_bucket(void **state)
{
    /* Deterministic, in range, and spread: 10,000 ids fill the deciles evenly. */
    int decile[10] = {0};
    assert_int_equal(otter_rollout_bucket(7, "gw-001"), otter_rollout_bucket(7, "gw-001"));
    assert_int_not_equal(otter_rollout_bucket(7, "gw-001"), otter_rollout_bucket(8, "gw-001"));
    for (int i = 0; i < 10000; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "d%d", i);
        uint32_t b = otter_rollout_bucket(42, cid);
        assert_true(b < OTTER_ROLLOUT_BUCKETS);
        decile[b / 1000]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(decile[i] > 850 && decile[i] < 1150);
}

static void test_targets_and_shares(void **state)
{
    int64_t t, rel;
    otter_err err;
    otter_rollout r;
    otter_rollout_stats st;
    otter_store *s = open_fresh("rollout_targets", &t, &rel);
    add_devices(s, t, 200, "gw");
    add_devices(s, t, 30, "cam");
    otter_rollout_stage stages[] = {{10, 100, 0, 0}, {35, 100, 0, 0}, {100, 100, 0, 0}};
    int64_t id = make_rollout(s, t, rel, "{\"models\":[\"gw\"]}", stages, 3, &r);
    assert_int_equal(r.devices, 200);
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    assert_int_equal(st.stage[0].devices, 20);
    assert_int_equal(st.stage[1].devices, 50);
    assert_int_equal(st.stage[2].devices, 130);
    assert_int_equal(st.stage[0].scheduled, 20);
    assert_int_equal(st.total.waiting, 180);
    /* The next stage's devices are not offered yet; the first stage's are. */
    otter_device d;
    otter_action a;
    int found = 0, offered = 0;
    for (int i = 0; i < 200; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "gw-%03d", i);
        assert_otter_ok(otter_store_device_get(s, t, cid, &d, &found, &err), err);
        assert_otter_ok(otter_store_action_open(s, d.id, &a, &found, &err), err);
        offered += found;
        assert_otter_ok(otter_store_action_pending(s, d.id, &a, &found, &err), err);
        assert_true(found && a.rollout_id == id);
    }
    assert_int_equal(offered, 20);
    /* "versions" takes the device's own report (configData) first. */
    json_t *f = json_loads("{\"versions\":[\"1.7\"]}", 0, NULL);
    assert_otter_ok(otter_store_device_get(s, t, "cam-001", &d, &found, &err), err);
    assert_false(otter_rollout_filter_match(f, &d));
    snprintf(d.attributes, sizeof d.attributes, "{\"version\":\"1.7\"}");
    assert_true(otter_rollout_filter_match(f, &d));
    snprintf(d.version, sizeof d.version, "1.6");
    assert_true(otter_rollout_filter_match(f, &d));
    snprintf(d.attributes, sizeof d.attributes, "{}");
    assert_false(otter_rollout_filter_match(f, &d));
    json_decref(f);
    /* "products": the device's report first, else its installed release's product. */
    f = json_loads("{\"products\":[\"gw\"]}", 0, NULL);
    assert_otter_ok(otter_store_device_get(s, t, "cam-002", &d, &found, &err), err);
    assert_string_equal(d.product, "");
    assert_false(otter_rollout_filter_match(f, &d));
    otter_action direct = {.tenant_id = t, .device_id = d.id, .release_id = rel};
    int64_t aid;
    assert_otter_ok(otter_store_action_create(s, &direct, 0, 20, &aid, &err), err);
    assert_otter_ok(otter_store_action_set_status(s, aid, "finished", "success", 21, &err), err);
    assert_otter_ok(otter_store_device_get(s, t, "cam-002", &d, &found, &err), err);
    assert_string_equal(d.product, "gw"); /* the installed release's (store, both engines) */
    assert_true(otter_rollout_filter_match(f, &d));
    snprintf(d.attributes, sizeof d.attributes, "{\"product\":\"cam\"}");
    assert_false(otter_rollout_filter_match(f, &d));
    json_decref(f);
    f = json_loads("{\"products\":[\"cam\",\"x\"],\"models\":[\"cam\"]}", 0, NULL);
    assert_true(otter_rollout_filter_match(f, &d));
    json_decref(f);
    otter_store_free(s);
}

static void test_advance_pause_finish(void **state)
{
    int64_t t, rel;
    otter_err err;
    otter_rollout r;
    otter_store *s = open_fresh("rollout_rules", &t, &rel);
    add_devices(s, t, 100, "gw");
    /* Stage 1: judged on 5 devices, 80 % to pass, 40 % failures pause. */
    otter_rollout_stage stages[] = {{20, 80, 40, 5}, {100, 100, 10, 0}};
    int64_t id = make_rollout(s, t, rel, "{}", stages, 2, &r);
    assert_int_equal(close_stage(s, t, id, 0, "success", 4), 4);
    evaluate(s, &r);
    assert_string_equal(r.state, "running");
    assert_int_equal(r.current_stage, 0); /* 4 judged < 5 */
    assert_int_equal(close_stage(s, t, id, 0, "failure", 1), 1);
    evaluate(s, &r);
    assert_int_equal(r.current_stage, 1); /* 4 of 5 = 80 %: advance, 1 of 5 < 40 % */
    /* Stage 2 (80 devices), 10 % pause: the 8th failure pauses. */
    assert_int_equal(close_stage(s, t, id, 1, "failure", 7), 7);
    evaluate(s, &r);
    assert_string_equal(r.state, "running");
    assert_int_equal(close_stage(s, t, id, 1, "failure", 1), 1);
    evaluate(s, &r);
    assert_string_equal(r.state, "paused");
    assert_non_null(strstr(r.pause_reason, "stage 2"));
    /* Resuming accepts the failures so far: no pause until a new one. */
    otter_rollout_stats st;
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    snprintf(r.state, sizeof r.state, "running");
    r.accepted_failures = st.total.failure;
    assert_otter_ok(otter_store_rollout_update(s, &r, 9, &err), err);
    assert_int_equal(close_stage(s, t, id, 1, "success", 10), 10);
    evaluate(s, &r);
    assert_string_equal(r.state, "running");
    assert_int_equal(close_stage(s, t, id, 1, "failure", 1), 1);
    evaluate(s, &r);
    assert_string_equal(r.state, "paused");
    /* Everyone done: the last stage finishes the rollout. */
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    snprintf(r.state, sizeof r.state, "running");
    r.accepted_failures = st.total.failure;
    assert_otter_ok(otter_store_rollout_update(s, &r, 9, &err), err);
    close_stage(s, t, id, 0, "success", 100);
    close_stage(s, t, id, 1, "success", 100);
    evaluate(s, &r);
    assert_string_equal(r.state, "finished");
    otter_store_free(s);
}

static void test_store_contract(void **state)
{
    int64_t t, rel;
    otter_err err;
    otter_rollout r;
    otter_approval a;
    int found = 1;
    otter_store *s = open_fresh("rollout_store", &t, &rel);
    assert_otter_ok(otter_store_approval_get(s, rel, &a, &found, &err), err);
    assert_false(found);
    otter_approval set = {.release_id = rel, .state = "approved", .decided_at = 3};
    snprintf(set.decided_by_name, sizeof set.decided_by_name, "ap'); DROP TABLE users;--");
    snprintf(set.comment, sizeof set.comment, "ok\nfine");
    assert_otter_ok(otter_store_approval_set(s, &set, &err), err);
    snprintf(set.state, sizeof set.state, "revoked");
    assert_otter_ok(otter_store_approval_set(s, &set, &err), err);
    assert_otter_ok(otter_store_approval_get(s, rel, &a, &found, &err), err);
    assert_true(found);
    assert_string_equal(a.state, "revoked");
    assert_string_equal(a.decided_by_name, "ap'); DROP TABLE users;--");
    assert_string_equal(a.comment, "ok\nfine");
    add_devices(s, t, 10, "gw");
    otter_rollout_stage stages[] = {{50, 100, 0, 0}, {100, 100, 0, 0}};
    int64_t id = make_rollout(s, t, rel, "{}", stages, 2, &r);
    assert_int_equal(r.n_stages, 2);
    assert_int_equal(r.stages[0].percent, 50);
    otter_rollout dup = r;
    int64_t other;
    assert_otter_error(otter_store_rollout_create(s, &dup, 5, &other, &err), err, OTTER_ESTATE, "");
    close_stage(s, t, id, 0, "success", 1);
    assert_otter_ok(otter_store_rollout_cancel_actions(s, id, 10, &err), err);
    otter_rollout_stats st;
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    assert_int_equal(st.total.success, 1);
    assert_int_equal(st.total.canceled, 9);
    otter_store_free(s);
}

/* The failed actions of one rollout, found device by device. */
struct failed_walk {
    otter_store *s;
    int64_t rollout;
    otter_action found[16];
    int n;
};

static int failed_action(void *ctx, const otter_action *a)
{
    struct failed_walk *w = ctx;
    if (a->rollout_id == w->rollout && strcmp(a->result, "failure") == 0 && w->n < 16)
        w->found[w->n++] = *a;
    return 0;
}

static int failed_device(void *ctx, const otter_device *d)
{
    struct failed_walk *w = ctx;
    otter_err err;
    assert_otter_ok(otter_store_action_list_device(w->s, d->id, failed_action, w, &err), err);
    return 0;
}

static int64_t retry(otter_store *s, int64_t rollout, int64_t up_to_stage)
{
    otter_err err;
    int64_t n = -1;
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_store_rollout_retry_failed(s, rollout, up_to_stage, 0, 11, &n, &err),
                    err);
    assert_otter_ok(otter_store_commit(s, &err), err);
    return n;
}

/*
 * Retrying a rollout's failed devices: each gets a new scheduled action in
 * its stage, the failed one points at it and leaves the counts; a device
 * with another open action is left alone until that one closes; stages not
 * reached are not touched; a second retry finds nothing new.
 */
static void test_retry_failed(void **state)
{
    int64_t t, rel;
    otter_err err;
    otter_rollout r;
    otter_store *s = open_fresh("rollout_retry", &t, &rel);
    add_devices(s, t, 20, "gw");
    otter_rollout_stage stages[] = {{50, 100, 0, 0}, {100, 100, 0, 0}};
    int64_t id = make_rollout(s, t, rel, "{}", stages, 2, &r);
    assert_int_equal(close_stage(s, t, id, 0, "failure", 3), 3);
    assert_int_equal(close_stage(s, t, id, 0, "success", 1), 1);
    struct failed_walk w = {.s = s, .rollout = id};
    otter_device_filter f = {.tenant_id = t, .limit = 1000};
    assert_otter_ok(otter_store_device_list(s, &f, failed_device, &w, &err), err);
    assert_int_equal(w.n, 3);
    /* The first failed device got another update directly meanwhile. */
    otter_action direct = {.tenant_id = t, .device_id = w.found[0].device_id, .release_id = rel};
    int64_t direct_id;
    assert_otter_ok(otter_store_action_create(s, &direct, 0, 10, &direct_id, &err), err);

    assert_int_equal(retry(s, id, 0), 2);
    otter_rollout_stats st;
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    assert_int_equal(st.stage[0].devices, 10);
    assert_int_equal(st.stage[0].failure, 1);
    assert_int_equal(st.stage[0].success, 1);
    assert_int_equal(st.stage[0].scheduled, 8);
    assert_int_equal(st.stage[1].devices, 10);
    for (int i = 1; i < 3; i++) {
        otter_action old, now;
        int found = 0;
        assert_otter_ok(otter_store_action_get(s, w.found[i].id, &old, &found, &err), err);
        assert_true(found);
        assert_string_equal(old.result, "failure"); /* history kept */
        assert_otter_ok(otter_store_action_pending(s, w.found[i].device_id, &now, &found, &err),
                        err);
        assert_true(found);
        assert_int_equal(old.superseded_by, now.id);
        assert_true(now.id > direct_id);
        assert_int_equal(now.rollout_id, id);
        assert_int_equal(now.stage, 0);
        assert_string_equal(now.status, "scheduled");
        assert_string_equal(now.result, "none");
        assert_int_equal(now.superseded_by, 0);
    }
    assert_int_equal(retry(s, id, 0), 0); /* nothing new; the blocked device still is */
    /* Its direct update done, the blocked device is retried too. */
    assert_otter_ok(otter_store_action_set_status(s, direct_id, "finished", "success", 12, &err),
                    err);
    assert_int_equal(retry(s, id, 0), 1);
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    assert_int_equal(st.total.failure, 0);
    assert_int_equal(st.stage[0].scheduled, 9);
    assert_int_equal(st.total.devices, 20);
    /* The retried devices can fail again and be retried again. */
    assert_int_equal(close_stage(s, t, id, 0, "failure", 2), 2);
    assert_int_equal(retry(s, id, 0), 2);
    assert_otter_ok(otter_rollout_stats_get(s, &r, &st, &err), err);
    assert_int_equal(st.total.failure, 0);
    assert_int_equal(st.total.devices, 20);
    otter_store_free(s);
}

static void test_request_parse(void **state)
{
    static otter_rollout r;
    json_t *f = NULL;
    char where[OTTER_ROLLOUT_WHERE_MAX];
    otter_err err;
    const char *good = "{\"name\":\"w1\",\"release\":3,\"filter\":{\"models\":[\"a\"],"
                       "\"attributes\":{\"region\":\"eu\"}},\"stages\":[{\"percent\":5},"
                       "{\"percent\":100,\"success_threshold\":90,\"failure_threshold\":5,"
                       "\"min_devices\":20}],\"maintenance_window\":\"unavailable\"}";
    assert_otter_ok(otter_rollout_request_parse(good, strlen(good), 16, &r, &f, where, &err), err);
    assert_string_equal(r.name, "w1");
    assert_int_equal(r.n_stages, 2);
    assert_int_equal(r.stages[1].min_devices, 20);
    assert_string_equal(r.download, "forced");
    assert_string_equal(r.maintenance, "unavailable");
    assert_string_equal(r.filter, "{\"attributes\":{\"region\":\"eu\"},\"models\":[\"a\"]}");
    json_decref(f);
    static const struct {
        const char *body, *where, *msg;
    } bad[] = {
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":0}]}", "body.stages[0]",
         "percent"},
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":60},{\"percent\":60}]}",
         "body.stages[1].percent", "must grow"},
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":50,\"x\":1}]}", "body.stages[0]",
         "x"},
        {"{\"name\":\"w w\",\"release\":1,\"stages\":[{\"percent\":50}]}", "body.name", "1..64"},
        {"{\"name\":\"w\",\"release\":0,\"stages\":[{\"percent\":50}]}", "body.release", "release"},
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":50}],\"update\":\"now\"}",
         "body.update", "skip, attempt or forced"},
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":50}],\"filter\":{\"groups\":[]}}",
         "body.filter", "groups"},
        {"{\"name\":\"w\",\"release\":1,\"stages\":[{\"percent\":50}],\"extra\":true}", "body",
         "extra"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "body", "deeper"},
        {"{\"name\":\"w\",\"name\":\"v\",\"release\":1,\"stages\":[{\"percent\":5}]}", "body",
         "duplicate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ret =
            otter_rollout_request_parse(bad[i].body, strlen(bad[i].body), 16, &r, &f, where, &err);
        if (ret != OTTER_EFORMAT || strcmp(where, bad[i].where) != 0 ||
            !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: ret %d where '%s' msg '%s'", i, ret, where, err.msg);
        assert_null(f);
    }
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_targets_and_shares),
        cmocka_unit_test(test_advance_pause_finish),
        cmocka_unit_test(test_store_contract),
        cmocka_unit_test(test_retry_failed),
        cmocka_unit_test(test_request_parse),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
