/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A rollout's history (issue #15, docs/rollouts.md "Watching a rollout"):
 * a thread looks at the counts of every running or paused rollout (or one
 * that ended in the last minute) every
 * OTTER_API_HISTORY_SECONDS and stores a sample when they differ from the
 * last one (otter_store_sample_add, bounded per rollout). GET
 * /rollouts/{id}/history returns them, so the dashboard's chart starts at
 * the rollout's start whenever the page is opened.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_api_internal.h"
#include "otter_rollout.h"
#include "otter_store_follow.h"

struct api_history {
    otter_api *api;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
};

#define RUNNING_MAX 4096

struct running {
    int64_t id[RUNNING_MAX];
    int64_t tenant[RUNNING_MAX];
    size_t n;
};

static int add_running(void *ctx, const otter_rollout *r)
{
    struct running *w = ctx;
    /* Running or paused, or just ended: its last counts (the success that finished it). */
    int live = strcmp(r->state, "running") == 0 || strcmp(r->state, "paused") == 0;
    int just_ended = (strcmp(r->state, "finished") == 0 || strcmp(r->state, "canceled") == 0) &&
                     r->updated_at >= (int64_t)time(NULL) - 60;
    if (w->n < RUNNING_MAX && (live || just_ended)) {
        w->id[w->n] = r->id;
        w->tenant[w->n++] = r->tenant_id;
    }
    return 0;
}

/* The counts of r as stored in a sample: {"total", "stages"} of its stats doc; caller frees. */
static char *counts_text(otter_store *s, const otter_rollout *r, otter_err *err)
{
    otter_rollout_stats st;
    if (otter_rollout_stats_get(s, r, &st, err) < 0)
        return NULL;
    json_t *doc = otter_rollout_stats_doc(r, &st, json_null());
    json_t *keep = doc ? json_pack("{s:O, s:O}", "total", json_object_get(doc, "total"), "stages",
                                   json_object_get(doc, "stages"))
                       : NULL;
    char *text = keep ? json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(keep);
    json_decref(doc);
    if (!text)
        otter_err_set(err, OTTER_ENOMEM, "rollout history: out of memory");
    return text;
}

/* One rollout: a sample when its counts differ from the last one stored. */
static int sample_one(otter_store *s, int64_t tenant_id, int64_t id, otter_rollout *r,
                      otter_err *err)
{
    static char last[OTTER_STORE_SAMPLE_MAX + 1]; /* the sampler thread's only */
    int found = 0;
    if (otter_rollout_load(s, tenant_id, id, r, &found, err) < 0 || !found)
        return found ? -1 : 0;
    char *text = counts_text(s, r, err);
    if (!text)
        return -1;
    int ret = otter_store_sample_last(s, id, last, sizeof last, &found, err);
    if (ret == 0 && (!found || strcmp(last, text) != 0) && strlen(text) <= OTTER_STORE_SAMPLE_MAX)
        ret = otter_store_sample_add(s, id, (int64_t)time(NULL), text, err);
    free(text);
    return ret;
}

static void sample_all(otter_store *s)
{
    otter_err err;
    struct running *w = calloc(1, sizeof *w);
    otter_rollout *r = malloc(sizeof *r);
    if (!w || !r || otter_store_rollout_list(s, 0, 0, 0, add_running, w, &err) < 0) {
        if (w && r)
            fprintf(stderr, "otter-server: rollout history: %s\n", err.msg);
        goto out;
    }
    for (size_t i = 0; i < w->n; i++)
        if (sample_one(s, w->tenant[i], w->id[i], r, &err) < 0)
            fprintf(stderr, "otter-server: rollout %lld history: %s\n", (long long)w->id[i],
                    err.msg);
out:
    free(w);
    free(r);
}

static void *history_main(void *arg)
{
    struct api_history *hi = arg;
    pthread_mutex_lock(&hi->lock);
    while (!hi->stop) {
        /* Feedback does not bump otter_rollout_generation(): look every interval. */
        pthread_mutex_unlock(&hi->lock);
        sample_all(hi->api->store);
        pthread_mutex_lock(&hi->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += OTTER_API_HISTORY_SECONDS;
        while (!hi->stop && pthread_cond_timedwait(&hi->cond, &hi->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&hi->lock);
    return NULL;
}

int otter_api_history_start(otter_api *api, otter_err *err)
{
    struct api_history *hi = calloc(1, sizeof *hi);
    if (!hi)
        return otter_err_set(err, OTTER_ENOMEM, "rollout history: out of memory");
    hi->api = api;
    pthread_mutex_init(&hi->lock, NULL);
    pthread_cond_init(&hi->cond, NULL);
    if (pthread_create(&hi->thread, NULL, history_main, hi) != 0) {
        pthread_cond_destroy(&hi->cond);
        pthread_mutex_destroy(&hi->lock);
        free(hi);
        return otter_err_set(err, OTTER_EIO, "rollout history: cannot start its thread");
    }
    api->history = hi;
    return 0;
}

void otter_api_history_stop(otter_api *api)
{
    struct api_history *hi = api ? api->history : NULL;
    if (!hi)
        return;
    pthread_mutex_lock(&hi->lock);
    hi->stop = 1;
    pthread_cond_signal(&hi->cond);
    pthread_mutex_unlock(&hi->lock);
    pthread_join(hi->thread, NULL);
    pthread_cond_destroy(&hi->cond);
    pthread_mutex_destroy(&hi->lock);
    free(hi);
    api->history = NULL;
}

static int add_sample(void *ctx, int64_t at, const char *counts)
{
    json_t *arr = ctx;
    json_t *doc = json_loads(counts, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0; /* not ours: skipped */
    }
    json_object_set_new(doc, "at", api_time(at));
    return json_array_append_new(arr, doc) == 0 ? 0 : OTTER_ENOMEM;
}

int api_rollout_history(struct call *c)
{
    otter_err err;
    int found = 0;
    int64_t id = api_id_param(c->param[0]);
    otter_rollout *r = malloc(sizeof *r);
    if (!r)
        return api_fail(c, 500, "path", "out of memory");
    if (id && otter_rollout_load(c->api->store, c->tenant.id, id, r, &found, &err) < 0) {
        free(r);
        return api_fail_err(c, "path", &err);
    }
    free(r);
    if (!found)
        return api_fail(c, 404, "path", "no rollout '%.20s'", c->param[0]);
    json_t *samples = json_array();
    if (!samples)
        return api_fail(c, 500, "path", "out of memory");
    if (otter_store_sample_list(c->api->store, id, add_sample, samples, &err) < 0) {
        json_decref(samples);
        return api_fail_err(c, "path", &err);
    }
    return api_reply(c, 200,
                     json_pack("{s:I, s:i, s:o}", "rollout", (json_int_t)id, "interval_seconds",
                               OTTER_API_HISTORY_SECONDS, "samples", samples));
}
