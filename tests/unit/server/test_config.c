/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_server_config.h"

static otter_server_config *parse_ok(const char *text)
{
    otter_err err;
    otter_server_config *cfg = NULL;
    assert_otter_ok(otter_server_config_parse_mem(text, strlen(text), &cfg, &err), err);
    return cfg;
}

static void expect_error(const char *text, const char *needle)
{
    otter_err err;
    otter_server_config *cfg = NULL;
    assert_otter_error(otter_server_config_parse_mem(text, strlen(text), &cfg, &err), err,
                       OTTER_EFORMAT, needle);
    assert_null(cfg);
}

static void test_defaults(void **state)
{
    otter_server_config *cfg = parse_ok("");
    assert_int_equal(cfg->n_listen, 1);
    assert_string_equal(cfg->listen[0], "127.0.0.1:8080");
    assert_int_equal(cfg->n_listen_tls, 0);
    assert_string_equal(cfg->db_url, "sqlite:/var/lib/otter/otter.db");
    assert_int_equal(cfg->max_body, 64 * 1024);
    assert_int_equal(cfg->max_upload, 2ull * 1024 * 1024 * 1024);
    assert_int_equal(cfg->threads, 4);
    assert_int_equal(cfg->session_ttl, 8 * 3600);
    assert_int_equal(cfg->login_window, 300);
    assert_int_equal(cfg->login_delay, 1);
    assert_int_equal(cfg->login_throttle_entries, 4096);
    assert_null(cfg->trust_root);
    otter_server_config_free(cfg);
}

static void test_full_file(void **state)
{
    otter_server_config *cfg = parse_ok("; comment\n"
                                        "[http]\n"
                                        "listen = 127.0.0.1:0\n"
                                        "listen = [::1]:8081\n"
                                        "listen_tls = :8443\n"
                                        "tls_cert = /etc/otter/cert.pem\n"
                                        "tls_key = /etc/otter/key.pem\n"
                                        "[database]\n"
                                        "url = sqlite:/tmp/x.db\n"
                                        "busy_timeout = 100\n"
                                        "[storage]\n"
                                        "artifacts = /srv/art\n"
                                        "[trust]\n"
                                        "root = /etc/otter/root.json\n"
                                        "[limits]\n"
                                        "max_body = 1M\n"
                                        "max_upload = 3G\n"
                                        "threads = 2\n"
                                        "connection_timeout = 2m\n"
                                        "[auth]\n"
                                        "session_ttl = 1h\n"
                                        "login_max_failures = 3\n"
                                        "login_delay = 2s\n"
                                        "login_throttle_entries = 16\n"
                                        "login_window = 1d\n");
    assert_int_equal(cfg->n_listen, 2);
    assert_string_equal(cfg->listen[1], "[::1]:8081");
    assert_string_equal(cfg->listen_tls[0], ":8443");
    assert_string_equal(cfg->tls_key, "/etc/otter/key.pem");
    assert_string_equal(otter_server_config_sqlite_path(cfg->db_url), "/tmp/x.db");
    assert_int_equal(cfg->busy_timeout_ms, 100);
    assert_string_equal(cfg->artifacts_dir, "/srv/art");
    assert_string_equal(cfg->trust_root, "/etc/otter/root.json");
    assert_int_equal(cfg->max_body, 1024 * 1024);
    assert_int_equal(cfg->max_upload, 3ull << 30);
    assert_int_equal(cfg->connection_timeout, 120);
    assert_int_equal(cfg->session_ttl, 3600);
    assert_int_equal(cfg->login_max_failures, 3);
    assert_int_equal(cfg->login_window, 86400);
    assert_int_equal(cfg->login_delay, 2);
    assert_int_equal(cfg->login_throttle_entries, 16);
    otter_server_config_free(cfg);
}

