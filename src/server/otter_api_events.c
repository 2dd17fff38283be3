/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET …/rollouts/{id}/events: the rollout's stats as Server-Sent Events.
 * One `stats` event at once, then one whenever the counts, the state or
 * the stage change, a comment line as keep-alive, and the end of the
 * stream when the caller's token expires or the rollout goes away (the
 * browser reconnects with a fresh ticket). The HTTP layer parks the
 * connection between pulls, so a quiet stream costs nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_api_internal.h"
#include "otter_rollout.h"

#define KEEPALIVE_SECONDS_MAX 10
#define RECOMPUTE_MIN_MS 500 /* at most two stats queries a second per stream */
#define RETRY_MS 2000
#define RECHECK_MS 5000 /* a quiet stream still looks this often (several servers) */

struct events {
    otter_store *store; /* borrowed: outlives every connection */
    int64_t tenant_id;
    int64_t rollout_id;
    int64_t expires_at;
    uint64_t generation;
    int64_t last_compute_ms;
    int64_t last_send;
    int64_t keepalive; /* seconds; well inside the server's idle connection timeout */
    uint64_t event_id;
    int have_last;
    otter_rollout_stats last;
    char last_state[OTTER_STORE_WORD_MAX + 1];
    int64_t last_stage;
    char last_reason[OTTER_STORE_REASON_MAX + 1];
    int64_t last_look; /* wall-clock second of the previous look at the rollout */
    char *out; /* pending bytes */
    size_t out_len, out_pos;
    otter_rollout r; /* scratch */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_out(struct events *e, char *text)
{
    free(e->out);
    e->out = text;
    e->out_len = text ? strlen(text) : 0;
    e->out_pos = 0;
}

/*
 * Every stream of a rollout wants the same numbers after the same change, so the
 * last look at each rollout is shared: a hundred open dashboards cost one count
 * query per change (each stream asks at most twice a second), not a hundred.
 * Direct-mapped by rollout id; a collision only costs a recount.
 */
#define SHARED_LOOKS 32

struct look {
    int64_t tenant_id, rollout_id; /* 0: empty */
    uint64_t generation;           /* what otter_rollout_generation() was before the look */
    int64_t at_ms;
    otter_rollout r;
    otter_rollout_stats st;
};

static struct look looks[SHARED_LOOKS];
static pthread_mutex_t looks_lock = PTHREAD_MUTEX_INITIALIZER;

/* The rollout and its counts as of generation gen: shared when someone looked already. */
static int look_at(struct events *e, uint64_t gen, otter_rollout_stats *st)
{
    struct look *l = &looks[(uint64_t)e->rollout_id % SHARED_LOOKS];
    pthread_mutex_lock(&looks_lock);
    /* Young looks only: another server's writes do not move this one's generation. */
    int hit = l->rollout_id == e->rollout_id && l->tenant_id == e->tenant_id &&
              l->generation == gen && now_ms() - l->at_ms < RECOMPUTE_MIN_MS;
    if (hit) {
        e->r = l->r;
        *st = l->st;
    }
    pthread_mutex_unlock(&looks_lock);
    if (hit)
        return 0;
    otter_err err;
    int found = 0;
    if (otter_rollout_load(e->store, e->tenant_id, e->rollout_id, &e->r, &found, &err) < 0 ||
        !found || otter_rollout_stats_get(e->store, &e->r, st, &err) < 0)
        return -1;
    pthread_mutex_lock(&looks_lock);
    l->tenant_id = e->tenant_id;
    l->rollout_id = e->rollout_id;
    l->generation = gen;
    l->at_ms = now_ms();
    l->r = e->r;
    l->st = *st;
    pthread_mutex_unlock(&looks_lock);
    return 0;
}

/* Builds the next event when something changed; 1 = made one, 0 = nothing new, -1 = end. */
static int next_event(struct events *e, uint64_t gen, int64_t now)
{
    otter_rollout_stats st;
    if (look_at(e, gen, &st) < 0)
        return -1;
    /*
     * Same counts, state and stage as the last event is not enough to stay quiet:
     * pulls are paced, so "resume, then revoke" can fall between two of them and
     * look like nothing happened, while the page learnt "running" from its own
     * resume. A rollout written since the previous look (updated_at has whole
     * seconds, hence >=) is always told; a duplicate event is harmless.
     */
    int touched = e->r.updated_at >= e->last_look;
    e->last_look = now;
    if (e->have_last && !touched && memcmp(&st, &e->last, sizeof st) == 0 &&
        strcmp(e->r.state, e->last_state) == 0 && e->r.current_stage == e->last_stage &&
        strcmp(e->r.pause_reason, e->last_reason) == 0)
        return 0;
    json_t *doc = otter_rollout_stats_doc(&e->r, &st, api_time(now));
    char *data = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!data)
        return -1;
    size_t cap = strlen(data) + 64;
    char *text = malloc(cap);
    if (text)
        snprintf(text, cap, "id: %llu\nevent: stats\ndata: %s\n\n",
                 (unsigned long long)++e->event_id, data);
    free(data);
    if (!text)
        return -1;
    set_out(e, text);
    e->last = st;
    e->have_last = 1;
    snprintf(e->last_state, sizeof e->last_state, "%s", e->r.state);
    e->last_stage = e->r.current_stage;
    snprintf(e->last_reason, sizeof e->last_reason, "%s", e->r.pause_reason);
    return 1;
}

