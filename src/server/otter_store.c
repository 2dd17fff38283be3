/* SPDX-License-Identifier: Apache-2.0 */
/* Picks a back-end by url and forwards every call to it. */
#include "otter_store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/otter_store_backend.h"

/* Every back-end built into this server; the url prefix chooses. */
static const otter_store_ops *const backends[] = {
    &otter_store_sqlite_ops,
    &otter_store_pg_ops,
};

static int has_prefix(const char *url, const char *prefix)
{
    return prefix && strncmp(url, prefix, strlen(prefix)) == 0;
}

int otter_store_open(const char *url, int create, unsigned busy_timeout_ms, otter_store **out,
                     otter_err *err)
{
    *out = NULL;
    const otter_store_ops *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (has_prefix(url, backends[i]->url_prefix) || has_prefix(url, backends[i]->url_alias))
            ops = backends[i];
    if (!ops)
        return otter_err_set(err, OTTER_EUSAGE,
                             "database url: unknown scheme (want sqlite:PATH or postgresql://...)");
    otter_store *s = calloc(1, sizeof *s);
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    s->ops = ops;
    int ret = ops->open(s, url, create, busy_timeout_ms, err);
    if (ret < 0) {
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void otter_store_free(otter_store *s)
{
    if (!s)
        return;
    s->ops->close(s);
    free(s);
}

const char *otter_store_engine(const otter_store *s)
{
    return s->ops->engine;
}

int otter_store_schema_version(otter_store *s, int *version, otter_err *err)
{
    return s->ops->schema_version(s, version, err);
}

int otter_store_migrate(otter_store *s, otter_err *err)
{
    return s->ops->migrate(s, err);
}

/* ---- transactions and change tracking (see otter_store.h) ---- */

#define ANY_DEVICE 0           /* a change that may touch any device */
#define TX_DEVICES_MAX 64      /* more devices in one transaction count as any device */
#define LOG_READ_MAX 4096      /* log entries read at a time; more count as any device */

/*
 * The transaction the calling thread holds, and what it changed of what a
 * poll reads: a transaction belongs to one thread from begin to commit.
 */
static _Thread_local otter_store *tx_store;
static _Thread_local int tx_changed, tx_wide;
static _Thread_local size_t tx_n;
static _Thread_local int64_t tx_devices[TX_DEVICES_MAX];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Atomic uint64_t *slot_of(otter_store *s, int64_t device_id)
{
    return &s->device_stamp[(uint64_t)device_id & (OTTER_STORE_DEVICE_SLOTS - 1)];
}

/* *at = max(*at, v): stamps never go back, whichever writer comes last. */
static void raise_to(_Atomic uint64_t *at, uint64_t v)
{
    uint64_t cur = atomic_load(at);
    while (cur < v && !atomic_compare_exchange_weak(at, &cur, v))
        ;
}

/*
 * Tells this server's caches of a change that is committed (so readers that
 * take the new stamp see its rows): n devices, or any device when n == 0.
 */
static void note_change(otter_store *s, const int64_t *devices, size_t n)
{
    uint64_t stamp = atomic_fetch_add(&s->stamp, 1) + 1;
    if (n == 0)
        raise_to(&s->wide_stamp, stamp);
    for (size_t i = 0; i < n; i++)
        raise_to(slot_of(s, devices[i]), stamp);
}

/* A count this server logged is committed: reading it back from the log is no news. */
static void own_count(otter_store *s, int64_t count)
{
    atomic_store(&s->own_counts[(uint64_t)count & (OTTER_STORE_OWN_COUNTS - 1)], count);
}

static int is_own_count(otter_store *s, int64_t count)
{
    return atomic_load(&s->own_counts[(uint64_t)count & (OTTER_STORE_OWN_COUNTS - 1)]) == count;
}

static void tx_note(int64_t device_id)
{
    tx_changed = 1;
    if (device_id == ANY_DEVICE || tx_n == TX_DEVICES_MAX) {
        tx_wide = 1;
        return;
    }
    for (size_t i = 0; i < tx_n; i++)
        if (tx_devices[i] == device_id)
            return;
    tx_devices[tx_n++] = device_id;
}

/*
 * A counted write (one that can change a device API answer) joins the
 * caller's transaction, or runs in one of its own: then the write and its
 * change log entry commit together, in one commit (before, the log entry
 * was a second transaction after the write's own). counted_end() records
 * what it touched: device_id, or ANY_DEVICE. A failed write in its own
 * transaction is rolled back whole; in the caller's, it counts (the caller
 * may still commit what it did).
 */
static int counted_begin(otter_store *s, int *own, otter_err *err)
{
    *own = tx_store != s;
    int ret = *own ? otter_store_begin(s, err) : 0;
    if (ret < 0)
        *own = -1; /* nothing to end */
    return ret;
}

static int counted_end(otter_store *s, int own, int ret, int64_t device_id, otter_err *err)
{
    if (own < 0)
        return ret;
    tx_note(device_id);
    if (!own)
        return ret;
    if (ret < 0) {
        otter_store_rollback(s);
        return ret;
    }
    return otter_store_commit(s, err);
}

/* The device of action id, for a change to it; ANY_DEVICE when it cannot be told. */
static int64_t action_device(otter_store *s, int64_t id)
{
    otter_action a;
    otter_err err;
    int found = 0;
    if (s->ops->action_get(s, 0, id, &a, &found, &err) < 0 || !found)
        return ANY_DEVICE;
    return a.device_id;
}

int otter_store_begin(otter_store *s, otter_err *err)
{
    int ret = s->ops->begin(s, err);
    if (ret == 0) {
        tx_store = s;
        tx_changed = tx_wide = 0;
        tx_n = 0;
    }
    return ret;
}

int otter_store_commit(otter_store *s, otter_err *err)
{
    int dirty = tx_store == s && tx_changed, ret;
    int64_t count = 0;
    size_t n = tx_wide ? 0 : tx_n;
    if (tx_store == s)
        tx_store = NULL;
    /* The log is written in the transaction itself: other servers see both or neither. */
    if (dirty && (ret = s->ops->changes_log(s, tx_devices, n, &count, err)) < 0) {
        s->ops->rollback(s);
        return ret;
    }
    ret = s->ops->commit(s, err);
    /* Only once committed: a count rolled back is given to the next change, maybe another server's. */
    if (dirty && ret == 0)
        own_count(s, count);
    if (dirty)
        note_change(s, tx_devices, n);
    return ret;
}

void otter_store_rollback(otter_store *s)
{
    if (tx_store == s)
        tx_store = NULL;
    s->ops->rollback(s);
}

/* Log entries read in one go, checked before any is applied. */
struct log_read {
    otter_store *s;
    int64_t last;    /* highest count read */
    int wide;        /* a change to any device, or entries missing (dropped) */
    size_t total;    /* entries read */
    size_t n;        /* other servers' devices among them */
    int64_t devices[LOG_READ_MAX];
};

static int log_entry(void *ctx, int64_t count, int64_t device_id)
{
    struct log_read *r = ctx;
    /* Counts are dense (one per logged change, committed in order): a jump means dropped entries. */
    if (count > r->last + 1)
        r->wide = 1;
    r->last = count;
    r->total++;
    if (is_own_count(r->s, count)) /* told at its commit already */
        return 0;
    if (device_id == ANY_DEVICE)
        r->wide = 1;
    else if (r->n < LOG_READ_MAX)
        r->devices[r->n++] = device_id;
    return 0;
}

/* Reads what other servers (and this one) logged since the last read; under s->checking. */
static int read_log(otter_store *s)
{
    otter_err err;
    if (!s->db_count_known) {
        /* Start from now: nothing is cached yet, so nothing before matters. */
        int64_t counter = 0;
        if (s->ops->changes_read(s, &counter, &err) < 0)
            return -1;
        s->db_count = counter;
        s->db_count_known = 1;
        note_change(s, NULL, 0);
        return 0;
    }
    struct log_read *r = malloc(sizeof *r);
    if (!r)
        return -1;
    r->s = s;
    r->last = s->db_count;
    r->wide = 0;
    r->total = r->n = 0;
    int ret = s->ops->changes_since(s, s->db_count, LOG_READ_MAX, log_entry, r, &err);
    if (ret == 0 && r->last != s->db_count) {
        /*
         * A full read may have split the entries of its last count: the
         * rest are covered by treating the read as touching any device.
         */
        if (r->wide || r->total == LOG_READ_MAX)
            note_change(s, NULL, 0);
        else if (r->n)
            note_change(s, r->devices, r->n);
        s->db_count = r->last;
    }
    free(r);
    return ret < 0 ? -1 : 0;
}

int otter_store_generation(otter_store *s, uint64_t *gen)
{
    int64_t now = now_ms();
    int expected = 0;
    /* One thread asks the database when due; the others go on with what is known. */
    if (now - atomic_load(&s->checked_ms) >= OTTER_STORE_CHANGES_CHECK_MS &&
        atomic_compare_exchange_strong(&s->checking, &expected, 1)) {
        /* Trusted from when the question was asked, not from when it was answered. */
        if (read_log(s) == 0)
            atomic_store(&s->checked_ms, now);
        atomic_store(&s->checking, 0);
    }
    return otter_store_generation_known(s, gen);
}

int otter_store_generation_known(otter_store *s, uint64_t *gen)
{
    *gen = atomic_load(&s->stamp);
    if (now_ms() - atomic_load(&s->checked_ms) > OTTER_STORE_CHANGES_BOUND_MS)
        return OTTER_ESTATE;
    return 0;
}

uint64_t otter_store_generation_wide(otter_store *s)
{
    return atomic_load(&s->wide_stamp);
}

int otter_store_unchanged_since(otter_store *s, uint64_t gen, int64_t device_id)
{
    return atomic_load(&s->wide_stamp) <= gen && atomic_load(slot_of(s, device_id)) <= gen;
}

int otter_store_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                              otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->tenant_create(s, name, now, id, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                           otter_err *err)
{
    return s->ops->tenant_get(s, name, out, found, err);
}

int otter_store_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->tenant_delete(s, id, found, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err)
{
    return s->ops->tenant_list(s, cb, ctx, err);
}

int otter_store_user_create(otter_store *s, const char *name, const char *password_hash,
                            int is_admin, int64_t now, int64_t *id, otter_err *err)
{
    return s->ops->user_create(s, name, password_hash, is_admin, now, id, err);
}

int otter_store_user_get(otter_store *s, const char *name, otter_user *out, int *found,
                         otter_err *err)
{
    return s->ops->user_get(s, name, 0, out, found, err);
}

int otter_store_user_get_by_id(otter_store *s, int64_t id, otter_user *out, int *found,
                               otter_err *err)
{
    return s->ops->user_get(s, NULL, id, out, found, err);
}

int otter_store_user_set_password(otter_store *s, int64_t id, const char *password_hash,
                                  int64_t now, otter_err *err)
{
    return s->ops->user_set_password(s, id, password_hash, now, err);
}

int otter_store_user_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    return s->ops->user_delete(s, id, found, err);
}

int otter_store_user_count_admins(otter_store *s, int64_t *count, otter_err *err)
{
    return s->ops->user_count_admins(s, count, err);
}

int otter_store_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err)
{
    return s->ops->user_list(s, cb, ctx, err);
}

