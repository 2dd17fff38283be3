/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_rollout.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_digest.h"
#include "otter_fleet.h"

#define FILTER_LIST_MAX 64
#define FILTER_ATTRS_MAX 16
#define FILTER_VALUE_MAX 256

static _Atomic uint64_t generation = 1;

void otter_rollout_touch(void)
{
    atomic_fetch_add(&generation, 1);
}

uint64_t otter_rollout_generation(void)
{
    return atomic_load(&generation);
}

uint32_t otter_rollout_bucket(int64_t rollout_id, const char *controller_id)
{
    unsigned char buf[8 + OTTER_STORE_NAME_MAX];
    uint8_t md[OTTER_SHA256_LEN];
    size_t n = strlen(controller_id);
    if (n > OTTER_STORE_NAME_MAX)
        n = OTTER_STORE_NAME_MAX; /* controller ids are at most this long anyway */
    uint64_t id = (uint64_t)rollout_id;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(id >> (56 - 8 * i));
    memcpy(buf + 8, controller_id, n);
    otter_sha256_buf(buf, 8 + n, md);
    uint32_t first = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    return first % OTTER_ROLLOUT_BUCKETS;
}

/* ---- filter ---- */

static int check_list(const json_t *v, const char *key, const char *where, otter_err *err)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > FILTER_LIST_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%s: filter.%s: want an array of 1..%d strings",
                             where, key, FILTER_LIST_MAX);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || json_string_length(e) < 1 ||
            json_string_length(e) > OTTER_STORE_NAME_MAX ||
            strlen(json_string_value(e)) != json_string_length(e))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s: filter.%s[%zu]: want a string of 1..%d characters", where,
                                 key, i, OTTER_STORE_NAME_MAX);
    }
    return 0;
}

