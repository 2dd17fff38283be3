/* SPDX-License-Identifier: Apache-2.0 */
#include "fleetsim_mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "otter_push_msg.h"

#define KEEPALIVE_S 60   /* as otter-agentd */
#define BACKOFF_MAX_S 60 /* as otter-agentd: 1 s doubling to 60 s */
/* Connects per tick: a blocking loopback connect is quick, but 10,000 at once would stall
   the HTTP side and overflow the broker's listen backlog. */
#define CONNECTS_PER_TICK 64

enum { C_DOWN, C_WAIT, C_UP }; /* no connection / connected, not subscribed / subscribed */

struct client {
    fsim_mqtt *m;
    struct mosquitto *mosq;
    int d;
    int fd;        /* the socket registered with epoll, -1 when none */
    uint32_t mask; /* its registered events */
    int state;
    int started; /* connected once: later connections are reconnects */
    int backoff_s;
    int64_t retry_at; /* C_DOWN: when to connect (monotonic ns) */
    char topic[OTTER_PUSH_TOPIC_MAX + 1];
};

struct fsim_mqtt {
    struct client *c;
    long n;
    int epfd;
    char host[48];
    int port;
    fsim_mqtt_fn fn;
    void *ctx;
    fsim_mqtt_counts k;
    int64_t now, next_due, next_misc;
};

/* (Re)registers c's socket with the events libmosquitto waits for. */
static void watch(struct client *c)
{
    int fd = mosquitto_socket(c->mosq);
    uint32_t mask = EPOLLIN | (mosquitto_want_write(c->mosq) ? EPOLLOUT : 0);
    if (fd < 0 || (fd == c->fd && mask == c->mask))
        return;
    struct epoll_event ev = {.events = mask, .data.u32 = FSIM_MQTT_TAG | (uint32_t)c->d};
    /* A socket libmosquitto closed left epoll by itself: its number may be back as a new one. */
    int op = fd == c->fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(c->m->epfd, op, fd, &ev) < 0)
        epoll_ctl(c->m->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    c->fd = fd;
    c->mask = mask;
}

static void retry_later(struct client *c)
{
    fsim_mqtt *m = c->m;
    c->retry_at = m->now + (int64_t)c->backoff_s * 1000000000;
    if (c->retry_at < m->next_due)
        m->next_due = c->retry_at;
    c->backoff_s = c->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff_s * 2;
}

/* The connection is gone (or must go): retry later, as the agent does. */
static void lost(struct client *c)
{
    fsim_mqtt *m = c->m;
    if (c->state == C_DOWN)
        return;
    if (c->state == C_UP)
        m->k.up--;
    c->state = C_DOWN;
    m->k.lost++;
    int fd = mosquitto_socket(c->mosq);
    if (fd >= 0) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
        mosquitto_disconnect(c->mosq);
    }
    c->fd = -1;
    retry_later(c);
    m->fn(m->ctx, c->d, FSIM_MQTT_LOST);
}

/* After libmosquitto ran for c: its result rc, and whether the socket survived. */
static void after(struct client *c, int rc)
{
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(c->mosq) < 0)
        lost(c);
    else
        watch(c);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct client *c = obj;
    if (rc != 0) {
        c->m->k.refused++;
        return; /* the broker closes: lost() on the next read */
    }
    if (mosquitto_subscribe(mosq, NULL, c->topic, 1) != MOSQ_ERR_SUCCESS)
        c->m->k.refused++;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
    struct client *c = obj;
    (void)mosq;
    (void)mid;
    if (n < 1 || granted[0] >= 0x80) {
        c->m->k.refused++;
        return;
    }
    if (c->state != C_UP)
        c->m->k.up++;
    c->state = C_UP;
    c->backoff_s = 1;
    c->m->k.subscribed++;
    /* As the agent: subscribed (again), whatever was published meanwhile is one poll away. */
    c->m->fn(c->m->ctx, c->d, FSIM_MQTT_SUBSCRIBED);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct client *c = obj;
    otter_err err;
    (void)mosq;
    if (otter_push_payload_parse(msg->payload, (size_t)msg->payloadlen, &err) < 0) {
        c->m->k.ignored++;
        return;
    }
    c->m->k.messages++;
    c->m->fn(c->m->ctx, c->d, FSIM_MQTT_MESSAGE);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    (void)rc;
    lost(obj);
}

static int parse_broker(fsim_mqtt *m, const char *b, otter_err *err)
{
    unsigned port = 0;
    int n = 0;
    if (sscanf(b, "127.0.0.1:%5u%n", &port, &n) == 1 && !b[n] && port && port < 65536)
        snprintf(m->host, sizeof m->host, "127.0.0.1");
    else if (sscanf(b, "[::1]:%5u%n", &port, &n) == 1 && !b[n] && port && port < 65536)
        snprintf(m->host, sizeof m->host, "::1");
    else
        return otter_err_set(err, OTTER_EUSAGE, "--mqtt '%s': want 127.0.0.1:PORT or [::1]:PORT",
                             b);
    m->port = (int)port;
    return 0;
}