int otter_store_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                           otter_err *err)
{
    return s->ops->member_set(s, user_id, tenant_id, role, err);
}

int otter_store_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                           otter_err *err)
{
    return s->ops->member_get(s, user_id, tenant_id, role, err);
}

int otter_store_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                              otter_err *err)
{
    return s->ops->member_delete(s, user_id, tenant_id, found, err);
}

int otter_store_member_list_tenant(otter_store *s, int64_t tenant_id, otter_store_member_cb cb,
                                   void *ctx, otter_err *err)
{
    return s->ops->member_list(s, tenant_id, 0, cb, ctx, err);
}

int otter_store_member_list_user(otter_store *s, int64_t user_id, otter_store_member_cb cb,
                                 void *ctx, otter_err *err)
{
    return s->ops->member_list(s, 0, user_id, cb, ctx, err);
}

int otter_store_token_create(otter_store *s, const otter_token *t, const char *sha256_hex,
                             int64_t *id, otter_err *err)
{
    return s->ops->token_create(s, t, sha256_hex, id, err);
}

int otter_store_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                           otter_err *err)
{
    return s->ops->token_find(s, sha256_hex, out, found, err);
}

int otter_store_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                             otter_err *err)
{
    if (id == 0)
        return otter_err_set(err, OTTER_EUSAGE, "token id 0");
    return s->ops->token_revoke(s, id, user_id, now, found, err);
}

