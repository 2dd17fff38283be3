/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push wake-up (issue #15): the topics both sides build (otter_push_msg.h),
 * the strict payload, the agent's [push] section (otter_push.h) and the
 * server's (otter_server_config.h).
 */
#include "otter_test.h"
#include "otter_agent_conf.h"
#include "otter_push.h"
#include "otter_server_config.h"

static const char base[] = "[device]\nproduct = gw\nmodel = gw-a\n"
                           "[boot]\nbackend = file\npath = /tmp/bootenv\n"
                           "[slot.rootfs]\na = /tmp/a\nb = /tmp/b\n"
                           "[server]\nurl = https://127.0.0.1:8443\ntenant = acme\n"
                           "controller_id = gw-0001\ntarget_token = t0k3n\n";

/* Parses base + push (the [push] lines) and runs the push check. */
static int check(const char *push, otter_push_addr *addr, char topics[][OTTER_PUSH_TOPIC_MAX + 1],
                 size_t *n, otter_err *err)
{
    char text[2048];
    otter_agent_conf *c = NULL;
    snprintf(text, sizeof text, "%s[push]\n%s", base, push);
    int ret = otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &c, err);
    if (ret == 0)
        ret = otter_push_conf_check(c, addr, topics, n, err);
    otter_agent_conf_free(c);
    return ret;
}

static void test_topics(void **state)
{
    (void)state;
    char t[OTTER_PUSH_TOPIC_MAX + 1];
    otter_err err;
    assert_otter_ok(
        otter_push_topic("otter", "acme", OTTER_PUSH_DEVICE, "gw-0001", t, sizeof t, &err), err);
    assert_string_equal(t, "otter/acme/dev/gw-0001");
    assert_otter_ok(
        otter_push_topic("carrier/ota", "acme", OTTER_PUSH_GROUP, "lab", t, sizeof t, &err), err);
    assert_string_equal(t, "carrier/ota/acme/group/lab");
    /* A wildcard or separator in a name would widen a subscription or an ACL line. */
    static const char *const bad_names[] = {"gw/1", "gw+", "#", "", "a\nb"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        assert_otter_error(
            otter_push_topic("otter", "acme", OTTER_PUSH_DEVICE, bad_names[i], t, sizeof t, &err),
            err, OTTER_EFORMAT, "cannot be a topic level");
    assert_otter_error(
        otter_push_topic("otter", "ac+me", OTTER_PUSH_DEVICE, "gw", t, sizeof t, &err), err,
        OTTER_EFORMAT, "tenant");
    static const char *const bad_prefixes[] = {"", "/otter", "otter/", "a//b", "ot#ter", "o+"};
    for (size_t i = 0; i < sizeof bad_prefixes / sizeof *bad_prefixes; i++)
        assert_otter_error(
            otter_push_topic(bad_prefixes[i], "acme", OTTER_PUSH_DEVICE, "gw", t, sizeof t, &err),
            err, OTTER_EFORMAT, "topic prefix");
    char small[16];
    assert_otter_error(
        otter_push_topic("otter", "acme", OTTER_PUSH_DEVICE, "gw-0001", small, sizeof small, &err),
        err, OTTER_EFORMAT, "longer than");
}

static void test_payload_is_strict(void **state)
{
    (void)state;
    otter_err err;
    assert_otter_ok(otter_push_payload_parse("poll", 4, &err), err);
    static const char *const bad[] = {"", "pol", "poll ", "POLL", "poll\n", "{\"poll\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_otter_error(otter_push_payload_parse(bad[i], strlen(bad[i]), &err), err,
                           OTTER_EFORMAT, "is not 'poll'");
    assert_otter_error(otter_push_payload_parse("poll\0x", 6, &err), err, OTTER_EFORMAT, "6 bytes");
}

static void test_agent_push_section(void **state)
{
    (void)state;
    otter_push_addr a;
    char topics[OTTER_PUSH_TOPICS_MAX][OTTER_PUSH_TOPIC_MAX + 1];
    size_t n = 0;
    otter_err err;
    assert_otter_ok(check("url = mqtts://127.0.0.1:18883\nusername = acme.gw-0001\n"
                          "password = pw\ngroups = lab, north\n",
                          &a, topics, &n, &err),
                    err);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 18883);
    assert_int_equal(n, 3);
    assert_string_equal(topics[0], "otter/acme/dev/gw-0001");
    assert_string_equal(topics[1], "otter/acme/group/lab");
    assert_string_equal(topics[2], "otter/acme/group/north");
    assert_otter_ok(check("url = mqtts://[::1]\ncert = /c.pem\nkey = /k.pem\nprefix = ota\n", &a,
                          topics, &n, &err),
                    err);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 8883);
    assert_string_equal(topics[0], "ota/acme/dev/gw-0001");
    assert_otter_error(
        check("url = mqtt://127.0.0.1\nusername = u\npassword = p\n", &a, topics, &n, &err), err,
        OTTER_EFORMAT, "is not mqtts://");
    assert_otter_error(check("url = mqtts://127.0.0.1:99999\nusername = u\n", &a, topics, &n, &err),
                       err, OTTER_EFORMAT, "port");
    assert_otter_error(check("url = mqtts://127.0.0.1\n", &a, topics, &n, &err), err, OTTER_EFORMAT,
                       "credentials");
    assert_otter_error(check("url = mqtts://127.0.0.1\npassword = p\n", &a, topics, &n, &err), err,
                       OTTER_EFORMAT, "password needs username");
    assert_otter_error(check("url = mqtts://127.0.0.1\ncert = /c.pem\n", &a, topics, &n, &err), err,
                       OTTER_EFORMAT, "cert and key");
    assert_otter_error(
        check("url = mqtts://127.0.0.1\nusername = u\ngroups = a/b\n", &a, topics, &n, &err), err,
        OTTER_EFORMAT, "cannot be a topic level");
    assert_otter_error(
        check("url = mqtts://127.0.0.1\nusername = u\nport = 1\n", &a, topics, &n, &err), err,
        OTTER_EFORMAT, "port");
}

