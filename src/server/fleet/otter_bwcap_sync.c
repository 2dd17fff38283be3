/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bandwidth caps' heartbeat (otter_bwcap_sync.h): the buckets are
 * copied out under their lock, the store is asked without it (a slow
 * database never holds a download's take), and the answers go back in.
 */
#include "otter_bwcap_sync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_crypt.h"
#include "otter_store_bwcap.h"
#include "otter_store_caps.h"

/* Between two beats at least this long, however many downloads start. */
#define BEAT_MIN_GAP_MS 50

struct otter_bwcap_sync {
    otter_bwcap *b;
    otter_store *s;
    char server[33]; /* random hex id of this process */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, woken;
};

struct list {
    otter_store_caps_demand *d;
    size_t n, cap;
    int busy; /* a download here or elsewhere */
};

static int collect(void *ctx, otter_bwcap_scope scope, int64_t id, int64_t downloads,
                   int64_t others, otter_err *err)
{
    struct list *l = ctx;
    l->busy |= downloads > 0 || others > 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        otter_store_caps_demand *d = realloc(l->d, cap * sizeof *d);
        if (!d)
            return otter_err_set(err, OTTER_ENOMEM, "bandwidth caps: out of memory");
        l->d = d;
        l->cap = cap;
    }
    l->d[l->n++] = (otter_store_caps_demand){.scope = (int)scope, .id = id, .demand = downloads};
    return 0;
}

/* The caps as set now (another server may have changed one): the buckets follow. */
static int refresh_caps(otter_bwcap *b, otter_store *s, const struct list *l, otter_err *err)
{
    int ret;
    for (size_t i = 0; i < l->n; i++) {
        int64_t rcap = 0, tcap = 0;
        int rollout = l->d[i].scope == OTTER_BWCAP_ROLLOUT;
        if ((ret = otter_store_bwcap_get(s, rollout ? l->d[i].id : 0, rollout ? 0 : l->d[i].id,
                                         &rcap, &tcap, err)) < 0 ||
            (ret = otter_bwcap_set(b, (otter_bwcap_scope)l->d[i].scope, l->d[i].id,
                                   rollout ? rcap : tcap, err)) < 0)
            return ret;
    }
    return 0;
}

int otter_bwcap_sync_beat(otter_bwcap *b, otter_store *s, const char *server, int64_t now_ms,
                          int *published, otter_err *err)
{
    struct list l = {0};
    int ret = otter_bwcap_each(b, collect, &l, err);
    if (ret < 0 || (!l.busy && !*published))
        goto out; /* idle: no write twice a second on a server nobody downloads from */
    if ((ret = otter_store_caps_beat(s, server, now_ms, now_ms + OTTER_BWCAP_TTL_MS, l.d, l.n,
                                     err)) < 0)
        goto out;
    *published = 0;
    for (size_t i = 0; i < l.n; i++)
        *published |= l.d[i].demand > 0;
    for (size_t i = 0; i < l.n; i++)
        otter_bwcap_set_others(b, (otter_bwcap_scope)l.d[i].scope, l.d[i].id, l.d[i].others);
    ret = refresh_caps(b, s, &l, err);
out:
    free(l.d);
    return ret;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pthread_cond_timedwait's deadline, ms from now. */
static struct timespec after_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long ns = t.tv_nsec + (ms % 1000) * 1000000L;
    t.tv_sec += ms / 1000 + ns / 1000000000L;
    t.tv_nsec = ns % 1000000000L;
    return t;
}

static void *beat_main(void *arg)
{
    otter_bwcap_sync *y = arg;
    char last[sizeof((otter_err *)0)->msg] = "";
    int published = 0;
    pthread_mutex_lock(&y->lock);
    while (!y->stop) {
        pthread_mutex_unlock(&y->lock);
        otter_err err;
        if (otter_bwcap_sync_beat(y->b, y->s, y->server, wall_ms(), &published, &err) < 0) {
            if (strcmp(last, err.msg) != 0) /* once per new failure, not twice a second */
                fprintf(stderr, "otter-server: bandwidth caps heartbeat: %s\n", err.msg);
            snprintf(last, sizeof last, "%s", err.msg);
        } else {
            last[0] = '\0';
        }
        pthread_mutex_lock(&y->lock);
        struct timespec gap = after_ms(BEAT_MIN_GAP_MS), next = after_ms(OTTER_BWCAP_BEAT_MS);
        while (!y->stop && pthread_cond_timedwait(&y->cond, &y->lock, &gap) == 0)
            ; /* a wake-up before the gap: beat at its end */
        while (!y->stop && !y->woken && pthread_cond_timedwait(&y->cond, &y->lock, &next) == 0)
            ;
        y->woken = 0;
    }
    pthread_mutex_unlock(&y->lock);
    return NULL;
}

static void wake(void *ctx)
{
    otter_bwcap_sync *y = ctx;
    pthread_mutex_lock(&y->lock);
    y->woken = 1;
    pthread_cond_signal(&y->cond);
    pthread_mutex_unlock(&y->lock);
}

int otter_bwcap_sync_start(otter_bwcap *b, otter_store *s, otter_bwcap_sync **out, otter_err *err)
{
    uint8_t id[16];
    int ret;
    *out = NULL;
    otter_bwcap_sync *y = calloc(1, sizeof *y);
    if (!y)
        return otter_err_set(err, OTTER_ENOMEM, "bandwidth caps: out of memory");
    if ((ret = otter_crypt_random(id, sizeof id, err)) < 0) {
        free(y);
        return ret;
    }
    for (size_t i = 0; i < sizeof id; i++)
        snprintf(y->server + 2 * i, 3, "%02x", id[i]);
    y->b = b;
    y->s = s;
    pthread_mutex_init(&y->lock, NULL);
    pthread_cond_init(&y->cond, NULL);
    if (pthread_create(&y->thread, NULL, beat_main, y) != 0) {
        pthread_cond_destroy(&y->cond);
        pthread_mutex_destroy(&y->lock);
        free(y);
        return otter_err_set(err, OTTER_EIO, "bandwidth caps: cannot start the heartbeat thread");
    }
    otter_bwcap_set_wake(b, wake, y);
    *out = y;
    return 0;
}

void otter_bwcap_sync_stop(otter_bwcap_sync *y)
{
    if (!y)
        return;
    otter_bwcap_set_wake(y->b, NULL, NULL);
    pthread_mutex_lock(&y->lock);
    y->stop = 1;
    pthread_cond_signal(&y->cond);
    pthread_mutex_unlock(&y->lock);
    pthread_join(y->thread, NULL);
    otter_err err;
    if (otter_store_caps_beat(y->s, y->server, wall_ms(), 0, NULL, 0, &err) < 0)
        fprintf(stderr, "otter-server: bandwidth caps: removing this server's demand: %s\n",
                err.msg);
    pthread_cond_destroy(&y->cond);
    pthread_mutex_destroy(&y->lock);
    free(y);
}