int otter_store_token_revoke_user(otter_store *s, int64_t user_id, int64_t now, otter_err *err)
{
    int found;
    return s->ops->token_revoke(s, 0, user_id, now, &found, err);
}

int otter_store_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                           otter_store_token_cb cb, void *ctx, otter_err *err)
{
    return s->ops->token_list(s, user_id, kind, now, cb, ctx, err);
}

int otter_store_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err)
{
    return s->ops->audit_append(s, e, err);
}

int otter_store_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                           void *ctx, otter_err *err)
{
    if (f->limit < 1 || f->limit > 1000)
        return otter_err_set(err, OTTER_EUSAGE, "audit limit %u outside 1..1000", f->limit);
    return s->ops->audit_list(s, f, cb, ctx, err);
}

/* ---- fleet ---- */

int otter_store_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha256_hex,
                                   otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->tenant_set_gateway(s, tenant_id, sha256_hex, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha256_hex,
                                     int *ok, otter_err *err)
{
    return s->ops->tenant_check_gateway(s, tenant_id, sha256_hex, ok, err);
}

int otter_store_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                              const char *model, const char *name, const char *token_sha256,
                              int64_t now, int64_t *id, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->device_create(s, tenant_id, controller_id, model, name, token_sha256, now,
                                    id, err);
    return counted_end(s, own, ret, ret == 0 ? *id : ANY_DEVICE, err);
}

