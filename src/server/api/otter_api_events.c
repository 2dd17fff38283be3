/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET …/rollouts/{id}/events: the rollout's stats as Server-Sent Events.
 * One `stats` event at once, then one whenever the counts, the state or
 * the stage change, a comment line as keep-alive, and the end of the
 * stream when the caller's token expires or the rollout goes away (the
 * browser reconnects with a fresh ticket). The stream also ends once the
 * caller may no longer read it: its token (or the token that made its
 * ticket) revoked, its membership in the tenant gone, the user deleted;
 * looked at again after every write through this server and every few
 * seconds anyway (a write through another server). A user has at most
 * [limits] max_streams_per_user streams open on one server. The HTTP
 * layer parks the connection between pulls, so a quiet stream costs nothing.
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
    otter_api *api;     /* borrowed: outlives every connection */
    otter_store *store; /* borrowed: outlives every connection */
    int64_t user_id;
    char token_sha[OTTER_AUTH_SHA256_HEX];
    char parent_sha[OTTER_AUTH_SHA256_HEX]; /* of the token that made its ticket, or "" */
    unsigned writes;                        /* api->writes at the last look at the caller */
    int64_t last_auth_ms;
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
    char *out;         /* pending bytes */
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
        !found || otter_rollout_stats_get(e->store, &e->r, st, &err) < 0 ||
        otter_rollout_stats_users(e->store, &e->r, st, &err) < 0 ||
        otter_rollout_stats_traffic(e->store, &e->r, st, &err) < 0)
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
    otter_err err;
    if (doc && api_campaign_stats_add(e->store, doc, e->rollout_id, &err) < 0) /* as GET stats */
        json_object_del(doc, "deferrals");
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

/* Whether the caller may still read the stream: 1 yes, 0 no (or the store failed: end it). */
static int caller_allowed(struct events *e, int64_t now)
{
    otter_err err;
    otter_user u;
    otter_role role = OTTER_ROLE_NONE;
    int live = 0, found = 0;
    if (api_token_live(e->store, e->token_sha, now, &live, &err) < 0 || !live)
        return 0;
    if (e->parent_sha[0] &&
        (api_token_live(e->store, e->parent_sha, now, &live, &err) < 0 || !live))
        return 0;
    if (otter_store_user_get_by_id(e->store, e->user_id, &u, &found, &err) < 0 || !found)
        return 0;
    if (u.is_admin)
        return 1;
    return otter_store_member_get(e->store, e->user_id, e->tenant_id, &role, &err) == 0 &&
           role != OTTER_ROLE_NONE;
}

/* Looks at the caller after a write through this server (paced), and every RECHECK_MS. */
static int still_allowed(struct events *e, int64_t now)
{
    int64_t ms = now_ms();
    unsigned writes = atomic_load(&e->api->writes);
    if ((writes == e->writes || ms - e->last_auth_ms < RECOMPUTE_MIN_MS) &&
        ms - e->last_auth_ms < RECHECK_MS)
        return 1;
    e->writes = writes;
    e->last_auth_ms = ms;
    return caller_allowed(e, now);
}

/* Counts a stream of user_id; 0, or -1 when the user has max_streams_per_user open already. */
static int streams_enter(otter_api *api, int64_t user_id)
{
    int ret = -1;
    size_t free_slot = OTTER_HTTP_STREAMS_MAX;
    pthread_mutex_lock(&api->streams_lock);
    for (size_t i = 0; i < OTTER_HTTP_STREAMS_MAX; i++) {
        if (api->streams[i].user_id == user_id) {
            if (api->streams[i].n < api->cfg->max_streams_per_user) {
                api->streams[i].n++;
                ret = 0;
            }
            goto out;
        }
        if (!api->streams[i].user_id && free_slot == OTTER_HTTP_STREAMS_MAX)
            free_slot = i;
    }
    /* Every slot holds a user: the HTTP layer refuses that many streams anyway. */
    if (free_slot < OTTER_HTTP_STREAMS_MAX) {
        api->streams[free_slot].user_id = user_id;
        api->streams[free_slot].n = 1;
        ret = 0;
    }
out:
    pthread_mutex_unlock(&api->streams_lock);
    return ret;
}

static void streams_leave(otter_api *api, int64_t user_id)
{
    pthread_mutex_lock(&api->streams_lock);
    for (size_t i = 0; i < OTTER_HTTP_STREAMS_MAX; i++)
        if (api->streams[i].user_id == user_id && --api->streams[i].n == 0)
            api->streams[i].user_id = 0;
    pthread_mutex_unlock(&api->streams_lock);
}

static long events_pull(void *ctx, char *buf, size_t cap)
{
    struct events *e = ctx;
    int64_t now = (int64_t)time(NULL);
    if (e->out_pos == e->out_len) {
        if (now >= e->expires_at || !still_allowed(e, now))
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
    streams_leave(e->api, e->user_id);
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
    if (streams_enter(c->api, c->user.id) < 0) {
        free(e);
        snprintf(c->resp->retry_after, sizeof c->resp->retry_after, "%d", RECHECK_MS / 1000);
        return api_fail(c, 429, "path",
                        "%s has %llu event streams open, the most allowed ([limits] "
                        "max_streams_per_user)",
                        c->user.name, (unsigned long long)c->api->cfg->max_streams_per_user);
    }
    /* From here the stream is counted: events_release() gives it back in every case. */
    e->api = c->api;
    e->user_id = c->user.id;
    snprintf(e->token_sha, sizeof e->token_sha, "%s", c->token_sha);
    if (c->token.kind == OTTER_TOKEN_TICKET && strlen(c->token.name) == OTTER_AUTH_SHA256_HEX - 1)
        snprintf(e->parent_sha, sizeof e->parent_sha, "%s", c->token.name);
    e->writes = atomic_load(&c->api->writes);
    e->last_auth_ms = now_ms();
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