static long events_pull(void *ctx, char *buf, size_t cap)
{
    struct events *e = ctx;
    int64_t now = (int64_t)time(NULL);
    if (e->out_pos == e->out_len) {
        if (now >= e->expires_at)
            return -1;
        int64_t ms = now_ms();
        uint64_t gen = otter_rollout_generation();
        int made = 0;
        /* A change here moves the generation; one made through another server does not. */
        if ((gen != e->generation || ms - e->last_compute_ms >= RECHECK_MS) &&
            ms - e->last_compute_ms >= RECOMPUTE_MIN_MS) {
            e->generation = gen;
            e->last_compute_ms = ms;
            if ((made = next_event(e, gen, now)) < 0)
                return -1;
        }
        if (!made && now - e->last_send >= e->keepalive) {
            char *ka = strdup(": keepalive\n\n");
            if (!ka)
                return -1;
            set_out(e, ka);
        }
        if (e->out_pos == e->out_len)
            return 0;
        e->last_send = now;
    }
    size_t n = e->out_len - e->out_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, e->out + e->out_pos, n);
    e->out_pos += n;
    return (long)n;
}

static void events_release(void *ctx)
{
    struct events *e = ctx;
    free(e->out);
    free(e);
}

int api_rollouts_events(struct call *c)
{
    otter_err err;
    int found = 0;
    int64_t id = api_id_param(c->param[0]);
    struct events *e = calloc(1, sizeof *e);
    if (!e)
        return api_fail(c, 500, "path", "out of memory");
    if (id && otter_rollout_load(c->api->store, c->tenant.id, id, &e->r, &found, &err) < 0) {
        free(e);
        return api_fail_err(c, "path", &err);
    }
    if (!found) {
        free(e);
        return api_fail(c, 404, "path", "no rollout '%.20s'", c->param[0]);
    }
    e->store = c->api->store;
    e->tenant_id = c->tenant.id;
    e->rollout_id = id;
    e->expires_at = c->token.expires_at;
    e->last_send = c->now;
    /* Quiet longer than [limits] connection_timeout and the server drops the stream. */
    e->keepalive = (int64_t)c->api->cfg->connection_timeout / 3;
    if (e->keepalive < 1)
        e->keepalive = 1;
    if (e->keepalive > KEEPALIVE_SECONDS_MAX)
        e->keepalive = KEEPALIVE_SECONDS_MAX;
    /* The first pull sends the current stats at once; "retry" paces reconnections. */
    char hello[64];
    snprintf(hello, sizeof hello, "retry: %d\n\n", RETRY_MS);
    set_out(e, strdup(hello));
    e->generation = otter_rollout_generation() - 1;
    c->resp->stream = (otter_http_stream){events_pull, events_release, e};
    c->resp->content_type = "text/event-stream";
    return 200;
}
