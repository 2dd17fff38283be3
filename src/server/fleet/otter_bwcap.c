/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token buckets for the server-side bandwidth caps (otter_bwcap.h): one
 * list under one mutex. A bucket lives while it has a cap or a download
 * holds it; the list is bounded by the rollouts and tenants with a cap.
 * A bucket fills at this server's share of the cap; each download holding
 * it has a credit of its own that fills at share / downloads, so k
 * downloads get share / k each whatever order they ask in.
 */
#include "otter_bwcap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define NS 1000000000ull
#define MIN_BLOCK 4096
/* A download's own credit holds at least one 64 KiB block (the pace block). */
#define PACE_BURST_MIN 65536.0

struct bucket {
    struct bucket *next;
    otter_bwcap_scope scope;
    int64_t id;
    int64_t cap;    /* bytes/s for the whole deployment, 0: none */
    int64_t others; /* other servers' downloads under it (last heartbeat) */
    int64_t share;  /* this server's rate: cap x refs / (others + refs) */
    double tokens;
    uint64_t last_ns;
    unsigned refs; /* paces holding it */
    /* The measured rate: bytes taken since win_start_ns; rate from the last full window. */
    uint64_t win_start_ns, win_bytes;
    int64_t rate;
};

struct otter_bwcap {
    pthread_mutex_t lock;
    struct bucket *head;
    void (*wake)(void *ctx); /* the heartbeat's (otter_bwcap_sync.c), NULL: none */
    void *wake_ctx;
};

