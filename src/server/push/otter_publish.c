/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's MQTT publisher (otter_publish.h). Three parties: request
 * threads put topics into a bounded ring (under mu, never waiting for
 * room); the publisher thread takes them and calls mosquitto_publish();
 * libmosquitto's own thread (mosquitto_loop_start) does the network,
 * including reconnects with back-off. While the broker is not connected
 * the publisher drops what it takes: a queue that filled up during an
 * outage would only wake devices that polled since.
 */
#include "otter_publish.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30

struct otter_publish {
    const otter_server_config *cfg;
    struct mosquitto *mosq;
    char *host;
    unsigned port;
    int loop_started, thread_started;
    pthread_t thread;
    pthread_mutex_t mu; /* guards ring, head, count, stop */
    pthread_cond_t cv;
    char **ring;
    size_t cap, head, count;
    int stop;
    atomic_int connected;
    atomic_uint_fast64_t published, dropped;
    /* The wake-up records (otter_publish_wakeups), a ring under mu. */
    otter_publish_wakeup log[OTTER_PUBLISH_LOG_MAX];
    size_t log_next, log_n;
};

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    otter_publish *p = obj;
    (void)m;
    atomic_store(&p->connected, rc == 0);
    fprintf(stderr, "otter-server: push: broker %s: %s\n", p->cfg->push_broker,
            rc == 0 ? "connected" : mosquitto_connack_string(rc));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    otter_publish *p = obj;
    (void)m;
    if (atomic_exchange(&p->connected, 0))
        fprintf(stderr, "otter-server: push: broker %s: disconnected (%s)\n", p->cfg->push_broker,
                rc ? "connection lost" : "closed");
}

