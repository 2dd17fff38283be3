/* SPDX-License-Identifier: Apache-2.0 */
/* The link rule: which origins get the device's token (otter_origin.h). */
#include "otter_test.h"
#include "otter_origin.h"

static void expect_origin(const char *url, const char *want, int want_https)
{
    otter_err err;
    char o[OTTER_ORIGIN_MAX];
    int https = -1;
    assert_otter_ok(otter_origin_of(url, o, &https, &err), err);
    assert_string_equal(o, want);
    assert_int_equal(https, want_https);
}

static void test_origin_normalised(void **state)
{
    (void)state;
    expect_origin("https://Server.Example/acme/controller/v1/x", "https://server.example:443", 1);
    expect_origin("HTTPS://server.example:443", "https://server.example:443", 1);
    expect_origin("http://127.0.0.1/a?b#c", "http://127.0.0.1:80", 0);
    expect_origin("http://127.0.0.1:8080", "http://127.0.0.1:8080", 0);
    expect_origin("https://[::1]:8443/x", "https://[::1]:8443", 1);
    expect_origin("https://[::1]", "https://[::1]:443", 1);
}

/* Authorities this parser and libcurl could read as two different hosts are refused. */
static void test_origin_refused(void **state)
{
    (void)state;
    const char *bad[] = {"https://user@server.example/",
                         "https://evil.example\\@server.example/",
                         "https://server.example:443@evil/",
                         "https://%65vil.example/",
                         "https://server.example:0/",
                         "https://server.example:65536/",
                         "https://server.example:44x/",
                         "https://server.example:/",
                         "https://[::1/",
                         "https://[]/",
                         "ftp://server.example/",
                         "//server.example/",
                         "https:///path",
                         " https://server.example/",
                         "https://server example/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        otter_err err;
        char o[OTTER_ORIGIN_MAX];
        if (otter_origin_of(bad[i], o, NULL, &err) != OTTER_EFORMAT)
            fail_msg("accepted '%s' as %s", bad[i], o);
    }
}

static void expect_link(const char *server, const char *list, const char *link, int want)
{
    otter_err err;
    int kind = 0;
    assert_otter_ok(otter_origin_check_link(server, list, link, &kind, &err), err);
    assert_int_equal(kind, want);
}

static void test_links(void **state)
{
    (void)state;
    const char *srv = "https://ota.example.com:443",
               *cdn = "https://cdn.example.net, https://[::1]:9443/";
    expect_link(srv, NULL, "https://OTA.example.com/acme/controller/v1/d/deploymentBase/1",
                OTTER_LINK_SERVER);
    expect_link("http://127.0.0.1:8080", "", "http://127.0.0.1:8080/x", OTTER_LINK_SERVER);
    expect_link(srv, cdn, "https://cdn.example.net:443/a/b.zip?sig=x", OTTER_LINK_ARTIFACT);
    expect_link(srv, cdn, "https://[::1]:9443/b.zip", OTTER_LINK_ARTIFACT);
    otter_err err;
    int kind = 7;
    /* Behind a TLS proxy the server wrote http://: the token would cross in clear. */
    assert_otter_error(
        otter_origin_check_link(srv, cdn, "http://ota.example.com/acme/x", &kind, &err), err,
        OTTER_EFORMAT, "a downgrade");
    assert_int_equal(kind, 0);
    assert_otter_error(
        otter_origin_check_link(srv, cdn, "http://cdn.example.net/b.zip", &kind, &err), err,
        OTTER_EFORMAT, "a downgrade");
    /* Another host, another port, another scheme: another origin. */
    assert_otter_error(otter_origin_check_link(srv, cdn, "https://evil.example/x", &kind, &err),
                       err, OTTER_EFORMAT,
                       "is on https://evil.example:443, neither the server's origin "
                       "(https://ota.example.com:443) nor one of [server] artifact_origins");
    assert_otter_error(
        otter_origin_check_link(srv, cdn, "https://ota.example.com:8443/x", &kind, &err), err,
        OTTER_EFORMAT, "neither the server's origin");
    assert_otter_error(
        otter_origin_check_link(srv, cdn, "https://cdn.example.net:8443/x", &kind, &err), err,
        OTTER_EFORMAT, "neither the server's origin");
    assert_otter_error(
        otter_origin_check_link("http://127.0.0.1:8080", NULL, "http://[::1]:8080/x", &kind, &err),
        err, OTTER_EFORMAT, "neither the server's origin");
    assert_otter_error(
        otter_origin_check_link(srv, NULL, "https://user@ota.example.com/x", &kind, &err), err,
        OTTER_EFORMAT, "link refused");
}

static void expect_conf(const char *url, const char *pin, const char *ca, const char *list,
                        const char *needle)
{
    otter_err err;
    if (!needle) {
        assert_otter_ok(otter_origin_check_conf(url, pin, ca, list, &err), err);
        return;
    }
    assert_otter_error(otter_origin_check_conf(url, pin, ca, list, &err), err, OTTER_EFORMAT,
                       needle);
}

static void test_conf(void **state)
{
    (void)state;
    expect_conf("", "", "", "", NULL);
    expect_conf("https://ota.example.com", "sha256//x", "/ca.pem",
                " https://cdn.example.net,https://cdn2.example.net:8443/ ", NULL);
    expect_conf("http://127.0.0.1:1", "", "", "http://127.0.0.1:2", NULL);
    expect_conf("http://ota.example.com", "sha256//x", "", "", "plain http:// but pin is set");
    expect_conf("http://ota.example.com", "", "/ca.pem", "", "plain http:// but ca is set");
    expect_conf("ftp://ota.example.com", "", "", "",
                "[server] url: 'ftp://ota.example.com' is not");
    expect_conf("https://ota.example.com", "", "", "http://cdn.example.net",
                "http://cdn.example.net:80 is plain HTTP while the server is reached over HTTPS");
    expect_conf("https://ota.example.com", "", "", "https://cdn.example.net/files",
                "is not a bare origin");
    expect_conf("https://ota.example.com", "", "", "https://OTA.example.com:443",
                "is the server's own origin");
    expect_conf("", "", "", "https://cdn.example.net",
                "artifact_origins is set without [server] url");
    expect_conf("https://ota.example.com", "", "",
                "https://a.x https://b.x https://c.x https://d.x "
                "https://e.x https://f.x https://g.x https://h.x https://i.x",
                "at most 8 origins");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_normalised),
        cmocka_unit_test(test_origin_refused),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