struct otter_bwcap_pace {
    otter_bwcap *b;
    struct bucket *k[2]; /* rollout's and tenant's, either may be NULL */
    double credit[2];    /* this download's own tokens in each bucket */
    uint64_t credit_ns[2];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static double burst_of(int64_t cap)
{
    double burst = (double)cap / 4.0;
    return burst < OTTER_BWCAP_BURST_MIN ? OTTER_BWCAP_BURST_MIN : burst;
}

int otter_bwcap_new(otter_bwcap **out, otter_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return otter_err_set(err, OTTER_ENOMEM, "bandwidth caps: out of memory");
    pthread_mutex_init(&(*out)->lock, NULL);
    return 0;
}

void otter_bwcap_free(otter_bwcap *b)
{
    if (!b)
        return;
    for (struct bucket *k = b->head, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/*
 * Under lock: this server's rate for k from the deployment's demand. With
 * no download here it is what one new download would get.
 */
static void reshare(struct bucket *k)
{
    int64_t mine = k->refs ? (int64_t)k->refs : 1;
    k->share = (int64_t)((double)k->cap * (double)mine / (double)(k->others + mine));
    if (k->cap && k->share < 1)
        k->share = 1;
}

/* Under lock: the scope's bucket, or NULL. */
static struct bucket *find(otter_bwcap *b, otter_bwcap_scope scope, int64_t id)
{
    for (struct bucket *k = b->head; k; k = k->next)
        if (k->scope == scope && k->id == id)
            return k;
    return NULL;
}

/* Under lock: drops k when nothing needs it any more (no cap, no download). */
static void maybe_drop(otter_bwcap *b, struct bucket *k)
{
    if (k->cap || k->refs)
        return;
    for (struct bucket **pp = &b->head; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            free(k);
            return;
        }
}

/* Under lock: adds tokens for the time since the last refill, up to the burst. */
static void refill(struct bucket *k, uint64_t now)
{
    if (now > k->last_ns && k->cap) {
        k->tokens += (double)(now - k->last_ns) * (double)k->share / (double)NS;
        if (k->tokens > burst_of(k->share))
            k->tokens = burst_of(k->share);
    }
    if (now > k->last_ns)
        k->last_ns = now;
}

/* Under lock: the window's rate, closed once a second has passed. */
static void measure(struct bucket *k, uint64_t bytes, uint64_t now)
{
    if (!k->win_start_ns)
        k->win_start_ns = now;
    if (now - k->win_start_ns >= NS) {
        k->rate = (int64_t)((double)k->win_bytes * (double)NS / (double)(now - k->win_start_ns));
        k->win_start_ns = now;
        k->win_bytes = 0;
    }
    k->win_bytes += bytes;
}

int otter_bwcap_set(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t cap,
                    otter_err *err)
{
    if (!b)
        return 0;
    int ret = 0;
    pthread_mutex_lock(&b->lock);
    struct bucket *k = find(b, scope, id);
    if (!k && cap > 0) {
        if (!(k = calloc(1, sizeof *k))) {
            ret = otter_err_set(err, OTTER_ENOMEM, "bandwidth caps: out of memory");
            goto out;
        }
        *k = (struct bucket){.next = b->head, .scope = scope, .id = id, .cap = cap};
        reshare(k);
        k->tokens = burst_of(k->share);
        k->last_ns = now_ns();
        b->head = k;
    } else if (k) {
        refill(k, now_ns()); /* the tokens earned under the old rate */
        k->cap = cap > 0 ? cap : 0;
        reshare(k);
        if (k->cap && k->tokens > burst_of(k->share))
            k->tokens = burst_of(k->share);
        maybe_drop(b, k);
    }
out:
    pthread_mutex_unlock(&b->lock);
    return ret;
}

void otter_bwcap_get(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t *cap,
                     int64_t *rate)
{
    *cap = *rate = 0;
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    struct bucket *k = find(b, scope, id);
    if (k) {
        measure(k, 0, now_ns());
        *cap = k->cap;
        *rate = k->rate;
    }
    pthread_mutex_unlock(&b->lock);
}

int otter_bwcap_pace_new(otter_bwcap *b, int64_t rollout_id, int64_t tenant_id,
                         otter_bwcap_pace **out, otter_err *err)
{
    *out = NULL;
    if (!b)
        return 0;
    otter_bwcap_pace *p = calloc(1, sizeof *p);
    if (!p)
        return otter_err_set(err, OTTER_ENOMEM, "bandwidth caps: out of memory");
    p->b = b;
    pthread_mutex_lock(&b->lock);
    struct bucket *r = rollout_id ? find(b, OTTER_BWCAP_ROLLOUT, rollout_id) : NULL;
    struct bucket *t = find(b, OTTER_BWCAP_TENANT, tenant_id);
    p->k[0] = r && r->cap ? r : NULL;
    p->k[1] = t && t->cap ? t : NULL;
    uint64_t now = now_ns();
    for (int i = 0; i < 2; i++)
        if (p->k[i]) {
            refill(p->k[i], now); /* the tokens earned at the old share */
            p->k[i]->refs++;
            reshare(p->k[i]);
        }
    void (*wake)(void *) = b->wake;
    void *wake_ctx = b->wake_ctx;
    pthread_mutex_unlock(&b->lock);
    if (wake && (p->k[0] || p->k[1]))
        wake(wake_ctx); /* tell the other servers soon, not at the next beat */
    if (!p->k[0] && !p->k[1]) {
        free(p); /* nothing to pace */
        return 0;
    }
    *out = p;
    return 0;
}

void otter_bwcap_pace_free(otter_bwcap_pace *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->b->lock);
    for (int i = 0; i < 2; i++)
        if (p->k[i]) {
            refill(p->k[i], now_ns());
            p->k[i]->refs--;
            reshare(p->k[i]);
            maybe_drop(p->b, p->k[i]);
        }
    pthread_mutex_unlock(&p->b->lock);
    free(p);
}

/*
 * Under lock: adds to the download's credit in bucket i its fair part of
 * the share for the time since it last asked, up to a quarter of a second
 * of it (at least one block, so a tick woken late loses nothing).
 */
static double credit(otter_bwcap_pace *p, int i, uint64_t now)
{
    struct bucket *k = p->k[i];
    double rate = (double)k->share / (double)(k->refs ? k->refs : 1);
    double burst = rate / 4.0 < PACE_BURST_MIN ? PACE_BURST_MIN : rate / 4.0;
    if (!p->credit_ns[i]) {
        /*
         * A download starts with one block of credit at its first ask: a
         * full quarter of a second would let the first of several that
         * start together run ahead of the others (measured: 1.3 against
         * 1.1 MiB/s under a 3 MiB/s cap).
         */
        p->credit_ns[i] = now;
        p->credit[i] = PACE_BURST_MIN;
    }
    if (now > p->credit_ns[i]) {
        p->credit[i] += (double)(now - p->credit_ns[i]) * rate / (double)NS;
        p->credit_ns[i] = now;
    }
    if (p->credit[i] > burst)
        p->credit[i] = burst;
    return p->credit[i];
}

size_t otter_bwcap_take_at(otter_bwcap_pace *p, size_t want, uint64_t now_ns)
{
    size_t n = want;
    pthread_mutex_lock(&p->b->lock);
    for (int i = 0; i < 2; i++) {
        struct bucket *k = p->k[i];
        if (!k || !k->cap)
            continue; /* the cap was lifted while the download ran */
        refill(k, now_ns);
        double have = k->tokens < credit(p, i, now_ns) ? k->tokens : p->credit[i];
        if (have < (double)n)
            n = have > 0 ? (size_t)have : 0;
    }
    if (n < (want < MIN_BLOCK ? want : MIN_BLOCK))
        n = 0; /* not worth a write: wait for the next tick */
    for (int i = 0; i < 2; i++) {
        struct bucket *k = p->k[i];
        if (!k)
            continue;
        if (k->cap) {
            k->tokens -= (double)n;
            p->credit[i] -= (double)n;
        }
        measure(k, n, now_ns);
    }
    pthread_mutex_unlock(&p->b->lock);
    return n;
}

size_t otter_bwcap_take(void *ctx, size_t want)
{
    return otter_bwcap_take_at(ctx, want, now_ns());
}

int otter_bwcap_each(otter_bwcap *b, otter_bwcap_visit_fn visit, void *ctx, otter_err *err)
{
    int ret = 0;
    pthread_mutex_lock(&b->lock);
    for (struct bucket *k = b->head; k && ret == 0; k = k->next)
        if (k->cap)
            ret = visit(ctx, k->scope, k->id, (int64_t)k->refs, k->others, err);
    pthread_mutex_unlock(&b->lock);
    return ret;
}

void otter_bwcap_set_others(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t others)
{
    pthread_mutex_lock(&b->lock);
    struct bucket *k = find(b, scope, id);
    if (k && k->others != others) {
        refill(k, now_ns()); /* the tokens earned at the old share */
        k->others = others > 0 ? others : 0;
        reshare(k);
        if (k->cap && k->tokens > burst_of(k->share))
            k->tokens = burst_of(k->share);
    }
    pthread_mutex_unlock(&b->lock);
}

void otter_bwcap_set_wake(otter_bwcap *b, void (*wake)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&b->lock);
    b->wake = wake;
    b->wake_ctx = ctx;
    pthread_mutex_unlock(&b->lock);
}

static const char *const scope_names[] = {"rollout", "tenant"};

void otter_bwcap_render(void *ctx, void (*put)(void *ctx, const char *fmt, ...), void *put_ctx)
{
    otter_bwcap *b = ctx;
    if (!b)
        return;
    put(put_ctx, "# HELP otter_bandwidth_cap_bytes_per_second Server-side cap on artifact bytes, "
                 "by rollout or tenant (this server).\n"
                 "# TYPE otter_bandwidth_cap_bytes_per_second gauge\n");
    pthread_mutex_lock(&b->lock);
    for (struct bucket *k = b->head; k; k = k->next)
        if (k->cap)
            put(put_ctx,
                "otter_bandwidth_cap_bytes_per_second{scope=\"%s\",id=\"%" PRId64 "\"} %" PRId64
                "\n",
                scope_names[k->scope], k->id, k->cap);
    put(put_ctx, "# HELP otter_bandwidth_rate_bytes_per_second Artifact bytes sent under a cap "
                 "over the last second, by rollout or tenant (this server).\n"
                 "# TYPE otter_bandwidth_rate_bytes_per_second gauge\n");
    uint64_t now = now_ns();
    for (struct bucket *k = b->head; k; k = k->next)
        if (k->cap) {
            measure(k, 0, now);
            put(put_ctx,
                "otter_bandwidth_rate_bytes_per_second{scope=\"%s\",id=\"%" PRId64 "\"} %" PRId64
                "\n",
                scope_names[k->scope], k->id, k->rate);
        }
    put(put_ctx, "# HELP otter_bandwidth_share_bytes_per_second This server's share of a cap "
                 "(all of it when no other server has downloads under it).\n"
                 "# TYPE otter_bandwidth_share_bytes_per_second gauge\n");
    for (struct bucket *k = b->head; k; k = k->next)
        if (k->cap)
            put(put_ctx,
                "otter_bandwidth_share_bytes_per_second{scope=\"%s\",id=\"%" PRId64 "\"} %" PRId64
                "\n",
                scope_names[k->scope], k->id, k->share);
    pthread_mutex_unlock(&b->lock);
}