/* Takes one topic (caller owns it), waiting for one; NULL when told to stop. */
static char *take(otter_publish *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->count && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    char *t = NULL;
    if (!p->stop) {
        t = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    pthread_mutex_unlock(&p->mu);
    return t;
}

static void *publisher(void *arg)
{
    otter_publish *p = arg;
    static const char payload[] = OTTER_PUSH_PAYLOAD;
    for (char *t; (t = take(p));) {
        int rc = MOSQ_ERR_NO_CONN;
        if (atomic_load(&p->connected))
            rc = mosquitto_publish(p->mosq, NULL, t, (int)(sizeof payload - 1), payload,
                                   (int)p->cfg->push_qos, false);
        atomic_fetch_add(rc == MOSQ_ERR_SUCCESS ? &p->published : &p->dropped, 1);
        free(t);
    }
    return NULL;
}

/* The broker connection's settings: TLS, account, callbacks, back-off. */
static int configure(otter_publish *p, otter_err *err)
{
    const otter_server_config *c = p->cfg;
    int rc = MOSQ_ERR_SUCCESS;
    if (c->push_username)
        rc = mosquitto_username_pw_set(p->mosq, c->push_username, c->push_password);
    if (rc == MOSQ_ERR_SUCCESS && c->push_tls_ca)
        rc = mosquitto_tls_set(p->mosq, c->push_tls_ca, NULL, c->push_tls_cert, c->push_tls_key,
                               NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_reconnect_delay_set(p->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    if (rc != MOSQ_ERR_SUCCESS)
        return otter_err_set(err, OTTER_EIO, "[push]: %s", mosquitto_strerror(rc));
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    return 0;
}

int otter_publish_new(const otter_server_config *cfg, otter_publish **out, otter_err *err)
{
    *out = NULL;
    if (!cfg->push_broker)
        return 0;
    otter_publish *p = calloc(1, sizeof *p);
    if (!p)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    p->cfg = cfg;
    p->cap = (size_t)cfg->push_queue;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int ret = OTTER_ENOMEM;
    mosquitto_lib_init();
    p->ring = calloc(p->cap, sizeof *p->ring);
    /* No client id: the broker's random one, so several server instances never collide. */
    p->mosq = mosquitto_new(NULL, true, p);
    if (!p->ring || !p->mosq) {
        ret = otter_err_set(err, OTTER_ENOMEM, "[push]: out of memory");
        goto fail;
    }
    if ((ret = otter_server_config_split_hostport(cfg->push_broker, &p->host, &p->port, err)) < 0 ||
        (ret = configure(p, err)) < 0)
        goto fail;
    int rc = mosquitto_loop_start(p->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        ret = otter_err_set(err, OTTER_EIO, "[push]: %s", mosquitto_strerror(rc));
        goto fail;
    }
    p->loop_started = 1;
    /* A broker that is down now is not an error: libmosquitto's loop keeps trying. */
    rc = mosquitto_connect_async(p->mosq, p->host, (int)p->port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "otter-server: push: broker %s: %s (retrying)\n", cfg->push_broker,
                mosquitto_strerror(rc));
    if (pthread_create(&p->thread, NULL, publisher, p) != 0) {
        ret = otter_err_set(err, OTTER_EIO, "[push]: cannot start the publisher thread");
        goto fail;
    }
    p->thread_started = 1;
    *out = p;
    return 0;
fail:
    otter_publish_free(p);
    return ret;
}

void otter_publish_free(otter_publish *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->thread_started)
        pthread_join(p->thread, NULL);
    if (p->mosq && p->loop_started) {
        mosquitto_disconnect(p->mosq);
        mosquitto_loop_stop(p->mosq, false);
    }
    mosquitto_destroy(p->mosq);
    for (size_t i = 0; i < p->count; i++)
        free(p->ring[(p->head + i) % p->cap]);
    free(p->ring);
    free(p->host);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void otter_publish_stats_get(otter_publish *p, otter_publish_stats *st)
{
    *st = (otter_publish_stats){0};
    if (!p)
        return;
    st->enabled = 1;
    st->connected = atomic_load(&p->connected);
    st->published = atomic_load(&p->published);
    st->dropped = atomic_load(&p->dropped);
    pthread_mutex_lock(&p->mu);
    st->queued = p->count;
    pthread_mutex_unlock(&p->mu);
}

void otter_publish_render(void *ctx, void (*put)(void *putctx, const char *fmt, ...), void *putctx)
{
    otter_publish_stats st;
    otter_publish_stats_get(ctx, &st);
    put(putctx,
        "# HELP otter_push_connected 1 while the connection to the MQTT broker is up.\n"
        "# TYPE otter_push_connected gauge\notter_push_connected %d\n"
        "# HELP otter_push_published_total Push wake-ups handed to the broker.\n"
        "# TYPE otter_push_published_total counter\notter_push_published_total %llu\n"
        "# HELP otter_push_dropped_total Push wake-ups dropped (queue full, broker down).\n"
        "# TYPE otter_push_dropped_total counter\notter_push_dropped_total %llu\n"
        "# HELP otter_push_queued Push wake-ups waiting for the publisher.\n"
        "# TYPE otter_push_queued gauge\notter_push_queued %llu\n",
        st.connected, (unsigned long long)st.published, (unsigned long long)st.dropped,
        (unsigned long long)st.queued);
}

/* ---- batches ---- */

/* Keeps the record of a rollout's wake-ups just queued (caller holds mu). */
static void log_add(otter_publish *p, const otter_publish_wakeup *rec, uint64_t queued,
                    uint64_t dropped)
{
    otter_publish_wakeup *w = &p->log[p->log_next];
    *w = *rec;
    w->at = (int64_t)time(NULL);
    w->devices = queued;
    w->dropped = dropped;
    p->log_next = (p->log_next + 1) % OTTER_PUBLISH_LOG_MAX;
    if (p->log_n < OTTER_PUBLISH_LOG_MAX)
        p->log_n++;
}

struct otter_publish_batch {
    char **topics;
    size_t n, cap, max;
    uint64_t over; /* topics beyond max: counted as dropped when sent */
    /* Set by otter_publish_batch_rollout: the record otter_publish_send leaves. */
    otter_publish_wakeup rec;
};

void otter_publish_batch_free(otter_publish_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->topics[i]);
    free(b->topics);
    free(b);
}

static int batch_push(otter_publish_batch *b, char *topic)
{
    if (b->n == b->max) {
        b->over++;
        free(topic);
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        char **t = realloc(b->topics, cap * sizeof *t);
        if (!t) {
            free(topic);
            return OTTER_ENOMEM;
        }
        b->topics = t;
        b->cap = cap;
    }
    b->topics[b->n++] = topic;
    return 0;
}

static int add(otter_publish *p, otter_publish_batch **b, const char *tenant, int kind,
               const char *name)
{
    char topic[OTTER_PUSH_TOPIC_MAX + 1];
    otter_err err;
    if (!p)
        return 0;
    if (otter_push_topic(p->cfg->push_prefix, tenant, kind, name, topic, sizeof topic, &err) < 0) {
        fprintf(stderr, "otter-server: push: not woken: %s\n", err.msg);
        atomic_fetch_add(&p->dropped, 1);
        return 0;
    }
    if (!*b && !(*b = calloc(1, sizeof **b)))
        return OTTER_ENOMEM;
    (*b)->max = p->cap;
    char *copy = strdup(topic);
    return copy ? batch_push(*b, copy) : OTTER_ENOMEM;
}

void otter_publish_batch_add(otter_publish *p, otter_publish_batch **b, const char *tenant,
                             int kind, const char *name)
{
    if (add(p, b, tenant, kind, name) < 0 && p)
        atomic_fetch_add(&p->dropped, 1);
}

struct rollout_ctx {
    otter_publish *p;
    otter_publish_batch **b;
    const char *tenant;
};

static int add_device(void *ctx, const char *controller_id)
{
    struct rollout_ctx *r = ctx;
    return add(r->p, r->b, r->tenant, OTTER_PUSH_DEVICE, controller_id);
}

int otter_publish_batch_rollout(otter_publish *p, otter_publish_batch **b, otter_store *s,
                                const char *tenant, int64_t rollout_id, int64_t up_to_stage,
                                const char *status, otter_err *err)
{
    if (!p)
        return 0;
    struct rollout_ctx r = {p, b, tenant};
    int ret = otter_store_push_devices(s, rollout_id, up_to_stage, status, add_device, &r, err);
    if (ret == 0 && *b) {
        (*b)->rec.rollout_id = rollout_id;
        (*b)->rec.stage = up_to_stage;
        snprintf((*b)->rec.kind, sizeof(*b)->rec.kind, "%s", status);
    }
    return ret;
}

int otter_publish_batch_action(otter_publish *p, otter_publish_batch **b, otter_store *s,
                               const char *tenant, int64_t action_id, otter_err *err)
{
    if (!p)
        return 0;
    struct rollout_ctx r = {p, b, tenant};
    return otter_store_push_device_of(s, action_id, add_device, &r, err);
}

void otter_publish_send(otter_publish *p, otter_publish_batch *b)
{
    if (!p || !b) {
        otter_publish_batch_free(b);
        return;
    }
    size_t i = 0;
    pthread_mutex_lock(&p->mu);
    for (; i < b->n && p->count < p->cap; i++) {
        p->ring[(p->head + p->count) % p->cap] = b->topics[i];
        b->topics[i] = NULL;
        p->count++;
    }
    pthread_cond_signal(&p->cv);
    if (b->rec.rollout_id)
        log_add(p, &b->rec, i, (uint64_t)(b->n - i) + b->over);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->dropped, (uint_fast64_t)(b->n - i) + b->over);
    otter_publish_batch_free(b);
}

void otter_publish_wakeups(otter_publish *p, int64_t rollout_id, size_t max,
                           int (*fn)(void *ctx, const otter_publish_wakeup *w), void *ctx)
{
    if (!p)
        return;
    otter_publish_wakeup *out = malloc(OTTER_PUBLISH_LOG_MAX * sizeof *out);
    size_t n = 0;
    if (!out)
        return;
    /* Copied under the lock, handed out after it: fn may take its time. */
    pthread_mutex_lock(&p->mu);
    for (size_t k = 1; k <= p->log_n && n < max; k++) {
        const otter_publish_wakeup *w =
            &p->log[(p->log_next + OTTER_PUBLISH_LOG_MAX - k) % OTTER_PUBLISH_LOG_MAX];
        if (w->rollout_id == rollout_id)
            out[n++] = *w;
    }
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n && fn(ctx, &out[i]) == 0; i++)
        ;
    free(out);
}
