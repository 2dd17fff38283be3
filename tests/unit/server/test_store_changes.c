/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every write of the store is classified, and does what its class says,
 * on SQLite and on PostgreSQL (store_test.h): a counted write (one a DDI
 * poll can see) moves this server's change stamp for the device it
 * touches or for any device; a quiet write (accounts, audit, last_seen,
 * feedback) does not. The list is checked against otter_store.h: a new
 * function there that is in neither list fails this test until someone
 * says which it is.
 */
#include "otter_test.h"
#include "otter_store.h"
#include "otter_store_bwcap.h"
#include "otter_store_caps.h"
#include "otter_store_follow.h"
#include "otter_store_roots.h"
#include "store_test.h"

struct fx {
    otter_store *s;
    int64_t tenant, user, device, group, release, action, rollout, spare;
};

typedef int (*write_fn)(struct fx *f, otter_err *err);

#define ANY -1  /* counted, may touch any device */
#define DEV 1   /* counted, touches the fixture's device */
#define QUIET 0 /* not counted */

static int w_tenant_create(struct fx *f, otter_err *e)
{
    return otter_store_tenant_create(f->s, "other", 2, &f->spare, e);
}
static int w_tenant_delete(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_tenant_delete(f->s, f->spare, &found, e);
}
static int w_tenant_set_gateway(struct fx *f, otter_err *e)
{
    return otter_store_tenant_set_gateway(f->s, f->tenant, "ab", e);
}
static int w_device_create(struct fx *f, otter_err *e)
{
    return otter_store_device_create(f->s, f->tenant, "d1", "m", "", "cd", 3, &f->device, e);
}
static int w_device_set_attributes(struct fx *f, otter_err *e)
{
    return otter_store_device_set_attributes(f->s, f->device, "{\"a\":\"b\"}", e);
}
static int w_device_seen(struct fx *f, otter_err *e)
{
    return otter_store_device_seen(f->s, f->device, 9, e);
}
static int w_group_create(struct fx *f, otter_err *e)
{
    return otter_store_group_create(f->s, f->tenant, "g", &f->group, e);
}
static int w_group_add(struct fx *f, otter_err *e)
{
    return otter_store_group_add(f->s, f->group, f->device, e);
}
static int w_group_remove(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_group_remove(f->s, f->group, f->device, &found, e);
}
static int w_group_delete(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_group_delete(f->s, f->group, &found, e);
}
static int w_release_create(struct fx *f, otter_err *e)
{
    otter_release r = {.tenant_id = f->tenant,
                       .product = "p",
                       .version = "1",
                       .kind = "otter",
                       .filename = "u.zip",
                       .size = 1,
                       .sha256 = "aa",
                       .sha1 = "bb",
                       .md5 = "cc"};
    return otter_store_release_create(f->s, &r, 0, 4, &f->release, e);
}
static int w_delta_create(struct fx *f, otter_err *e)
{
    otter_delta d = {.release_id = f->release,
                     .from_release_id = f->release,
                     .from_version = "0",
                     .filename = "d.zip",
                     .size = 1,
                     .sha256 = "dd",
                     .sha1 = "ee",
                     .md5 = "ff"};
    return otter_store_delta_create(f->s, &d, 0, 4, &f->spare, e);
}
static int w_delta_delete(struct fx *f, otter_err *e)
{
    int found, unused;
    int ret = otter_store_delta_delete(f->s, f->release, f->spare, &found, &unused, e);
    return ret == 0 && !found ? otter_err_set(e, OTTER_EIO, "delta not deleted") : ret;
}
static int w_root_add(struct fx *f, otter_err *e)
{
    return otter_store_root_add(f->s, f->tenant, 1, "{}", "[]", 0, 4, e);
}
static int w_action_create(struct fx *f, otter_err *e)
{
    otter_action a = {.tenant_id = f->tenant, .device_id = f->device, .release_id = f->release};
    return otter_store_action_create(f->s, &a, 0, 5, &f->action, e);
}
static int w_action_set_maintenance(struct fx *f, otter_err *e)
{
    return otter_store_action_set_maintenance(f->s, f->action, "available", 6, e);
}
static int w_feedback_add(struct fx *f, otter_err *e)
{
    otter_feedback fb = {.action_id = f->action,
                         .at = 6,
                         .kind = "deployment",
                         .execution = "proceeding",
                         .finished = "none",
                         .progress_cnt = -1,
                         .progress_of = -1};
    return otter_store_feedback_add(f->s, &fb, e);
}
static int w_action_set_status(struct fx *f, otter_err *e)
{
    return otter_store_action_set_status(f->s, f->action, "finished", "failure", 7, e);
}
/* Consent (issue #17): what the poll offers (confirmationBase or deploymentBase) moves. */
static int w_action_set_confirm(struct fx *f, otter_err *e)
{
    return otter_store_action_set_confirm(f->s, f->action, "confirmed", 7, e);
}
static int w_action_set_user(struct fx *f, otter_err *e)
{
    return otter_store_action_set_user(f->s, f->action, "waiting", 0, 7, e);
}
static int w_autoconfirm_set(struct fx *f, otter_err *e)
{
    otter_autoconfirm a = {.initiator = "dev", .remark = "r", .activated_at = 7};
    return otter_store_autoconfirm_set(f->s, f->device, &a, 7, e);
}
static int w_autoconfirm_delete(struct fx *f, otter_err *e)
{
    return otter_store_autoconfirm_delete(f->s, f->device, e);
}
static int w_approval_set(struct fx *f, otter_err *e)
{
    otter_approval a = {.release_id = f->release, .state = "approved", .decided_at = 7};
    return otter_store_approval_set(f->s, &a, e);
}
static int w_rollout_create(struct fx *f, otter_err *e)
{
    otter_rollout r = {.tenant_id = f->tenant,
                       .release_id = f->release,
                       .name = "r",
                       .n_stages = 1,
                       .stages = {{100, 100, 0, 0}}};
    return otter_store_rollout_create(f->s, &r, 8, &f->rollout, e);
}
static int w_rollout_update(struct fx *f, otter_err *e)
{
    otter_rollout r = {.id = f->rollout, .state = "running"};
    return otter_store_rollout_update(f->s, &r, 8, e);
}
static int w_rollout_retry_failed(struct fx *f, otter_err *e)
{
    int64_t n;
    return otter_store_rollout_retry_failed(f->s, f->rollout, 0, 0, 9, &n, e);
}
static int w_rollout_cancel_actions(struct fx *f, otter_err *e)
{
    return otter_store_rollout_cancel_actions(f->s, f->rollout, 9, e);
}
static int w_release_withdraw_actions(struct fx *f, otter_err *e)
{
    int64_t n;
    return otter_store_release_withdraw_actions(f->s, f->release, 9, &n, e);
}
static int w_user_create(struct fx *f, otter_err *e)
{
    return otter_store_user_create(f->s, "u", "$y$h", 0, 1, &f->user, e);
}
static int w_user_set_password(struct fx *f, otter_err *e)
{
    return otter_store_user_set_password(f->s, f->user, "$y$i", 2, e);
}
static int w_member_set(struct fx *f, otter_err *e)
{
    return otter_store_member_set(f->s, f->user, f->tenant, OTTER_ROLE_ADMIN, e);
}
static int w_member_delete(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_member_delete(f->s, f->user, f->tenant, &found, e);
}
static int w_token_create(struct fx *f, otter_err *e)
{
    otter_token t = {.user_id = f->user, .kind = OTTER_TOKEN_API, .name = "t", .expires_at = 99};
    return otter_store_token_create(f->s, &t, "ef", &f->spare, e);
}
static int w_token_revoke(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_token_revoke(f->s, f->spare, f->user, 3, &found, e);
}
static int w_token_revoke_user(struct fx *f, otter_err *e)
{
    return otter_store_token_revoke_user(f->s, f->user, 3, e);
}
static int w_audit_append(struct fx *f, otter_err *e)
{
    otter_audit_entry a = {.at = 1, .action = "x.y"};
    return otter_store_audit_append(f->s, &a, e);
}
static int w_user_delete(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_user_delete(f->s, f->user, &found, e);
}
static int w_release_delete(struct fx *f, otter_err *e)
{
    int found, unused;
    /* The release is in use; a refused delete in its own transaction is no change. */
    int ret = otter_store_release_delete(f->s, f->release, &found, &unused, e);
    return ret == OTTER_ESTATE ? 0 : ret;
}
static int w_device_delete(struct fx *f, otter_err *e)
{
    int found;
    return otter_store_device_delete(f->s, f->device, &found, e);
}

