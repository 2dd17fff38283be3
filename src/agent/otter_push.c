/* SPDX-License-Identifier: Apache-2.0 */
/* MQTT push wake-up, the device's side (otter_push.h). */
#include "otter_push.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_PORT 8883
#define KEEPALIVE_S 60
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 60
#define CLIENT_ID_MAX 300

struct otter_push {
    struct mosquitto *mosq;
    int efd;
    int loop_started;
    void (*notify)(void *ctx);
    void *ctx;
    otter_push_addr addr;
    char topics[OTTER_PUSH_TOPICS_MAX][OTTER_PUSH_TOPIC_MAX + 1];
    size_t n_topics;
};

/* mqtts://HOST[:PORT] or mqtts://[V6]:PORT into addr. */
static int parse_url(const char *url, otter_push_addr *addr, otter_err *err)
{
    static const char scheme[] = "mqtts://";
    const char *h = url + sizeof scheme - 1, *end;
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "[push] url: '%.64s' is not mqtts://HOST[:PORT]",
                             url);
    if (*h == '[') {
        end = strchr(++h, ']');
        if (!end || (end[1] && end[1] != ':'))
            return otter_err_set(err, OTTER_EFORMAT, "[push] url: expected [IPV6]:PORT");
    } else {
        end = h + strcspn(h, ":/");
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= sizeof addr->host)
        return otter_err_set(err, OTTER_EFORMAT, "[push] url: no host, or longer than %zu bytes",
                             sizeof addr->host - 1);
    memcpy(addr->host, h, n);
    addr->host[n] = '\0';
    const char *rest = *end == ']' ? end + 1 : end;
    addr->port = DEFAULT_PORT;
    if (!*rest)
        return 0;
    if (*rest != ':' || !rest[1] || strlen(rest + 1) > 5 ||
        strspn(rest + 1, "0123456789") != strlen(rest + 1) || !(addr->port = atoi(rest + 1)) ||
        addr->port > 65535)
        return otter_err_set(err, OTTER_EFORMAT, "[push] url: port is not 1..65535 (and no path)");
    return 0;
}

/* The device's topic, then one per blank-separated name of [push] groups. */
static int build_topics(const otter_agent_conf *c, char topics[][OTTER_PUSH_TOPIC_MAX + 1],
                        size_t *n, otter_err *err)
{
    int ret = otter_push_topic(c->push_prefix, c->server_tenant, OTTER_PUSH_DEVICE,
                               c->server_controller, topics[0], OTTER_PUSH_TOPIC_MAX + 1, err);
    *n = 1;
    for (const char *p = c->push_groups; ret == 0 && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (!len)
            break;
        char name[129];
        if (len >= sizeof name || *n == OTTER_PUSH_TOPICS_MAX)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "[push] groups: at most %d names of at most 128 bytes",
                                 OTTER_PUSH_TOPICS_MAX - 1);
        memcpy(name, p, len);
        name[len] = '\0';
        ret = otter_push_topic(c->push_prefix, c->server_tenant, OTTER_PUSH_GROUP, name,
                               topics[(*n)++], OTTER_PUSH_TOPIC_MAX + 1, err);
        p += len;
    }
    return ret < 0 ? otter_err_prefix(err, "[push]") : 0;
}

int otter_push_conf_check(const otter_agent_conf *c, otter_push_addr *addr,
                          char topics[][OTTER_PUSH_TOPIC_MAX + 1], size_t *n, otter_err *err)
{
    int ret = parse_url(c->push_url, addr, err);
    if (ret < 0)
        return ret;
    if (!c->server_url[0])
        return otter_err_set(err, OTTER_EFORMAT,
                             "[push] url needs [server] url (push only wakes "
                             "the poll)");
    if (c->push_password[0] && !c->push_username[0])
        return otter_err_set(err, OTTER_EFORMAT, "[push] password needs username");
    if (!c->push_cert[0] != !c->push_key[0])
        return otter_err_set(err, OTTER_EFORMAT, "[push] cert and key go together");
    if (!c->push_username[0] && !c->push_cert[0])
        return otter_err_set(err, OTTER_EFORMAT,
                             "[push] needs the device's broker credentials: username and "
                             "password, or cert and key");
    return build_topics(c, topics, n, err);
}

