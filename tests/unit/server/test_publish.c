/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's push publisher (otter_publish.h) without a broker: a
 * request's wake-ups never wait, a burst beyond [push] queue and every
 * wake-up while the broker is unreachable are dropped and counted, a name
 * that cannot be a topic is dropped, and push off costs nothing.
 */
#include <stdarg.h>
#include <time.h>

#include "otter_test.h"
#include "otter_publish.h"

static otter_server_config *conf(const char *text)
{
    otter_server_config *cfg = NULL;
    otter_err err;
    assert_otter_ok(otter_server_config_parse_mem(text, strlen(text), &cfg, &err), err);
    return cfg;
}

struct text {
    char buf[2048];
    size_t len;
};

static void put(void *ctx, const char *fmt, ...)
{
    struct text *t = ctx;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

/* Waits (10 s at most) until the publisher took everything queued. */
static void drain(otter_publish *p, otter_publish_stats *st)
{
    for (int i = 0; i < 1000; i++) {
        otter_publish_stats_get(p, st);
        if (st->queued == 0)
            return;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    fail_msg("the publisher did not drain its queue in 10 s");
}

static void test_broker_down_drops_and_counts(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens, libmosquitto keeps retrying in the background. */
    otter_server_config *cfg = conf("[push]\nbroker = 127.0.0.1:1\nqueue = 16\n");
    otter_publish *p = NULL;
    otter_publish_batch *b = NULL;
    otter_err err;
    assert_otter_ok(otter_publish_new(cfg, &p, &err), err);
    assert_non_null(p);
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "gw-%04d", i);
        otter_publish_batch_add(p, &b, "acme", OTTER_PUSH_DEVICE, name);
    }
    otter_publish_batch_add(p, &b, "acme", OTTER_PUSH_GROUP, "a/b"); /* no topic: dropped now */
    otter_publish_batch_add(p, &b, "acme", OTTER_PUSH_GROUP, "lab");
    assert_non_null(b);
    otter_publish_send(p, b); /* 41 topics, a queue of 16: never waits for room */
    otter_publish_stats st;
    drain(p, &st);
    assert_int_equal(st.enabled, 1);
    assert_int_equal(st.connected, 0);
    assert_int_equal(st.published, 0);
    assert_int_equal(st.dropped, 42);
    struct text t = {0};
    otter_publish_render(p, put, &t);
    assert_non_null(strstr(t.buf, "otter_push_connected 0\n"));
    assert_non_null(strstr(t.buf, "otter_push_dropped_total 42\n"));
    assert_non_null(strstr(t.buf, "otter_push_published_total 0\n"));
    /* A request that failed: its wake-ups are freed, not sent. */
    b = NULL;
    otter_publish_batch_add(p, &b, "acme", OTTER_PUSH_DEVICE, "gw-0001");
    otter_publish_batch_free(b);
    otter_publish_stats_get(p, &st);
    assert_int_equal(st.dropped, 42);
    otter_publish_free(p);
    otter_server_config_free(cfg);
}

static void test_push_off_costs_nothing(void **state)
{
    (void)state;
    otter_server_config *cfg = conf("[http]\nlisten = 127.0.0.1:0\n");
    otter_publish *p = (otter_publish *)cfg; /* must be overwritten */
    otter_publish_batch *b = NULL;
    otter_err err;
    assert_otter_ok(otter_publish_new(cfg, &p, &err), err);
    assert_null(p);
    otter_publish_batch_add(p, &b, "acme", OTTER_PUSH_DEVICE, "gw-0001");
    assert_null(b);
    otter_publish_stats st;
    otter_publish_stats_get(p, &st);
    assert_int_equal(st.enabled, 0);
    otter_publish_send(p, b);
    otter_publish_free(p);
    otter_server_config_free(cfg);
}

static void test_unreadable_tls_file_is_an_error(void **state)
{
    (void)state;
    otter_server_config *cfg = conf("[push]\nbroker = 127.0.0.1:1\ntls_ca = /nonexistent/ca.crt\n");
    otter_publish *p = NULL;
    otter_err err;
    assert_otter_error(otter_publish_new(cfg, &p, &err), err, OTTER_EIO, "[push]");
    assert_null(p);
    otter_server_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_down_drops_and_counts),
        cmocka_unit_test(test_push_off_costs_nothing),
        cmocka_unit_test(test_unreadable_tls_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