/*
 * Device CAs are quiet: a tenant that uses them is never answered from the
 * poll cache (its mode is, so setting it counts).
 */
static int w_device_ca_add(struct fx *f, otter_err *e)
{
    otter_device_ca ca = {.subject = "CN=ca", .sha256 = "ab", .not_after = 9, .pem = "x"};
    return otter_store_device_ca_add(f->s, f->tenant, &ca, 7, &f->spare, e);
}
static int w_device_ca_set_crl(struct fx *f, otter_err *e)
{
    int found;
    otter_device_ca crl = {.crl_pem = "c", .crl_sha256 = "cd", .crl_this_update = 1};
    int ret = otter_store_device_ca_set_crl(f->s, f->tenant, f->spare, &crl, 8, &found, e);
    return ret == 0 && !found ? otter_err_set(e, OTTER_EIO, "CRL not set") : ret;
}
static int w_device_ca_delete(struct fx *f, otter_err *e)
{
    int found;
    int ret = otter_store_device_ca_delete(f->s, f->tenant, f->spare, &found, e);
    return ret == 0 && !found ? otter_err_set(e, OTTER_EIO, "CA not deleted") : ret;
}
/* Downloaded bytes (issue #12): shown by rollout stats, never by a poll answer. */
static int w_traffic_add(struct fx *f, otter_err *e)
{
    return otter_store_traffic_add(f->s, f->rollout, 1, 10, 40, e);
}
/* s10-cdn: artifact bytes in the database; no poll answer depends on them. */
#define BLOB_SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static int w_blob_begin(struct fx *f, otter_err *e)
{
    int exists = 0;
    int ret = otter_store_blob_begin(f->s, BLOB_SHA, 3, 1, 1, &exists, e);
    return ret == 0 && exists ? otter_err_set(e, OTTER_EIO, "blob there already") : ret;
}
static int w_blob_chunk_put(struct fx *f, otter_err *e)
{
    return otter_store_blob_chunk_put(f->s, BLOB_SHA, 0, "YWJj", e);
}
static int w_blob_delete(struct fx *f, otter_err *e)
{
    return otter_store_blob_delete(f->s, BLOB_SHA, e);
}
/* Bandwidth caps (issue #15): the download path reads them, no poll answer shows them. */
static int w_bwcap_set(struct fx *f, otter_err *e)
{
    return otter_store_bwcap_set(f->s, 0, f->rollout, 1000, e);
}
/* The servers' demand on the caps (issue #15): only other servers' heartbeats read it. */
static int w_caps_beat(struct fx *f, otter_err *e)
{
    otter_store_caps_demand d = {.scope = 1, .id = f->tenant, .demand = 2};
    return otter_store_caps_beat(f->s, "server-a", 1000, 3000, &d, 1, e);
}
static int w_rollout_skipped_set(struct fx *f, otter_err *e)
{
    return otter_store_rollout_skipped_set(f->s, f->rollout, 3, e);
}
static int w_sample_add(struct fx *f, otter_err *e)
{
    return otter_store_sample_add(f->s, f->rollout, 1000, "{\"total\":{}}", e);
}
static int w_ddi_auth_set(struct fx *f, otter_err *e)
{
    otter_ddi_auth a = {.mode = OTTER_DDI_AUTH_CERTIFICATE};
    return otter_store_ddi_auth_set(f->s, f->tenant, &a, e);
}