/* A poll is due: the eventfd for a loop that polls it, notify for one that waits elsewhere. */
static void due(otter_push *p)
{
    uint64_t one = 1;
    if (write(p->efd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, a poll is due anyway */
    }
    if (p->notify)
        p->notify(p->ctx);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    otter_push *p = obj;
    if (rc != 0) {
        fprintf(stderr, "otter-agentd: push: %s:%d refused: %s\n", p->addr.host, p->addr.port,
                mosquitto_connack_string(rc));
        return;
    }
    char *subs[OTTER_PUSH_TOPICS_MAX];
    for (size_t i = 0; i < p->n_topics; i++)
        subs[i] = p->topics[i];
    rc = mosquitto_subscribe_multiple(m, NULL, (int)p->n_topics, subs, 1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "otter-agentd: push: subscribe: %s\n", mosquitto_strerror(rc));
}

/* Subscribed (again): whatever was published while we were away is one poll away. */
static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    otter_push *p = obj;
    (void)m;
    (void)mid;
    int refused = 0;
    for (int i = 0; i < n; i++)
        refused += granted[i] >= 0x80;
    fprintf(stderr, "otter-agentd: push: subscribed to %d topic(s)%s%s\n", n - refused,
            refused ? ", refused by the broker: " : "", refused ? "check its ACL" : "");
    due(p);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    otter_push *p = obj;
    otter_err err;
    (void)m;
    if (otter_push_payload_parse(msg->payload, (size_t)msg->payloadlen, &err) < 0) {
        fprintf(stderr, "otter-agentd: push: ignored: %s\n", err.msg);
        return;
    }
    due(p);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    otter_push *p = obj;
    (void)m;
    if (rc)
        fprintf(stderr, "otter-agentd: push: %s:%d: connection lost, reconnecting\n", p->addr.host,
                p->addr.port);
}

static int configure(otter_push *p, const otter_agent_conf *c, otter_err *err)
{
    const char *ca = c->push_ca[0] ? c->push_ca : c->server_ca[0] ? c->server_ca : NULL;
    int rc = MOSQ_ERR_SUCCESS;
    if (c->push_username[0])
        rc = mosquitto_username_pw_set(p->mosq, c->push_username,
                                       c->push_password[0] ? c->push_password : NULL);
    /* No CA file: the system's store (libmosquitto's default paths). */
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_tls_set(p->mosq, ca, ca ? NULL : "/etc/ssl/certs",
                               c->push_cert[0] ? c->push_cert : NULL,
                               c->push_key[0] ? c->push_key : NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_reconnect_delay_set(p->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    if (rc != MOSQ_ERR_SUCCESS)
        return otter_err_set(err, OTTER_EIO, "[push]: %s", mosquitto_strerror(rc));
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_subscribe_callback_set(p->mosq, on_subscribe);
    mosquitto_message_callback_set(p->mosq, on_message);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    return 0;
}

int otter_push_start(const otter_agent_conf *conf, void (*notify)(void *ctx), void *ctx,
                     otter_push **out, otter_err *err)
{
    *out = NULL;
    if (!conf->push_url[0])
        return 0;
    otter_push *p = calloc(1, sizeof *p);
    if (!p)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    p->notify = notify;
    p->ctx = ctx;
    p->efd = -1;
    int ret = otter_push_conf_check(conf, &p->addr, p->topics, &p->n_topics, err);
    if (ret < 0)
        goto fail;
    if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "[push]: eventfd");
        goto fail;
    }
    mosquitto_lib_init();
    char id[CLIENT_ID_MAX];
    snprintf(id, sizeof id, "%s:%s", conf->server_tenant, conf->server_controller);
    /* Clean session: the poll on every subscription covers what was missed (otter_push.h). */
    if (!(p->mosq = mosquitto_new(id, true, p))) {
        ret = otter_err_set(err, OTTER_ENOMEM, "[push]: out of memory");
        goto fail;
    }
    if ((ret = configure(p, conf, err)) < 0)
        goto fail;
    int rc = mosquitto_loop_start(p->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        ret = otter_err_set(err, OTTER_EIO, "[push]: %s", mosquitto_strerror(rc));
        goto fail;
    }
    p->loop_started = 1;
    /* A broker down now is no error: the loop keeps trying, polling goes on meanwhile. */
    rc = mosquitto_connect_async(p->mosq, p->addr.host, p->addr.port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "otter-agentd: push: %s:%d: %s (retrying)\n", p->addr.host, p->addr.port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    *out = p;
    return 0;
fail:
    otter_push_free(p);
    return ret;
}

int otter_push_fd(const otter_push *p)
{
    return p ? p->efd : -1;
}

int otter_push_take(otter_push *p)
{
    uint64_t n = 0;
    if (!p || read(p->efd, &n, sizeof n) != (ssize_t)sizeof n)
        return 0;
    return n > 0;
}

void otter_push_free(otter_push *p)
{
    if (!p)
        return;
    if (p->mosq && p->loop_started) {
        mosquitto_disconnect(p->mosq);
        mosquitto_loop_stop(p->mosq, false);
    }
    mosquitto_destroy(p->mosq);
    if (p->efd >= 0)
        close(p->efd);
    free(p);
}
