/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DDI base poll: GET /{tenant}/controller/v1/{controllerId}. Most of a
 * fleet's traffic, and the same few facts each time (who the token is, the
 * action offered, the one installed, whether configData was sent), so
 * those come from the poll cache (otter_pollcache.h) while the store says
 * nothing touching the device changed; the store answers the rest and
 * fills the cache. Cached and uncached polls are written by the same code, so
 * they answer byte for byte alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_auth.h"
#include "otter_ddi_internal.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_fleet.h"

/* Answer text: 3 links of at most ~470 bytes each plus the frame. */
#define ANSWER_MAX 2048

struct text {
    char buf[ANSWER_MAX];
    size_t len;
    int overflow;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t->buf - t->len)
        t->overflow = 1;
    else
        t->len += (size_t)n;
}

/* ,"name":{"href":"<base>/<tenant>/controller/v1/<cid><tail>"} */
static void link(struct text *t, struct ddi_call *c, const char *tenant, const char *cid,
                 const char *name, const char *tail, int64_t id)
{
    put(t, "%s\"%s\":{\"href\":\"%s/%s/controller/v1/%s%s", t->buf[t->len - 1] == '{' ? "" : ",",
        name, c->base, tenant, cid, tail);
    if (id)
        put(t, "/%lld", (long long)id);
    put(t, "\"}");
}

/*
 * The answer as compact JSON with sorted keys (what json_dumps(JSON_COMPACT
 * | JSON_SORT_KEYS) wrote before, so ETags did not change). No escaping
 * is needed: the host is checked by set_base() and tenant and controller
 * id by otter_reqjson_name_ok() (letters, digits, . _ @ -).
 */