/* Campaign controls (issue #15): read afresh with each deploymentBase, never in a base poll. */
static int w_group_schedule_set(struct fx *f, otter_err *e)
{
    return otter_store_group_schedule_set(f->s, f->group, "{}", e);
}
static int w_campaign_set(struct fx *f, otter_err *e)
{
    otter_campaign c = {.schedule = "{}", .deferral_max = 2, .deferral_seconds = 60};
    return otter_store_campaign_set(f->s, f->rollout, &c, e);
}
static int w_action_defer(struct fx *f, otter_err *e)
{
    return otter_store_action_defer(f->s, f->action, e);
}

/* In an order where each finds what it needs; release_delete is refused (QUIET) here. */
static const struct write {
    const char *name;
    write_fn fn;
    int scope;
} writes[] = {
#define W(name, scope)                                                                             \
    {                                                                                              \
#name, w_##name, scope                                                                     \
    }
    W(tenant_create, ANY),
    W(tenant_delete, ANY),
    W(tenant_set_gateway, ANY),
    W(device_create, DEV),
    W(device_set_attributes, DEV),
    W(device_seen, QUIET),
    W(group_create, ANY),
    W(group_add, DEV),
    W(group_schedule_set, QUIET),
    W(group_remove, DEV),
    W(group_delete, ANY),
    W(release_create, ANY),
    W(delta_create, QUIET),
    W(delta_delete, QUIET),
    /* Trust roots (issue #13): no poll answer shows them. */
    W(root_add, QUIET),
    W(action_create, DEV),
    W(action_set_maintenance, DEV),
    W(feedback_add, QUIET),
    W(action_set_status, DEV),
    W(action_set_confirm, DEV),
    W(action_set_user, QUIET),
    W(action_defer, QUIET),
    W(autoconfirm_set, DEV),
    W(autoconfirm_delete, DEV),
    W(approval_set, ANY),
    W(rollout_create, ANY),
    W(campaign_set, QUIET),
    W(rollout_update, ANY),
    W(traffic_add, QUIET),
    W(blob_begin, QUIET),
    W(blob_chunk_put, QUIET),
    W(blob_delete, QUIET),
    W(bwcap_set, QUIET),
    W(caps_beat, QUIET),
    W(rollout_skipped_set, QUIET),
    W(sample_add, QUIET),
    W(rollout_retry_failed, ANY),
    W(rollout_cancel_actions, ANY),
    W(release_withdraw_actions, ANY),
    W(user_create, QUIET),
    W(user_set_password, QUIET),
    W(member_set, QUIET),
    W(member_delete, QUIET),
    W(token_create, QUIET),
    W(token_revoke, QUIET),
    W(token_revoke_user, QUIET),
    W(audit_append, QUIET),
    W(user_delete, QUIET),
    W(release_delete, QUIET),
    W(device_delete, DEV),
    W(device_ca_add, QUIET),
    W(device_ca_set_crl, QUIET),
    W(device_ca_delete, QUIET),
    W(ddi_auth_set, ANY),
#undef W
};