static int server_conf(const char *push, otter_err *err)
{
    char text[1024];
    otter_server_config *cfg = NULL;
    snprintf(text, sizeof text, "[push]\n%s", push);
    int ret = otter_server_config_parse_mem(text, strlen(text), &cfg, err);
    otter_server_config_free(cfg);
    return ret;
}

static void test_server_push_section(void **state)
{
    (void)state;
    otter_err err;
    otter_server_config *cfg = NULL;
    static const char good[] = "[push]\nbroker = 127.0.0.1:8883\ntls_ca = /ca.crt\n"
                               "username = otter-server\npassword = pw\nqos = 0\n";
    assert_otter_ok(otter_server_config_parse_mem(good, strlen(good), &cfg, &err), err);
    assert_string_equal(cfg->push_broker, "127.0.0.1:8883");
    assert_string_equal(cfg->push_prefix, "otter");
    assert_int_equal(cfg->push_qos, 0);
    assert_int_equal(cfg->push_queue, 65536);
    assert_int_equal(cfg->push_group_topics, 0);
    otter_server_config_free(cfg);
    assert_otter_error(server_conf("username = u\npassword = p\n", &err), err, OTTER_EFORMAT,
                       "broker is not");
    assert_otter_error(server_conf("broker = :8883\n", &err), err, OTTER_EFORMAT, "host:port");
    assert_otter_error(server_conf("broker = 127.0.0.1:8883\nusername = u\n", &err), err,
                       OTTER_EFORMAT, "username and password");
    assert_otter_error(server_conf("broker = 127.0.0.1:8883\ntls_cert = /c\ntls_key = /k\n", &err),
                       err, OTTER_EFORMAT, "needs tls_ca");
    assert_otter_error(server_conf("broker = 127.0.0.1:8883\nprefix = a/#\n", &err), err,
                       OTTER_EFORMAT, "[push] prefix");
    assert_otter_error(server_conf("broker = 127.0.0.1:8883\nqos = 2\n", &err), err, OTTER_EFORMAT,
                       "outside 0..1");
    assert_otter_error(server_conf("broker = 127.0.0.1:8883\nretain = true\n", &err), err,
                       OTTER_EFORMAT, "unknown key 'retain'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_payload_is_strict),
        cmocka_unit_test(test_agent_push_section),
        cmocka_unit_test(test_server_push_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