int otter_store_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                           otter_device *out, int *found, otter_err *err)
{
    return s->ops->device_get(s, tenant_id, controller_id, NULL, out, found, err);
}

int otter_store_device_find_token(otter_store *s, const char *sha256_hex, otter_device *out,
                                  int *found, otter_err *err)
{
    return s->ops->device_get(s, 0, NULL, sha256_hex, out, found, err);
}

int otter_store_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                            void *ctx, otter_err *err)
{
    if (f->limit < 1 || f->limit > 1000)
        return otter_err_set(err, OTTER_EUSAGE, "device limit %u outside 1..1000", f->limit);
    return s->ops->device_list(s, f, cb, ctx, err);
}

int otter_store_device_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->device_delete(s, id, found, err);
    return counted_end(s, own, ret, id, err);
}

int otter_store_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err)
{
    return s->ops->device_seen(s, id, now, err);
}

int otter_store_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err)
{
    if (strlen(json) > OTTER_STORE_ATTR_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "attributes larger than %d bytes",
                             OTTER_STORE_ATTR_MAX);
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->device_set_attributes(s, id, json, err);
    return counted_end(s, own, ret, id, err);
}

int otter_store_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                             otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->group_create(s, tenant_id, name, id, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

struct one_group {
    otter_group *out;
    int found;
};

static int take_group(void *ctx, const otter_group *g)
{
    struct one_group *o = ctx;
    *o->out = *g;
    o->found = 1;
    return 0;
}

int otter_store_group_get(otter_store *s, int64_t tenant_id, const char *name, otter_group *out,
                          int *found, otter_err *err)
{
    struct one_group o = {out, 0};
    int ret = s->ops->group_list(s, tenant_id, name, take_group, &o, err);
    *found = o.found;
    return ret;
}

int otter_store_group_list(otter_store *s, int64_t tenant_id, otter_store_group_cb cb, void *ctx,
                           otter_err *err)
{
    return s->ops->group_list(s, tenant_id, NULL, cb, ctx, err);
}

int otter_store_group_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->group_delete(s, id, found, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->group_add(s, group_id, device_id, err);
    return counted_end(s, own, ret, device_id, err);
}

int otter_store_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                             otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->group_remove(s, group_id, device_id, found, err);
    return counted_end(s, own, ret, device_id, err);
}