/* Everything else otter_store.h declares: reads, and the store's own lifecycle. */
static const char *const not_writes[] = {
    "open",
    "free",
    "engine",
    "schema_version",
    "migrate",
    "begin",
    "commit",
    "rollback",
    "generation",
    "generation_known",
    "unchanged_since",
    "generation_wide",
    "tenant_get",
    "tenant_list",
    "user_get",
    "user_get_by_id",
    "user_count_admins",
    "user_list",
    "member_get",
    "member_list_tenant",
    "member_list_user",
    "token_find",
    "token_list",
    "audit_list",
    "tenant_check_gateway",
    "device_get",
    "device_find_token",
    "device_list",
    "group_get",
    "group_list",
    "release_list",
    "action_get",
    "action_open",
    "action_pending",
    "action_installed",
    "device_poll_rows",
    "action_list_device",
    "feedback_count",
    "feedback_list",
    "autoconfirm_get",
    "rollout_user_counts",
    "approval_get",
    "rollout_list",
    "rollout_counts",
    "delta_list",
    "root_list",
    "ddi_auth_get",
    "device_ca_list",
    "campaign_get",
    "group_schedule_get",
    "device_schedules",
    "action_deferrals",
    "rollout_deferrals",
    "traffic_get",
    "blob_get",
    "blob_chunk_get",
    "push_devices",
    "push_device_of",
    "bwcap_get",
    "rollout_skipped_get",
    "sample_last",
    "sample_list",
};