static void test_strictness(void **state)
{
    expect_error("[http]\nlisten = 1.2.3.4:80\nlisen = x:1\n",
                 "line 3: unknown key 'lisen' in [http]");
    expect_error("[htp]\nlisten = x:1\n", "line 2: unknown section [htp]");
    expect_error("threads = 3\n", "line 1: key 'threads' outside any [section]");
    expect_error("[limits]\nthreads = 2\nthreads = 3\n", "line 3: [limits] threads is set twice");
    expect_error("[limits]\nthreads = 0\n", "line 2: [limits] threads: 0 is outside 1..256");
    expect_error("[limits]\nthreads = 257\n", "outside 1..256");
    expect_error("[limits]\nthreads = -1\n", "is not an unsigned integer");
    expect_error("[limits]\nthreads = 2x\n", "is not an unsigned integer");
    expect_error("[limits]\nmax_body = 10T\n", "is not a size");
    expect_error("[limits]\nmax_body = 99999999999999999999999\n", "is not a size");
    expect_error("[limits]\nmax_body = 18446744073709551615G\n", "is not a size");
    expect_error("[auth]\nsession_ttl = 5w\n", "is not a duration");
    expect_error("[http]\nlisten = nocolon\n", "expected host:port");
    expect_error("[http]\nlisten = h:99999\n", "port above 65535");
    expect_error("[http]\nlisten = h:\n", "port is not a number");
    expect_error("[http]\nlisten = [::1:80\n", "expected [v6address]:port");
    expect_error("[http]\nlisten = a b:80\n", "bad character in host");
    expect_error("[http]\nlisten_tls = :443\n", "needs both tls_cert and tls_key");
    expect_error("[http]\ntls_cert = /c\ntls_key = /k\n", "no listen_tls address");
    expect_error("[database]\nurl = mysql://x\n", "neither sqlite:PATH nor postgres");
    expect_error("[database]\nurl = sqlite:\n", "needs a path");
    expect_error("[storage]\nartifacts =\n", "empty value");
    expect_error("[limits]\nmax_body = 2M\nmax_upload = 1M\n", "max_body is larger");
    expect_error("[http\n", "line 1: syntax error");
    expect_error("[http]\njunk\n", "line 2: syntax error");
    char many[2048] = "[http]\n";
    for (int i = 0; i < 9; i++)
        strcat(many, "listen = 127.0.0.1:1\n");
    expect_error(many, "more than 8 addresses");
}

static void test_hostile_bytes(void **state)
{
    otter_err err;
    otter_server_config *cfg = NULL;
    const char nul[] = "[http]\nlis\0ten = x:1\n";
    assert_otter_error(otter_server_config_parse_mem(nul, sizeof nul - 1, &cfg, &err), err,
                       OTTER_EFORMAT, "line 2: NUL byte");
    char line[400];
    memset(line, 'a', sizeof line);
    memcpy(line, "[trust]\nroot = ", 15);
    assert_otter_error(otter_server_config_parse_mem(line, sizeof line, &cfg, &err), err,
                       OTTER_EFORMAT, "line 2: longer than");
    /* Not NUL-terminated input must be fine. */
    const char text[] = "[limits]\nthreads = 7XXXX";
    assert_otter_ok(otter_server_config_parse_mem(text, sizeof text - 5, &cfg, &err), err);
    assert_int_equal(cfg->threads, 7);
    otter_server_config_free(cfg);
}

static void test_file_wrapper(void **state)
{
    const char *dir = otter_test_dir("server_config");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/server.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[limits]\nthreads = 3\nbogus = 1\n", f);
    fclose(f);
    otter_err err;
    otter_server_config *cfg = NULL;
    assert_otter_error(otter_server_config_parse_file(path, &cfg, &err), err, OTTER_EFORMAT,
                       "server.conf: line 3: unknown key 'bogus'");
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    assert_int_not_equal(otter_server_config_parse_file(path, &cfg, &err), 0);
    assert_non_null(strstr(err.msg, "missing.conf"));
}

static void test_split_hostport(void **state)
{
    otter_err err;
    char *host;
    unsigned port;
    assert_otter_ok(otter_server_config_split_hostport("[::1]:443", &host, &port, &err), err);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 443);
    free(host);
    assert_otter_ok(otter_server_config_split_hostport(":0", &host, &port, &err), err);
    assert_null(host);
    assert_int_equal(port, 0);
}

static void test_metrics(void **state)
{
    otter_server_config *cfg = parse_ok("");
    assert_int_equal(cfg->metrics_enabled, 0);
    assert_null(cfg->metrics_token);
    otter_server_config_free(cfg);
    cfg = parse_ok("[metrics]\nenabled = true\ntoken = 0123456789abcdef-_.~\n");
    assert_int_equal(cfg->metrics_enabled, 1);
    assert_string_equal(cfg->metrics_token, "0123456789abcdef-_.~");
    otter_server_config_free(cfg);
    cfg = parse_ok("[metrics]\nenabled = false\n");
    assert_int_equal(cfg->metrics_enabled, 0);
    otter_server_config_free(cfg);
    /* Only true and false: "yes" or "1" would be a guess at what was meant. */
    expect_error("[metrics]\nenabled = yes\n", "is not true or false");
    expect_error("[metrics]\nenabled = 1\n", "is not true or false");
    expect_error("[metrics]\nenabled = True\n", "is not true or false");
    expect_error("[metrics]\nenabled = true\nenabled = false\n", "set twice");
    expect_error("[metrics]\nenable = true\n", "unknown key 'enable' in [metrics]");
    expect_error("[metrics]\ntoken = 0123456789abcdef\n", "metrics are not enabled");
    expect_error("[metrics]\nenabled = true\ntoken = short\n", "16..256");
    expect_error("[metrics]\nenabled = true\ntoken = 0123456789\tabcdefgh\n", "visible ASCII");
}