int fsim_mqtt_new(fsim_mqtt **out, const char *broker, const char *prefix, const char *tenant,
                  char *const *cids, long n, int epfd, fsim_mqtt_fn fn, void *ctx, otter_err *err)
{
    fsim_mqtt *m = calloc(1, sizeof *m);
    int ret = 0;
    if (!m || !(m->c = calloc((size_t)n, sizeof *m->c))) {
        free(m);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    m->n = n;
    m->epfd = epfd;
    m->fn = fn;
    m->ctx = ctx;
    if ((ret = parse_broker(m, broker, err)) < 0)
        goto out;
    mosquitto_lib_init();
    for (long d = 0; d < n && ret == 0; d++) {
        struct client *c = &m->c[d];
        *c = (struct client){.m = m, .d = (int)d, .fd = -1, .state = C_DOWN, .backoff_s = 1};
        ret = otter_push_topic(prefix, tenant, OTTER_PUSH_DEVICE, cids[d], c->topic,
                               sizeof c->topic, err);
        /* A random client id: clean sessions, as the agent's (it names its own). */
        if (ret == 0 && !(c->mosq = mosquitto_new(NULL, true, c)))
            ret = otter_err_set(err, OTTER_ENOMEM, "mosquitto_new: out of memory");
        if (ret < 0)
            break;
        mosquitto_connect_callback_set(c->mosq, on_connect);
        mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
        mosquitto_message_callback_set(c->mosq, on_message);
        mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
    }
out:
    if (ret < 0) {
        fsim_mqtt_free(m);
        return ret;
    }
    *out = m;
    return 0;
}

void fsim_mqtt_event(fsim_mqtt *m, int d, uint32_t events)
{
    struct client *c = &m->c[d];
    int rc = MOSQ_ERR_SUCCESS;
    if (c->state == C_DOWN)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        rc = mosquitto_loop_read(c->mosq, 16);
    if (rc == MOSQ_ERR_SUCCESS && c->state != C_DOWN && (events & EPOLLOUT))
        rc = mosquitto_loop_write(c->mosq, 16);
    if (c->state != C_DOWN)
        after(c, rc);
}

static void connect_one(fsim_mqtt *m, struct client *c)
{
    /* Blocking connect (the non-threaded API has no other), to loopback: immediate. */
    int rc = c->started ? mosquitto_reconnect(c->mosq)
                        : mosquitto_connect(c->mosq, m->host, m->port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) {
        m->k.failed++; /* the broker is down (or refuses connections): later */
        retry_later(c);
        return;
    }
    c->started = 1;
    c->state = C_WAIT;
    m->k.connects++;
    watch(c);
}

void fsim_mqtt_tick(fsim_mqtt *m, int64_t now)
{
    m->now = now;
    if (now >= m->next_due) {
        int budget = CONNECTS_PER_TICK;
        int64_t next = INT64_MAX;
        for (long d = 0; d < m->n; d++) {
            struct client *c = &m->c[d];
            if (c->state != C_DOWN)
                continue;
            if (c->retry_at <= now && budget > 0) {
                budget--;
                connect_one(m, c);
            }
            if (c->state == C_DOWN && c->retry_at < next)
                next = c->retry_at;
        }
        m->next_due = budget > 0 ? next : now; /* out of budget: more are due at once */
    }
    if (now >= m->next_misc) {
        /* Once a second: keep-alive pings, and what libmosquitto wants to write since. */
        m->next_misc = now + 1000000000;
        for (long d = 0; d < m->n; d++)
            if (m->c[d].state != C_DOWN)
                after(&m->c[d], mosquitto_loop_misc(m->c[d].mosq));
    }
}

void fsim_mqtt_counts_get(const fsim_mqtt *m, fsim_mqtt_counts *out)
{
    *out = m->k;
}

void fsim_mqtt_free(fsim_mqtt *m)
{
    if (!m)
        return;
    for (long d = 0; d < m->n; d++) {
        if (!m->c[d].mosq)
            continue;
        if (mosquitto_socket(m->c[d].mosq) >= 0) {
            epoll_ctl(m->epfd, EPOLL_CTL_DEL, mosquitto_socket(m->c[d].mosq), NULL);
            mosquitto_disconnect(m->c[d].mosq);
        }
        mosquitto_destroy(m->c[d].mosq);
    }
    free(m->c);
    free(m);
    mosquitto_lib_cleanup();
}