static int answer(struct ddi_call *c, const char *tenant, const char *cid,
                  const otter_pollcache_facts *f)
{
    struct text t = {.len = 0};
    char sleep[16];
    otter_ddi_sleep_text(c->ddi->cfg->ddi_polling, sleep, sizeof sleep);
    put(&t, "{\"_links\":{");
    /*
     * Keys in byte order: cancelAction, configData, confirmationBase,
     * deploymentBase, installedBase. An action waiting for the user's
     * consent shows confirmationBase instead of deploymentBase (hawkBit).
     */
    if (f->open_action && f->canceling)
        link(&t, c, tenant, cid, "cancelAction", "/cancelAction", f->open_action);
    if (!f->config_sent) /* asked for until sent once */
        link(&t, c, tenant, cid, "configData", "/configData", 0);
    if (f->open_action && !f->canceling && f->confirming)
        link(&t, c, tenant, cid, "confirmationBase", "/confirmationBase", f->open_action);
    if (f->open_action && !f->canceling && !f->confirming)
        link(&t, c, tenant, cid, "deploymentBase", "/deploymentBase", f->open_action);
    if (f->installed_action)
        link(&t, c, tenant, cid, "installedBase", "/installedBase", f->installed_action);
    put(&t, "},\"config\":{\"polling\":{\"sleep\":\"%s\"}}}", sleep);
    if (t.overflow)
        return ddi_fail(c, 500, "answer too long");

    char hex[OTTER_SHA256_HEX_LEN + 1], etag[40];
    otter_sha256_hex(t.buf, t.len, hex);
    snprintf(etag, sizeof etag, "\"%.32s\"", hex);
    otter_http_add_header(c->resp, "ETag", etag);
    const char *inm = otter_http_header(c->req, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
        return 304;
    free(c->resp->body);
    c->resp->body = malloc(t.len + 1);
    if (!c->resp->body)
        return ddi_fail(c, 500, "out of memory");
    memcpy(c->resp->body, t.buf, t.len + 1);
    return 200;
}

/* The facts of the authenticated c->dev, from the store. */
static int load_facts(struct ddi_call *c, otter_pollcache_facts *f)
{
    otter_err err;
    otter_action open_a, inst;
    int has_open = 0, has_inst = 0;
    if (otter_store_action_open(c->ddi->store, c->dev->id, &open_a, &has_open, &err) < 0 ||
        otter_store_action_installed(c->ddi->store, c->dev->id, &inst, &has_inst, &err) < 0) {
        fprintf(stderr, "otter-server: ddi %s %s: %s\n", c->req->method, c->req->path, err.msg);
        return ddi_fail(c, 500, "internal error");
    }
    *f = (otter_pollcache_facts){
        .device_id = c->dev->id,
        .open_action = has_open ? open_a.id : 0,
        .installed_action = has_inst ? inst.id : 0,
        .last_seen = c->seen_noted ? c->now : c->dev->last_seen,
        .canceling = has_open && otter_action_state_of(&open_a) == OTTER_ACTION_CANCELING,
        .confirming = has_open && open_a.awaiting,
        .config_sent = c->dev->config_sent,
    };
    return 0;
}

int ddi_poll(struct ddi_call *c)
{
    otter_pollcache_facts f;
    int status = load_facts(c, &f);
    return status ? status : answer(c, c->tenant.name, c->dev->controller_id, &f);
}

/*
 * The cache key of a poll: a TargetToken's SHA-256 (the loader fills those
 * by the stored hash); a GatewayToken speaks for every device of its tenant,
 * so its key is the SHA-256 of the token and the device together (a header
 * value holds no newline, so the text is unambiguous).
 */
static int cache_key(const char *tok, int gateway, const char *cid,
                     unsigned char key[OTTER_POLLCACHE_KEY_LEN])
{
    char text[sizeof "gateway\n" + 256 + 1 + OTTER_POLLCACHE_NAME_MAX + 1];
    if (!gateway)
        return otter_auth_token_digest(tok, key);
    if (strlen(cid) > OTTER_POLLCACHE_NAME_MAX)
        return -1;
    snprintf(text, sizeof text, "gateway\n%s\n%s", tok, cid); /* tok: at most 256 (ddi_token) */
    return otter_auth_token_digest(text, key);
}

int ddi_poll_fast(struct ddi_call *c, const char *tenant, const char *cid)
{
    unsigned char key[OTTER_POLLCACHE_KEY_LEN];
    otter_pollcache_facts f;
    uint64_t gen = 0, stamp = 0;
    int gateway = 0;
    const char *tok = ddi_token(c->req, &gateway);
    /*
     * The stamp is read before the store is: a write committed while this
     * poll reads moves its device's stamp past it, so what is read now is
     * never served later. Never the database's log here: the loader thread
     * reads it, polls do not wait.
     */
    int cacheable = tok && otter_store_generation_known(c->ddi->store, &gen) == 0 &&
                    cache_key(tok, gateway, cid, key) == 0;
    if (cacheable && otter_pollcache_get(c->ddi->cache, key, tenant, cid, &f, &stamp) &&
        otter_store_unchanged_since(c->ddi->store, stamp, f.device_id)) {
        otter_metrics_poll_cache(c->ddi->metrics, 1);
        /* Not noted (the batch is full): the next poll tries again. */
        if (c->now - f.last_seen >= DDI_LAST_SEEN_SLACK &&
            ddi_seen_note(c->ddi->seen, f.device_id, c->now))
            otter_pollcache_note_seen(c->ddi->cache, key, c->now);
        return answer(c, tenant, cid, &f);
    }
    if (cacheable)
        otter_metrics_poll_cache(c->ddi->metrics, 0);
    int status = ddi_authenticate(c, tenant, cid);
    if (status == 0)
        status = load_facts(c, &f);
    if (status)
        return status;
    if (cacheable && !c->uncacheable) {
        otter_err err;
        /* Out of memory only costs the next poll a trip to the store. */
        (void)otter_pollcache_put(c->ddi->cache, key, gen, tenant, cid, &f, &err);
    }
    return answer(c, tenant, cid, &f);
}

/* ---- the bulk loader ---- */

/* Half the check interval, so the counter is read about every OTTER_STORE_CHANGES_CHECK_MS. */
#define WARM_TICK_MS (OTTER_STORE_CHANGES_CHECK_MS / 2)
#define WARM_MIN_GAP_MS 1000

struct warm_load {
    otter_ddi *ddi;
    uint64_t gen;
    size_t rows, loaded;
    int stopped; /* a change to any device came during the load */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int warm_row(void *ctx, const otter_poll_row *r)
{
    struct warm_load *w = ctx;
    unsigned char key[OTTER_POLLCACHE_KEY_LEN];
    otter_err err;
    uint64_t gen;
    /* A change to any device since: the rest would be stale on arrival. */
    if (++w->rows % 4096 == 0 && (otter_store_generation(w->ddi->store, &gen) < 0 ||
                                  otter_store_generation_wide(w->ddi->store) > w->gen)) {
        w->stopped = 1;
        return OTTER_ESTATE;
    }
    /* Stored hashes are lower-case hex (otter_auth_token_hash); anything else is not cached. */
    if (!otter_is_lower_hex(r->token_sha256, 2 * sizeof key) ||
        otter_hex_decode(r->token_sha256, key, sizeof key, NULL) < 0)
        return 0;
    otter_pollcache_facts f = {.device_id = r->device_id,
                               .open_action = r->open_action,
                               .installed_action = r->installed_action,
                               .last_seen = r->last_seen,
                               .canceling = r->canceling,
                               .confirming = r->confirming,
                               .config_sent = r->config_sent};
    if (otter_pollcache_put(w->ddi->cache, key, w->gen, r->tenant, r->controller_id, &f, &err) == 0)
        w->loaded++;
    return 0;
}

static void *warm_main(void *arg)
{
    otter_ddi *ddi = arg;
    uint64_t loaded_wide = 0;
    int have = 0;
    int64_t next = 0;
    pthread_mutex_lock(&ddi->warm_mx);
    while (!ddi->warm_stop) {
        pthread_mutex_unlock(&ddi->warm_mx);
        struct warm_load w = {.ddi = ddi};
        int64_t t0 = mono_ms();
        /*
         * Every tick: this keeps the stamps current for the polls, which
         * never ask the database themselves. Read before the load, as for a
         * single poll: a write during the load voids what it loaded of its
         * devices. Only a change to any device calls for a reload; one
         * device's change costs that device's next poll a trip to the store.
         */
        int known = otter_store_generation(ddi->store, &w.gen) == 0;
        /* Wide first: a change to any device after it makes the next tick load again. */
        uint64_t wide = otter_store_generation_wide(ddi->store);
        known = known && otter_store_generation_known(ddi->store, &w.gen) == 0;
        if (known && t0 >= next && (!have || wide != loaded_wide)) {
            otter_err err;
            if (otter_store_device_poll_rows(ddi->store, (int64_t)ddi->cfg->ddi_poll_cache,
                                             warm_row, &w, &err) < 0 &&
                !w.stopped)
                fprintf(stderr, "otter-server: poll cache: %s\n", err.msg);
            loaded_wide = wide;
            have = 1;
            /* Busy stores (a write every second) must not keep a thread loading. */
            int64_t took = mono_ms() - t0;
            next = mono_ms() + (took * 4 > WARM_MIN_GAP_MS ? took * 4 : WARM_MIN_GAP_MS);
        }
        pthread_mutex_lock(&ddi->warm_mx);
        if (ddi->warm_stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WARM_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ddi->warm_cv, &ddi->warm_mx, &until);
    }
    pthread_mutex_unlock(&ddi->warm_mx);
    return NULL;
}

int ddi_warm_start(otter_ddi *ddi, otter_err *err)
{
    pthread_mutex_init(&ddi->warm_mx, NULL);
    pthread_cond_init(&ddi->warm_cv, NULL);
    ddi->warm_stop = 0;
    if (pthread_create(&ddi->warm_thread, NULL, warm_main, ddi) != 0) {
        pthread_cond_destroy(&ddi->warm_cv);
        pthread_mutex_destroy(&ddi->warm_mx);
        return otter_err_set(err, OTTER_EIO, "cannot start the poll cache loader");
    }
    ddi->warm_started = 1;
    return 0;
}

void ddi_warm_stop(otter_ddi *ddi)
{
    if (!ddi || !ddi->warm_started)
        return;
    pthread_mutex_lock(&ddi->warm_mx);
    ddi->warm_stop = 1;
    pthread_cond_signal(&ddi->warm_cv);
    pthread_mutex_unlock(&ddi->warm_mx);
    pthread_join(ddi->warm_thread, NULL);
    pthread_cond_destroy(&ddi->warm_cv);
    pthread_mutex_destroy(&ddi->warm_mx);
    ddi->warm_started = 0;
}