int otter_store_release_create(otter_store *s, const otter_release *r, int64_t created_by,
                               int64_t now, int64_t *id, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->release_create(s, r, created_by, now, id, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                             otter_store_release_cb cb, void *ctx, otter_err *err)
{
    return s->ops->release_list(s, tenant_id, release_id, cb, ctx, err);
}

int otter_store_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                               otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->release_delete(s, id, found, sha_unused, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_action_create(otter_store *s, const otter_action *a, int64_t created_by,
                              int64_t now, int64_t *id, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->action_create(s, a, created_by, now, id, err);
    return counted_end(s, own, ret, a->device_id, err);
}

int otter_store_action_get(otter_store *s, int64_t id, otter_action *out, int *found,
                           otter_err *err)
{
    return s->ops->action_get(s, 0, id, out, found, err);
}

int otter_store_action_open(otter_store *s, int64_t device_id, otter_action *out, int *found,
                            otter_err *err)
{
    return s->ops->action_get(s, 1, device_id, out, found, err);
}

int otter_store_action_pending(otter_store *s, int64_t device_id, otter_action *out, int *found,
                               otter_err *err)
{
    return s->ops->action_get(s, 3, device_id, out, found, err);
}

int otter_store_action_installed(otter_store *s, int64_t device_id, otter_action *out, int *found,
                                 otter_err *err)
{
    return s->ops->action_get(s, 2, device_id, out, found, err);
}

int otter_store_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb,
                                 void *ctx, otter_err *err)
{
    return s->ops->device_poll_rows(s, limit, cb, ctx, err);
}

int otter_store_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                   void *ctx, otter_err *err)
{
    return s->ops->action_list_device(s, device_id, cb, ctx, err);
}

int otter_store_action_set_status(otter_store *s, int64_t id, const char *status,
                                  const char *result, int64_t now, otter_err *err)
{
    int64_t device_id = action_device(s, id);
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->action_set_status(s, id, status, result, now, err);
    return counted_end(s, own, ret, device_id, err);
}

int otter_store_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                       otter_err *err)
{
    int64_t device_id = action_device(s, id);
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->action_set_maintenance(s, id, window, now, err);
    return counted_end(s, own, ret, device_id, err);
}

int otter_store_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err)
{
    return s->ops->feedback_add(s, f, err);
}

int otter_store_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err)
{
    return s->ops->feedback_count(s, action_id, count, err);
}

int otter_store_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb,
                              void *ctx, otter_err *err)
{
    return s->ops->feedback_list(s, action_id, cb, ctx, err);
}

int otter_store_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                             otter_err *err)
{
    return s->ops->approval_get(s, release_id, out, found, err);
}

int otter_store_approval_set(otter_store *s, const otter_approval *a, otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->approval_set(s, a, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                               otter_err *err)
{
    if (r->n_stages < 1 || r->n_stages > OTTER_ROLLOUT_STAGES_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "a rollout has 1..%d stages",
                             OTTER_ROLLOUT_STAGES_MAX);
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->rollout_create(s, r, now, id, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id,
                             int64_t release_id, otter_store_rollout_cb cb, void *ctx,
                             otter_err *err)
{
    return s->ops->rollout_list(s, tenant_id, rollout_id, release_id, cb, ctx, err);
}

int otter_store_rollout_update(otter_store *s, const otter_rollout *r, int64_t now,
                               otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->rollout_update(s, r, now, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                               void *ctx, otter_err *err)
{
    return s->ops->rollout_counts(s, rollout_id, cb, ctx, err);
}

int otter_store_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now,
                                       otter_err *err)
{
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->rollout_cancel_actions(s, rollout_id, now, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                         int64_t *withdrawn, otter_err *err)
{
    *withdrawn = 0;
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret = s->ops->release_withdraw_actions(s, release_id, now, withdrawn, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}

int otter_store_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                     int64_t created_by, int64_t now, int64_t *retried,
                                     otter_err *err)
{
    *retried = 0;
    int own, ret = counted_begin(s, &own, err);
    if (ret == 0)
        ret =
            s->ops->rollout_retry_failed(s, rollout_id, up_to_stage, created_by, now, retried, err);
    return counted_end(s, own, ret, ANY_DEVICE, err);
}