/* The front door's limits (issue 11 §4): defaults, 0 where it means "off", bounds. */
static void test_front_door_limits(void **state)
{
    otter_server_config *cfg = parse_ok("");
    assert_int_equal(cfg->max_connections_per_ip, 64);
    assert_int_equal(cfg->head_timeout, 10);
    assert_int_equal(cfg->max_streams_per_user, 8);
    assert_int_equal(cfg->login_concurrency, 2);
    assert_int_equal(cfg->ddi_max_feedback, 1000);
    otter_server_config_free(cfg);
    cfg = parse_ok("[limits]\nmax_connections_per_ip = 0\nhead_timeout = 1m\n"
                   "max_streams_per_user = 256\n[auth]\nlogin_concurrency = 1\n"
                   "[ddi]\nmax_feedback = 10\n");
    assert_int_equal(cfg->max_connections_per_ip, 0);
    assert_int_equal(cfg->head_timeout, 60);
    assert_int_equal(cfg->max_streams_per_user, 256);
    assert_int_equal(cfg->login_concurrency, 1);
    assert_int_equal(cfg->ddi_max_feedback, 10);
    otter_server_config_free(cfg);
    expect_error("[limits]\nhead_timeout = 0\n", "outside 1..3600");
    expect_error("[limits]\nmax_streams_per_user = 0\n", "outside 1..256");
    expect_error("[auth]\nlogin_concurrency = 0\n", "outside 1..256");
    expect_error("[ddi]\nmax_feedback = 9\n", "outside 10..1000000");
}

/* [server] public_url and trusted_proxies: the base of the links devices follow. */
static void test_public_url_and_proxies(void **state)
{
    (void)state;
    otter_server_config *cfg = parse_ok("");
    assert_null(cfg->public_url);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "127.0.0.1"), 0);
    otter_server_config_free(cfg);
    cfg = parse_ok("[server]\npublic_url = https://ota.example.com:8443/ddi\n"
                   "trusted_proxies = 127.0.0.1, ::1 10.0.0.7\n");
    assert_string_equal(cfg->public_url, "https://ota.example.com:8443/ddi");
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "127.0.0.1"), 1);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "::ffff:127.0.0.1"), 1);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "0:0:0:0:0:0:0:1"), 1);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "10.0.0.7"), 1);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "10.0.0.70"), 0);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "127.0.0.2"), 0);
    assert_int_equal(otter_server_config_trusted_proxy(cfg, "unknown"), 0);
    otter_server_config_free(cfg);
    expect_error("[server]\npublic_url = ota.example.com\n", "use http(s)://host");
    expect_error("[server]\npublic_url = https://\n", "use http(s)://host");
    expect_error("[server]\npublic_url = https://ota.example.com/\n", "no trailing '/'");
    expect_error("[server]\npublic_url = https://ota.example.com/a\"b\n", "character '\"'");
    expect_error("[server]\npublic_url = https://ota.example.com/a\\b\n", "character '\\'");
    expect_error("[server]\ntrusted_proxies = 127.0.0.1, proxy.example\n",
                 "'proxy.example' is not a numeric IPv4 or IPv6 address");
    expect_error("[server]\ntrusted_proxies = 10.0.0.0/8\n", "is not a numeric");
}

/* Device certificates (issue #13): where a client certificate may come from. */
static void test_client_cert_keys(void **state)
{
    (void)state;
    otter_server_config *cfg = parse_ok("");
    assert_int_equal(cfg->tls_client_cert, 0);
    assert_null(cfg->client_cert_header);
    otter_server_config_free(cfg);
    cfg = parse_ok("[http]\nlisten_tls = 127.0.0.1:0\ntls_cert = c\ntls_key = k\n"
                   "tls_client_cert = true\n[server]\ntrusted_proxies = ::1\n"
                   "[ddi]\nclient_cert_header = X-Client-Cert\n");
    assert_int_equal(cfg->tls_client_cert, 1);
    assert_string_equal(cfg->client_cert_header, "X-Client-Cert");
    otter_server_config_free(cfg);
    expect_error("[http]\ntls_client_cert = true\n", "no listen_tls address uses it");
    /* From anyone, the header would let any client name any certificate. */
    expect_error("[ddi]\nclient_cert_header = X-Client-Cert\n", "needs [server] trusted_proxies");
    expect_error("[server]\ntrusted_proxies = ::1\n[ddi]\nclient_cert_header = X Cert\n",
                 "is not an HTTP header name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_strictness),        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_file_wrapper),      cmocka_unit_test(test_split_hostport),
        cmocka_unit_test(test_metrics),           cmocka_unit_test(test_public_url_and_proxies),
        cmocka_unit_test(test_front_door_limits), cmocka_unit_test(test_client_cert_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