int otter_rollout_filter_check(const json_t *filter, const char *where, otter_err *err)
{
    if (!json_is_object(filter))
        return otter_err_set(err, OTTER_EFORMAT, "%s: filter: want an object", where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)filter, key, v)
    {
        int ret = 0;
        if (strcmp(key, "products") == 0 || strcmp(key, "models") == 0 ||
            strcmp(key, "groups") == 0 || strcmp(key, "versions") == 0) {
            ret = check_list(v, key, where, err);
        } else if (strcmp(key, "attributes") == 0) {
            if (!json_is_object(v) || json_object_size(v) > FILTER_ATTRS_MAX)
                return otter_err_set(err, OTTER_EFORMAT,
                                     "%s: filter.attributes: want an object of at most %d strings",
                                     where, FILTER_ATTRS_MAX);
            const char *ak;
            json_t *av;
            json_object_foreach(v, ak, av)
            {
                if (strlen(ak) < 1 || strlen(ak) > OTTER_STORE_NAME_MAX || !json_is_string(av) ||
                    json_string_length(av) > FILTER_VALUE_MAX ||
                    strlen(json_string_value(av)) != json_string_length(av))
                    return otter_err_set(err, OTTER_EFORMAT,
                                         "%s: filter.attributes: want names of 1..%d characters "
                                         "with string values of at most %d",
                                         where, OTTER_STORE_NAME_MAX, FILTER_VALUE_MAX);
            }
        } else {
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s: filter: unknown key '%.64s' (known: products, models, "
                                 "groups, versions, attributes)",
                                 where, key);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int in_list(const json_t *list, const char *s)
{
    size_t i;
    json_t *e;
    if (!list)
        return 1;
    json_array_foreach(list, i, e) if (strcmp(json_string_value(e), s) == 0) return 1;
    return 0;
}

/*
 * The version a device runs: what it reported itself in configData
 * ("version"), which is right after a fallback or a factory install too,
 * else the release it last installed through this server.
 */
static void device_version(const otter_device *d, const json_t *attrs, char *out, size_t cap)
{
    const json_t *v = json_is_object(attrs) ? json_object_get(attrs, "version") : NULL;
    snprintf(out, cap, "%s",
             json_is_string(v) && json_string_length(v) ? json_string_value(v) : d->version);
}

/* The product a device runs: reported in configData ("product"), else the installed release's. */
static const char *device_product(const otter_device *d, const json_t *attrs)
{
    const json_t *p = json_is_object(attrs) ? json_object_get(attrs, "product") : NULL;
    return json_is_string(p) && json_string_length(p) ? json_string_value(p) : d->product;
}

/*
 * The model a device runs: reported in configData ("model": what its agent
 * checks the manifest's compatible list against), else the registered one.
 */
static const char *device_model(const otter_device *d, const json_t *attrs)
{
    const json_t *m = json_is_object(attrs) ? json_object_get(attrs, "model") : NULL;
    return json_is_string(m) && json_string_length(m) ? json_string_value(m) : d->model;
}

static int match(const json_t *filter, const otter_device *d, const json_t *have, char *version,
                 size_t cap)
{
    device_version(d, have, version, cap);
    if (!in_list(json_object_get(filter, "products"), device_product(d, have)) ||
        !in_list(json_object_get(filter, "models"), d->model) ||
        !in_list(json_object_get(filter, "versions"), version))
        return 0;
    const json_t *want = json_object_get(filter, "attributes");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        const json_t *h = json_is_object(have) ? json_object_get(have, k) : NULL;
        if (!json_is_string(h) || strcmp(json_string_value(h), json_string_value(v)) != 0)
            return 0;
    }
    return 1;
}

int otter_rollout_filter_match(const json_t *filter, const otter_device *d)
{
    char version[OTTER_STORE_NAME_MAX + 1];
    json_t *have = json_loads(d->attributes, 0, NULL);
    int ok = match(filter, d, have, version, sizeof version);
    json_decref(have);
    return ok;
}

/* ---- the release's compatible models ---- */

struct compat_load {
    json_t *compatible;
    int found;
};

static int take_compatible(void *ctx, const otter_release *r)
{
    struct compat_load *l = ctx;
    l->found = 1;
    json_t *meta = r->meta ? json_loads(r->meta, 0, NULL) : NULL;
    json_t *list = json_object_get(meta, "compatible");
    if (json_is_array(list) && json_array_size(list) > 0)
        l->compatible = json_incref(list);
    json_decref(meta);
    return 0;
}

int otter_release_compatible(otter_store *s, int64_t tenant_id, int64_t release_id,
                             json_t **compatible, otter_err *err)
{
    struct compat_load l = {0};
    *compatible = NULL;
    int ret = otter_store_release_list(s, tenant_id, release_id, take_compatible, &l, err);
    if (ret < 0) {
        json_decref(l.compatible);
        return ret;
    }
    if (!l.found)
        return otter_err_set(err, OTTER_ESTATE, "release %lld: not found", (long long)release_id);
    *compatible = l.compatible;
    return 0;
}

int otter_release_fits(const json_t *compatible, const char *model)
{
    if (!compatible)
        return 1;
    return model && *model && in_list(compatible, model);
}

int otter_release_fits_device(const json_t *compatible, const otter_device *d)
{
    if (!compatible)
        return 1;
    json_t *have = json_loads(d->attributes, 0, NULL);
    int fits = otter_release_fits(compatible, device_model(d, have));
    json_decref(have);
    return fits;
}

/* ---- loading and counting ---- */

static int keep_one(void *ctx, const otter_rollout *r)
{
    memcpy(ctx, r, sizeof *r);
    return 0;
}

int otter_rollout_load(otter_store *s, int64_t tenant_id, int64_t id, otter_rollout *out,
                       int *found, otter_err *err)
{
    out->id = 0;
    int ret = otter_store_rollout_list(s, tenant_id, id, 0, keep_one, out, err);
    *found = ret == 0 && out->id == id;
    return ret;
}

struct tally_ctx {
    const otter_rollout *r;
    otter_rollout_stats *st;
};

static int tally_cb(void *ctx, const otter_rollout_count *c)
{
    struct tally_ctx *t = ctx;
    if (c->stage < 0 || (size_t)c->stage >= t->r->n_stages)
        return 0; /* not ours to count: cannot happen with actions made by a plan */
    otter_rollout_tally *g = &t->st->stage[c->stage];
    int64_t *slots[] = {
        [OTTER_TALLY_WAITING] = &g->waiting, [OTTER_TALLY_SCHEDULED] = &g->scheduled,
        [OTTER_TALLY_RUNNING] = &g->running, [OTTER_TALLY_SUCCESS] = &g->success,
        [OTTER_TALLY_FAILURE] = &g->failure, [OTTER_TALLY_CANCELED] = &g->canceled};
    int reached = c->stage <= t->r->current_stage;
    int64_t *slot = slots[otter_action_tally_of(c->status, c->result, reached)];
    *slot += c->count;
    g->devices += c->count;
    return 0;
}

int otter_rollout_stats_get(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                            otter_err *err)
{
    memset(st, 0, sizeof *st);
    struct tally_ctx t = {r, st};
    int ret = otter_store_rollout_counts(s, r->id, tally_cb, &t, err);
    for (size_t i = 0; ret == 0 && i < r->n_stages; i++) {
        const otter_rollout_tally *g = &st->stage[i];
        st->total.devices += g->devices;
        st->total.waiting += g->waiting;
        st->total.scheduled += g->scheduled;
        st->total.running += g->running;
        st->total.success += g->success;
        st->total.failure += g->failure;
        st->total.canceled += g->canceled;
    }
    return ret;
}

/* ---- targeting ---- */

struct ranked;

struct plan_walk {
    otter_store *s;
    const otter_rollout *r;
    const json_t *filter;
    const char *release_version;
    const json_t *compatible; /* the release's models, NULL = any */
    int create;
    int64_t actor, now;
    int64_t *group_ids; /* sorted; NULL when the filter names no group */
    size_t n_group_ids, cap_group_ids;
    otter_rollout_plan *plan;
    struct ranked *ranked;
    size_t n_ranked, cap_ranked;
    int64_t last_id;
    size_t seen;
    otter_err *err;
};

static int collect_group(void *ctx, const otter_device *d)
{
    struct plan_walk *w = ctx;
    w->last_id = d->id;
    w->seen++;
    if (w->n_group_ids == w->cap_group_ids) {
        size_t cap = w->cap_group_ids ? 2 * w->cap_group_ids : 1024;
        int64_t *n = realloc(w->group_ids, cap * sizeof *n);
        if (!n)
            return OTTER_ENOMEM;
        w->group_ids = n;
        w->cap_group_ids = cap;
    }
    w->group_ids[w->n_group_ids++] = d->id;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A targeted device waiting for its stage: ranked by bucket, ties by controller id. */
struct ranked {
    uint32_t bucket;
    int64_t device_id;
    char controller_id[OTTER_STORE_NAME_MAX + 1];
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return strcmp(x->controller_id, y->controller_id);
}

static int plan_device(void *ctx, const otter_device *d)
{
    struct plan_walk *w = ctx;
    w->last_id = d->id;
    w->seen++;
    if (w->group_ids && !bsearch(&d->id, w->group_ids, w->n_group_ids, sizeof d->id, cmp_id))
        return 0;
    char version[OTTER_STORE_NAME_MAX + 1];
    json_t *have = json_loads(d->attributes, 0, NULL);
    int ok = match(w->filter, d, have, version, sizeof version);
    int fits = otter_release_fits(w->compatible, device_model(d, have));
    json_decref(have);
    if (!ok)
        return 0;
    if (!fits) {
        w->plan->incompatible++;
        return 0;
    }
    if (w->release_version && strcmp(version, w->release_version) == 0) {
        w->plan->current++;
        return 0;
    }
    otter_action open_a;
    int busy = 0;
    int ret = otter_store_action_pending(w->s, d->id, &open_a, &busy, w->err);
    if (ret < 0)
        return ret;
    if (busy) {
        w->plan->busy++;
        return 0;
    }
    if (w->n_ranked == w->cap_ranked) {
        size_t cap = w->cap_ranked ? 2 * w->cap_ranked : 1024;
        struct ranked *n = realloc(w->ranked, cap * sizeof *n);
        if (!n)
            return OTTER_ENOMEM;
        w->ranked = n;
        w->cap_ranked = cap;
    }
    struct ranked *k = &w->ranked[w->n_ranked++];
    k->bucket = otter_rollout_bucket(w->r->id, d->controller_id);
    k->device_id = d->id;
    snprintf(k->controller_id, sizeof k->controller_id, "%s", d->controller_id);
    return 0;
}

/*
 * Cuts the ranked devices into stages: stage i ends at rank
 * round(percent(i) × n / 100), so each stage is exactly its share.
 */
static int assign_stages(struct plan_walk *w)
{
    if (w->n_ranked > 1) /* qsort must not see a NULL array, even of 0 elements */
        qsort(w->ranked, w->n_ranked, sizeof *w->ranked, cmp_ranked);
    size_t rank = 0;
    for (size_t st = 0; st < w->r->n_stages; st++) {
        size_t end = ((size_t)w->r->stages[st].percent * w->n_ranked + 50) / 100;
        for (; rank < end && rank < w->n_ranked; rank++) {
            w->plan->devices++;
            w->plan->per_stage[st]++;
            if (!w->create)
                continue;
            otter_action a = {.tenant_id = w->r->tenant_id,
                              .device_id = w->ranked[rank].device_id,
                              .release_id = w->r->release_id,
                              .rollout_id = w->r->id,
                              .stage = (int64_t)st};
            snprintf(a.download, sizeof a.download, "%s", w->r->download);
            snprintf(a.update, sizeof a.update, "%s", w->r->update);
            snprintf(a.maintenance, sizeof a.maintenance, "%s", w->r->maintenance);
            snprintf(a.consent, sizeof a.consent, "%s", w->r->consent);
            int64_t id;
            int ret = otter_store_action_create(w->s, &a, w->actor, w->now, &id, w->err);
            if (ret < 0)
                return ret;
        }
    }
    w->plan->outside = (int64_t)(w->n_ranked - rank);
    return 0;
}

/* Walks the tenant's devices (optionally one group) 1000 at a time. */
static int walk_devices(struct plan_walk *w, const char *group, otter_store_device_cb cb)
{
    otter_device_filter f = {.tenant_id = w->r->tenant_id, .group = group, .limit = 1000};
    w->last_id = 0;
    for (;;) {
        size_t before = w->seen;
        f.after_id = w->last_id;
        int ret = otter_store_device_list(w->s, &f, cb, w, w->err);
        if (ret < 0)
            return ret == OTTER_ENOMEM ? otter_err_set(w->err, ret, "out of memory") : ret;
        if (w->seen - before < f.limit)
            return 0;
    }
}

int otter_rollout_plan_make(otter_store *s, const otter_rollout *r, const json_t *filter,
                            const char *release_version, int create, int64_t actor, int64_t now,
                            otter_rollout_plan *plan, otter_err *err)
{
    struct plan_walk w = {.s = s,
                          .r = r,
                          .filter = filter,
                          .release_version = release_version,
                          .create = create,
                          .actor = actor,
                          .now = now,
                          .plan = plan,
                          .err = err};
    memset(plan, 0, sizeof *plan);
    json_t *compatible = NULL;
    int ret = otter_release_compatible(s, r->tenant_id, r->release_id, &compatible, err);
    if (ret < 0)
        return ret;
    w.compatible = compatible;
    const json_t *groups = json_object_get(filter, "groups");
    if (groups) {
        size_t i;
        json_t *g;
        json_array_foreach(groups, i, g)
        {
            if ((ret = walk_devices(&w, json_string_value(g), collect_group)) < 0)
                goto out;
        }
        if (!w.group_ids) {
            w.group_ids = malloc(sizeof *w.group_ids); /* empty groups: nothing matches */
            if (!w.group_ids) {
                ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
                goto out;
            }
        }
        if (w.n_group_ids > 1)
            qsort(w.group_ids, w.n_group_ids, sizeof *w.group_ids, cmp_id);
    }
    if ((ret = walk_devices(&w, NULL, plan_device)) == 0)
        ret = assign_stages(&w);
out:
    json_decref(compatible);
    free(w.group_ids);
    free(w.ranked);
    return ret;
}

/* ---- the automatic rules (judged in otter_fleet.c) ---- */

int otter_rollout_evaluate(otter_store *s, otter_rollout *r, int64_t now, int *changed,
                           otter_err *err)
{
    otter_rollout_stats st;
    otter_rollout_event ev;
    char reason[OTTER_FLEET_REASON_MAX];
    int ret;
    *changed = 0;
    /* Each pass may open the next stage, which may already be judged (e.g. empty). */
    for (size_t pass = 0; pass <= r->n_stages; pass++) {
        if (otter_rollout_state_of(r) != OTTER_ROLLOUT_RUNNING)
            break;
        if ((ret = otter_rollout_stats_get(s, r, &st, err)) < 0)
            return ret;
        if (!otter_rollout_judge(r, &st, &ev, reason))
            break;
        if ((ret = otter_rollout_apply(r, ev, reason, err)) < 0 ||
            (ret = otter_store_rollout_update(s, r, now, err)) < 0)
            return ret;
        *changed = 1;
    }
    if (*changed)
        otter_rollout_touch();
    return 0;
}

/* ---- documents ---- */

static json_t *tally_doc(const otter_rollout_tally *t)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "devices", (json_int_t)t->devices,
                     "waiting", (json_int_t)t->waiting, "scheduled", (json_int_t)t->scheduled,
                     "running", (json_int_t)t->running, "success", (json_int_t)t->success,
                     "failure", (json_int_t)t->failure, "canceled", (json_int_t)t->canceled);
}