static uint64_t stamp(otter_store *s)
{
    uint64_t g = 0;
    assert_int_equal(otter_store_generation(s, &g), 0);
    return g;
}

static void test_each_write_counts_as_declared(void **state)
{
    otter_err err;
    struct fx f = {.s = otter_test_store_fresh("changes")};
    assert_otter_ok(otter_store_tenant_create(f.s, "acme", 1, &f.tenant, &err), err);
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        const struct write *w = &writes[i];
        uint64_t before = stamp(f.s);
        int64_t device = f.device;
        if (w->fn(&f, &err) < 0)
            fail_msg("%s: %s", w->name, err.msg);
        if (w->scope == DEV)
            device = device ? device : f.device; /* device_create: the new one */
        uint64_t after = stamp(f.s);
        if (w->scope == QUIET && after != before)
            fail_msg("%s is quiet but moved the change stamp", w->name);
        if (w->scope == ANY && otter_store_generation_wide(f.s) <= before)
            fail_msg("%s did not count as a change to any device", w->name);
        if (w->scope == DEV && (otter_store_generation_wide(f.s) > before ||
                                otter_store_unchanged_since(f.s, before, device)))
            fail_msg("%s did not count as a change to device %lld alone", w->name,
                     (long long)device);
    }
    otter_store_free(f.s);
}

static int listed(const char *name)
{
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++)
        if (strcmp(writes[i].name, name) == 0)
            return 1;
    for (size_t i = 0; i < sizeof not_writes / sizeof *not_writes; i++)
        if (strcmp(not_writes[i], name) == 0)
            return 1;
    return 0;
}

static void test_every_function_is_classified(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "otter_store.h",         "otter_store_rollouts.h", "otter_store_consent.h",
        "otter_store_roots.h",   "otter_store_devca.h",    "otter_store_windows.h",
        "otter_store_traffic.h", "otter_store_blobs.h",    "otter_store_push.h",
        "otter_store_bwcap.h",   "otter_store_follow.h",   "otter_store_caps.h"};
    char path[PATH_MAX], line[512];
    const char *src = getenv("OTTER_SOURCE_DIR");
    assert_non_null(src);
    int seen = 0;
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        snprintf(path, sizeof path, "%s/src/server/store/%s", src, headers[i]);
        FILE *h = fopen(path, "r");
        assert_non_null(h);
        while (fgets(line, sizeof line, h)) {
            char name[128];
            const char *p = strstr(line, " otter_store_");
            if (!p || sscanf(p + 13, "%127[a-z_](", name) != 1 || !strchr(p, '('))
                continue;
            seen++;
            if (!listed(name))
                fail_msg("otter_store_%s is neither a listed write nor a read: classify it here",
                         name);
        }
        fclose(h);
    }
    assert_true(seen >= 70); /* the parse found the declarations */
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_write_counts_as_declared),
        cmocka_unit_test(test_every_function_is_classified),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
