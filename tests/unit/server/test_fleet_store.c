/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store contract of the fleet: devices, groups, gateway tokens, releases,
 * actions and feedback, on SQLite and on PostgreSQL (see store_test.h).
 */
#include "otter_test.h"
#include "otter_store.h"
#include "store_test.h"

static otter_store *open_fresh(const char *name, int64_t *tenant)
{
    otter_err err;
    otter_store *s = otter_test_store_fresh(name);
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, tenant, &err), err);
    return s;
}

static int count_device(void *ctx, const otter_device *d)
{
    (*(int *)ctx)++;
    return 0;
}

static int list_count(otter_store *s, otter_device_filter *f)
{
    otter_err err;
    int n = 0;
    assert_otter_ok(otter_store_device_list(s, f, count_device, &n, &err), err);
    return n;
}

static void test_devices(void **state)
{
    int64_t t, d1, d2, d3, other, g;
    otter_err err;
    otter_store *s = open_fresh("fleet_devices", &t);
    assert_otter_ok(otter_store_tenant_create(s, "other", 1, &other, &err), err);
    assert_otter_ok(otter_store_device_create(s, t, "d1", "gw-a", "lab", "aa", 10, &d1, &err), err);
    assert_otter_ok(otter_store_device_create(s, t, "d2", "gw-b", NULL, "bb", 10, &d2, &err), err);
    assert_otter_ok(otter_store_device_create(s, t, "x'--", NULL, NULL, NULL, 10, &d3, &err), err);
    assert_otter_error(otter_store_device_create(s, t, "d1", "gw-a", NULL, "cc", 10, &d3, &err),
                       err, OTTER_ESTATE, "already exists");
    /* The same controller id in another tenant is another device. */
    assert_otter_ok(otter_store_device_create(s, other, "d1", "gw-a", NULL, NULL, 10, &d3, &err),
                    err);
    otter_device dev;
    int found = 0;
    assert_otter_ok(otter_store_device_find_token(s, "bb", &dev, &found, &err), err);
    assert_true(found);
    assert_string_equal(dev.controller_id, "d2");
    assert_string_equal(dev.name, "");
    assert_otter_ok(otter_store_device_find_token(s, "zz", &dev, &found, &err), err);
    assert_false(found);

    assert_otter_ok(otter_store_device_set_attributes(s, d1, "{\"hw\":\"r2\"}", &err), err);
    assert_otter_ok(otter_store_device_seen(s, d1, 500, &err), err);
    assert_otter_ok(otter_store_device_get(s, t, "d1", &dev, &found, &err), err);
    assert_true(found && dev.config_sent && dev.last_seen == 500);
    assert_string_equal(dev.attributes, "{\"hw\":\"r2\"}");

    assert_otter_ok(otter_store_group_create(s, t, "lab", &g, &err), err);
    assert_otter_ok(otter_store_group_add(s, g, d1, &err), err);
    assert_otter_ok(otter_store_group_add(s, g, d1, &err), err); /* no-op */

    otter_device_filter f = {.tenant_id = t, .limit = 100};
    assert_int_equal(list_count(s, &f), 3);
    f.model = "gw-b";
    assert_int_equal(list_count(s, &f), 1);
    f.model = NULL;
    f.group = "lab";
    assert_int_equal(list_count(s, &f), 1);
    f.group = "lab' OR '1'='1";
    assert_int_equal(list_count(s, &f), 0);
    f.group = NULL;
    f.attr_key = "hw";
    f.attr_value = "r2";
    assert_int_equal(list_count(s, &f), 1);
    f.attr_key = f.attr_value = NULL;
    f.seen_after = 400;
    assert_int_equal(list_count(s, &f), 1);
    f.seen_after = 0;
    f.seen_before = 400; /* never seen counts as before */
    assert_int_equal(list_count(s, &f), 2);
    f.seen_before = 0;
    f.limit = 2;
    assert_int_equal(list_count(s, &f), 2);
    f.after_id = d2;
    assert_int_equal(list_count(s, &f), 1);
    f.limit = 0;
    assert_otter_error(otter_store_device_list(s, &f, count_device, &found, &err), err,
                       OTTER_EUSAGE, "limit");

    otter_group gr;
    assert_otter_ok(otter_store_group_get(s, t, "lab", &gr, &found, &err), err);
    assert_true(found);
    assert_int_equal(gr.members, 1);
    assert_otter_ok(otter_store_group_remove(s, g, d1, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_group_remove(s, g, d1, &found, &err), err);
    assert_false(found);

    int ok = -1;
    assert_otter_ok(otter_store_tenant_check_gateway(s, t, "gg", &ok, &err), err);
    assert_false(ok);
    assert_otter_ok(otter_store_tenant_set_gateway(s, t, "gg", &err), err);
    assert_otter_ok(otter_store_tenant_check_gateway(s, t, "gg", &ok, &err), err);
    assert_true(ok);
    assert_otter_ok(otter_store_tenant_check_gateway(s, other, "gg", &ok, &err), err);
    assert_false(ok);

    assert_otter_ok(otter_store_device_delete(s, d2, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_device_get(s, t, "d2", &dev, &found, &err), err);
    assert_false(found);
    otter_store_free(s);
}

static int take_release(void *ctx, const otter_release *r)
{
    otter_release *out = ctx;
    *out = *r;
    assert_non_null(r->meta);
    out->meta = out->manifest = NULL;
    return 0;
}

static void test_releases_and_actions(void **state)
{
    int64_t t, d, r1, r2, a1, a2;
    otter_err err;
    int found = 0, unused = 0;
    otter_store *s = open_fresh("fleet_releases", &t);
    assert_otter_ok(otter_store_device_create(s, t, "d1", "gw-a", NULL, "aa", 10, &d, &err), err);
    otter_release r = {.tenant_id = t, .security_version = 3, .size = 10};
    snprintf(r.product, sizeof r.product, "gw");
    snprintf(r.version, sizeof r.version, "1.0");
    snprintf(r.kind, sizeof r.kind, "otter");
    snprintf(r.filename, sizeof r.filename, "gw-1.0.zip");
    memset(r.sha256, 'a', 64);
    memset(r.sha1, 'b', 40);
    memset(r.md5, 'c', 32);
    r.meta = "{\"compatible\":[\"gw-a\"]}";
    assert_otter_ok(otter_store_release_create(s, &r, 0, 20, &r1, &err), err);
    assert_otter_error(otter_store_release_create(s, &r, 0, 20, &r2, &err), err, OTTER_ESTATE,
                       "exists");
    snprintf(r.version, sizeof r.version, "1.1"); /* same content, another release */
    assert_otter_ok(otter_store_release_create(s, &r, 0, 20, &r2, &err), err);
    otter_release got = {0};
    assert_otter_ok(otter_store_release_list(s, t, r1, take_release, &got, &err), err);
    assert_int_equal(got.id, r1);
    assert_string_equal(got.sha1, r.sha1);
    assert_int_equal(got.security_version, 3);

    otter_action a = {.tenant_id = t, .device_id = d, .release_id = r1};
    assert_otter_ok(otter_store_action_create(s, &a, 0, 30, &a1, &err), err);
    a.release_id = r2;
    snprintf(a.maintenance, sizeof a.maintenance, "available");
    assert_otter_ok(otter_store_action_create(s, &a, 0, 31, &a2, &err), err);
    otter_action got_a;
    assert_otter_ok(otter_store_action_open(s, d, &got_a, &found, &err), err);
    assert_true(found);
    assert_int_equal(got_a.id, a1); /* the oldest open action first */
    assert_string_equal(got_a.status, "scheduled");
    assert_string_equal(got_a.download, "forced");
    assert_int_equal(got_a.rollout_id, 0);

    assert_otter_error(otter_store_release_delete(s, r1, &found, &unused, &err), err, OTTER_ESTATE,
                       "used by");

    otter_feedback f = {.action_id = a1,
                        .at = 40,
                        .kind = "deployment",
                        .execution = "closed",
                        .finished = "success",
                        .progress_cnt = -1,
                        .progress_of = -1};
    int64_t n_feedback = -1;
    assert_otter_ok(otter_store_feedback_count(s, a1, &n_feedback, &err), err);
    assert_int_equal(n_feedback, 0);
    assert_otter_ok(otter_store_feedback_add(s, &f, &err), err);
    /* Counted per action ([ddi] max_feedback): a1's row, none of a2's. */
    assert_otter_ok(otter_store_feedback_count(s, a1, &n_feedback, &err), err);
    assert_int_equal(n_feedback, 1);
    assert_otter_ok(otter_store_feedback_count(s, a2, &n_feedback, &err), err);
    assert_int_equal(n_feedback, 0);
    assert_otter_ok(otter_store_action_set_status(s, a1, "finished", "success", 40, &err), err);
    assert_otter_ok(otter_store_action_get(s, a1, &got_a, &found, &err), err);
    assert_string_equal(got_a.last_execution, "closed");
    assert_string_equal(got_a.result, "success");
    assert_otter_ok(otter_store_action_installed(s, d, &got_a, &found, &err), err);
    assert_true(found && got_a.id == a1);
    otter_device dev;
    assert_otter_ok(otter_store_device_get(s, t, "d1", &dev, &found, &err), err);
    assert_string_equal(dev.version, "1.0");
    assert_otter_ok(otter_store_action_open(s, d, &got_a, &found, &err), err);
    assert_true(found && got_a.id == a2);
    assert_string_equal(got_a.maintenance, "available");
    assert_otter_ok(otter_store_action_set_maintenance(s, a2, "unavailable", 45, &err), err);
    assert_otter_ok(otter_store_action_get(s, a2, &got_a, &found, &err), err);
    assert_string_equal(got_a.maintenance, "unavailable");
    assert_int_equal(got_a.updated_at, 45);
    assert_otter_error(otter_store_action_set_maintenance(s, a2, "soon", 46, &err), err,
                       OTTER_ESTATE, "refused");
    assert_otter_ok(otter_store_action_set_maintenance(s, a2, "", 46, &err), err);
    assert_otter_ok(otter_store_action_get(s, a2, &got_a, &found, &err), err);
    assert_string_equal(got_a.maintenance, "");

    /* A bad status word is refused by the schema. */
    assert_otter_error(otter_store_action_set_status(s, a2, "exploded", "none", 50, &err), err,
                       OTTER_ESTATE, "refused");
    assert_otter_ok(otter_store_action_set_status(s, a2, "canceled", "none", 50, &err), err);
    assert_otter_ok(otter_store_device_delete(s, d, &found, &err), err);
    /* The actions went with the device; r2 shares r1's content. */
    assert_otter_ok(otter_store_release_delete(s, r2, &found, &unused, &err), err);
    assert_true(found);
    assert_false(unused);
    assert_otter_ok(otter_store_release_delete(s, r1, &found, &unused, &err), err);
    assert_true(found && unused);
    otter_store_free(s);
}

static int count_release(void *ctx, const otter_release *r)
{
    (*(int *)ctx)++;
    return 0;
}

/*
 * Deleting a tenant removes what it owns (devices, groups, releases,
 * actions, feedback) but not what another tenant's actions still use.
 */
static void test_tenant_delete_cascades(void **state)
{
    int64_t t, other, d, od, g, r, a, id;
    int found = 0, n = 0;
    otter_err err;
    otter_store *s = open_fresh("fleet_cascade", &t);
    assert_otter_ok(otter_store_tenant_create(s, "carrier", 1, &other, &err), err);
    assert_otter_ok(otter_store_device_create(s, t, "d1", "gw-a", NULL, "aa", 10, &d, &err), err);
    assert_otter_ok(otter_store_device_create(s, other, "d1", "gw-a", NULL, "bb", 10, &od, &err),
                    err);
    assert_otter_ok(otter_store_group_create(s, t, "lab", &g, &err), err);
    assert_otter_ok(otter_store_group_add(s, g, d, &err), err);
    otter_release rel = {.tenant_id = t, .size = 1, .meta = "{}"};
    snprintf(rel.product, sizeof rel.product, "gw");
    snprintf(rel.version, sizeof rel.version, "1.0");
    snprintf(rel.kind, sizeof rel.kind, "other");
    snprintf(rel.filename, sizeof rel.filename, "gw.swu");
    memset(rel.sha256, 'a', 64);
    memset(rel.sha1, 'b', 40);
    memset(rel.md5, 'c', 32);
    assert_otter_ok(otter_store_release_create(s, &rel, 0, 20, &r, &err), err);
    otter_action act = {.tenant_id = t, .device_id = d, .release_id = r};
    assert_otter_ok(otter_store_action_create(s, &act, 0, 30, &a, &err), err);
    otter_feedback f = {.action_id = a,
                        .at = 40,
                        .kind = "deployment",
                        .execution = "proceeding",
                        .finished = "none",
                        .progress_cnt = -1,
                        .progress_of = -1};
    assert_otter_ok(otter_store_feedback_add(s, &f, &err), err);

    /* Another tenant deploys the release: the publisher cannot go while that action exists. */
    act = (otter_action){.tenant_id = other, .device_id = od, .release_id = r};
    assert_otter_ok(otter_store_action_create(s, &act, 0, 31, &id, &err), err);
    assert_otter_error(otter_store_tenant_delete(s, t, &found, &err), err, OTTER_ESTATE, "refused");
    otter_device dev;
    assert_otter_ok(otter_store_device_get(s, t, "d1", &dev, &found, &err), err);
    assert_true(found); /* the refused delete left everything */
    assert_otter_ok(otter_store_device_delete(s, od, &found, &err), err);

    assert_otter_ok(otter_store_tenant_delete(s, t, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_device_get(s, t, "d1", &dev, &found, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_device_find_token(s, "aa", &dev, &found, &err), err);
    assert_false(found);
    otter_action got;
    assert_otter_ok(otter_store_action_get(s, a, &got, &found, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_release_list(s, t, 0, count_release, &n, &err), err);
    assert_int_equal(n, 0);
    otter_group gr;
    assert_otter_ok(otter_store_group_get(s, t, "lab", &gr, &found, &err), err);
    assert_false(found);
    /* The other tenant is untouched. */
    otter_tenant ten;
    assert_otter_ok(otter_store_tenant_get(s, "carrier", &ten, &found, &err), err);
    assert_true(found);
    otter_store_free(s);
}

struct poll_rows {
    otter_store *s;
    int n;
    int checked;
};

/* Each bulk row says what the single lookups say for that device. */
static int check_poll_row(void *ctx, const otter_poll_row *r)
{
    struct poll_rows *p = ctx;
    otter_err err;
    otter_action a;
    int found = 0;
    p->n++;
    assert_otter_ok(otter_store_action_open(p->s, r->device_id, &a, &found, &err), err);
    assert_int_equal(r->open_action, found ? a.id : 0);
    assert_int_equal(r->canceling, found && strcmp(a.status, "canceling") == 0);
    assert_otter_ok(otter_store_action_installed(p->s, r->device_id, &a, &found, &err), err);
    assert_int_equal(r->installed_action, found ? a.id : 0);
    assert_string_equal(r->tenant, "acme");
    if (strcmp(r->controller_id, "d3") == 0) {
        assert_string_equal(r->token_sha256, "t3");
        assert_true(r->config_sent);
        assert_int_equal(r->last_seen, 77);
        p->checked++;
    }
    return 0;
}

/* The poll cache's bulk load agrees with the lookups a single poll makes. */
static void test_poll_rows(void **state)
{
    int64_t t, d[5], r1, a;
    otter_err err;
    otter_store *s = open_fresh("fleet_poll_rows", &t);
    const char *tok[5] = {"t0", "t1", "t2", "t3", NULL};
    for (int i = 0; i < 5; i++) {
        char cid[8];
        snprintf(cid, sizeof cid, "d%d", i);
        assert_otter_ok(otter_store_device_create(s, t, cid, "gw-a", NULL, tok[i], 10, &d[i], &err),
                        err);
    }
    otter_release r = {.tenant_id = t, .size = 10};
    snprintf(r.product, sizeof r.product, "gw");
    snprintf(r.version, sizeof r.version, "1.0");
    snprintf(r.kind, sizeof r.kind, "otter");
    snprintf(r.filename, sizeof r.filename, "gw-1.0.zip");
    memset(r.sha256, 'a', 64);
    memset(r.sha1, 'b', 40);
    memset(r.md5, 'c', 32);
    r.meta = "{}";
    assert_otter_ok(otter_store_release_create(s, &r, 0, 20, &r1, &err), err);
    for (int i = 1; i < 5; i++) {
        otter_action act = {.tenant_id = t, .device_id = d[i], .release_id = r1};
        assert_otter_ok(otter_store_action_create(s, &act, 0, 30, &a, &err), err);
        if (i == 2)
            assert_otter_ok(otter_store_action_set_status(s, a, "canceling", "none", 31, &err),
                            err);
        if (i == 3) {
            assert_otter_ok(otter_store_action_set_status(s, a, "finished", "success", 31, &err),
                            err);
            assert_otter_ok(otter_store_action_create(s, &act, 0, 32, &a, &err), err);
        }
    }
    assert_otter_ok(otter_store_device_set_attributes(s, d[3], "{}", &err), err);
    assert_otter_ok(otter_store_device_seen(s, d[3], 77, &err), err);
    struct poll_rows p = {.s = s};
    assert_otter_ok(otter_store_device_poll_rows(s, 100, check_poll_row, &p, &err), err);
    assert_int_equal(p.n, 4); /* d4 has no TargetToken */
    assert_int_equal(p.checked, 1);
    p.n = 0;
    assert_otter_ok(otter_store_device_poll_rows(s, 2, check_poll_row, &p, &err), err);
    assert_int_equal(p.n, 2);
    otter_store_free(s);
}

static int take_delta(void *ctx, const otter_delta *d)
{
    otter_delta *out = ctx;
    out[out[0].id ? 1 : 0] = *d; /* the first two */
    return 0;
}

/*
 * Deltas of a release: created, listed (all or one), refused twice from
 * the same base or under the same name; their releases cannot be deleted
 * while they exist; deleting one says whether its file may go.
 */
static void test_deltas(void **state)
{
    int64_t t, r1, r2, r3, d1, d2, dup;
    otter_err err;
    int found = 0, unused = 0;
    otter_store *s = open_fresh("fleet_deltas", &t);
    otter_release r = {.tenant_id = t, .size = 10, .meta = "{}"};
    snprintf(r.product, sizeof r.product, "gw");
    snprintf(r.kind, sizeof r.kind, "otter");
    memset(r.sha1, 'b', 40);
    memset(r.md5, 'c', 32);
    const char *versions[] = {"1.0", "1.1", "1.2"};
    int64_t *ids[] = {&r1, &r2, &r3};
    for (int i = 0; i < 3; i++) {
        snprintf(r.version, sizeof r.version, "%s", versions[i]);
        snprintf(r.filename, sizeof r.filename, "gw-%s.zip", versions[i]);
        memset(r.sha256, 'a' + i, 64);
        assert_otter_ok(otter_store_release_create(s, &r, 0, 20, ids[i], &err), err);
    }
    otter_delta d = {.release_id = r3, .from_release_id = r2, .size = 5};
    snprintf(d.from_version, sizeof d.from_version, "1.1");
    snprintf(d.filename, sizeof d.filename, "gw-1.2.from-1.1.delta.zip");
    memset(d.sha256, 'e', 64);
    memset(d.sha1, 'f', 40);
    memset(d.md5, '0', 32);
    assert_otter_ok(otter_store_delta_create(s, &d, 0, 30, &d2, &err), err);
    assert_otter_error(otter_store_delta_create(s, &d, 0, 30, &dup, &err), err, OTTER_ESTATE, "");
    d.from_release_id = r1; /* another base, same file name */
    assert_otter_error(otter_store_delta_create(s, &d, 0, 30, &dup, &err), err, OTTER_ESTATE, "");
    snprintf(d.from_version, sizeof d.from_version, "1.0");
    snprintf(d.filename, sizeof d.filename, "gw-1.2.from-1.0.delta.zip");
    /* The same bytes as the full artifact of 1.0 (content-addressed files are shared). */
    memset(d.sha256, 'a', 64);
    assert_otter_ok(otter_store_delta_create(s, &d, 0, 31, &d1, &err), err);

    otter_delta got[2] = {{0}};
    assert_otter_ok(otter_store_delta_list(s, r3, 0, take_delta, got, &err), err);
    assert_int_equal(got[0].id, d1); /* oldest base first */
    assert_int_equal(got[0].from_release_id, r1);
    assert_string_equal(got[0].from_version, "1.0");
    assert_int_equal(got[0].created_at, 31);
    assert_int_equal(got[1].id, d2);
    assert_string_equal(got[1].filename, "gw-1.2.from-1.1.delta.zip");
    assert_int_equal(got[1].size, 5);
    assert_int_equal(strlen(got[1].sha256), 64);
    assert_int_equal(strlen(got[1].sha1), 40);
    assert_int_equal(strlen(got[1].md5), 32);
    memset(got, 0, sizeof got);
    assert_otter_ok(otter_store_delta_list(s, r3, d2, take_delta, got, &err), err);
    assert_int_equal(got[0].id, d2);
    assert_int_equal(got[1].id, 0);
    memset(got, 0, sizeof got);
    assert_otter_ok(otter_store_delta_list(s, r2, 0, take_delta, got, &err), err);
    assert_int_equal(got[0].id, 0);

    /* Neither the release nor a base goes while deltas are made to or from it. */
    assert_otter_error(otter_store_release_delete(s, r3, &found, &unused, &err), err, OTTER_ESTATE,
                       "delta");
    assert_otter_error(otter_store_release_delete(s, r2, &found, &unused, &err), err, OTTER_ESTATE,
                       "delta");
    /* Another release's id does not delete it. */
    assert_otter_ok(otter_store_delta_delete(s, r2, d2, &found, &unused, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_delta_delete(s, r3, d2, &found, &unused, &err), err);
    assert_true(found);
    assert_true(unused);
    assert_otter_ok(otter_store_delta_delete(s, r3, d1, &found, &unused, &err), err);
    assert_true(found);
    assert_false(unused); /* release 1.0's artifact has the same bytes */
    assert_otter_ok(otter_store_release_delete(s, r3, &found, &unused, &err), err);
    assert_true(found);
    otter_store_free(s);
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_releases_and_actions),
        cmocka_unit_test(test_tenant_delete_cascades),
        cmocka_unit_test(test_poll_rows),
        cmocka_unit_test(test_deltas),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