json_t *otter_rollout_stats_doc(const otter_rollout *r, const otter_rollout_stats *st, json_t *at)
{
    json_t *stages = json_array();
    for (size_t i = 0; stages && i < r->n_stages; i++) {
        json_t *g = tally_doc(&st->stage[i]);
        const char *state = (int64_t)i < r->current_stage    ? "done"
                            : (int64_t)i == r->current_stage ? "current"
                                                             : "waiting";
        otter_rollout_state rs = otter_rollout_state_of(r);
        if (rs == OTTER_ROLLOUT_FINISHED || rs == OTTER_ROLLOUT_DRAFT)
            state = rs == OTTER_ROLLOUT_FINISHED ? "done" : "waiting";
        if (!g || json_object_set_new(g, "index", json_integer((json_int_t)i)) < 0 ||
            json_object_set_new(g, "percent", json_integer(r->stages[i].percent)) < 0 ||
            json_object_set_new(g, "state", json_string(state)) < 0 ||
            json_array_append_new(stages, g) < 0) {
            json_decref(stages);
            json_decref(at);
            return NULL;
        }
    }
    const otter_rollout_user_counts *u = &st->users;
    return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:o}", "rollout",
                     (json_int_t)r->id, "state", r->state, "current_stage",
                     (json_int_t)r->current_stage, "at", at, "total", tally_doc(&st->total),
                     "stages", stages, "users", "waiting", (json_int_t)u->waiting, "postponed",
                     (json_int_t)u->postponed, "declined", (json_int_t)u->declined, "started",
                     (json_int_t)u->started, "traffic", otter_rollout_traffic_doc(&st->traffic));
}

int otter_rollout_stats_users(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                              otter_err *err)
{
    return otter_store_rollout_user_counts(s, r->id, &st->users, err);
}
