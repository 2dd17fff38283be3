/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter_web: the embedded dashboard. The table the build generated from
 * web/src (types, ETags, bytes equal to the files), ETag/If-None-Match,
 * 404/405, and the headers a browser gets on the wire (a real listener on
 * 127.0.0.1, raw HTTP/1.1, GET and HEAD). Needs no node and no browser.
 */
#include "otter_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "otter_file.h"
#include "otter_http.h"
#include "otter_web.h"

static const otter_web_asset *must_find(const char *path)
{
    const otter_web_asset *a = otter_web_find(path);
    if (!a)
        fail_msg("no embedded asset %s", path);
    return a;
}

static const char *header_value(const char *const *h, const char *name)
{
    for (; h && h[0] && h[1]; h += 2)
        if (strcmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

static void test_table_matches_web_src(void **state)
{
    size_t n = otter_web_asset_count();
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        const otter_web_asset *a = otter_web_asset_at(i);
        /* The bytes are the file's bytes, and the ETag is a quoted 16-hex digest. */
        char path[PATH_MAX];
        const char *src = getenv("OTTER_SOURCE_DIR");
        /* /vendor/uplot/X is web/node_modules/uplot/dist/X (web/vendor.cmake), the rest web/src. */
        if (strncmp(a->path, "/vendor/uplot/", 14) == 0)
            snprintf(path, sizeof path, "%s/web/node_modules/uplot/dist/%s", src ? src : ".",
                     a->path + 14);
        else
            snprintf(path, sizeof path, "%s/web/src%s", src ? src : ".", a->path);
        otter_err err;
        char *buf = NULL;
        size_t len = 0;
        assert_otter_ok(otter_file_read_all(path, 16 << 20, &buf, &len, &err), err);
        assert_int_equal(len, a->len);
        assert_memory_equal(buf, a->data, len);
        free(buf);
        assert_int_equal(strlen(a->etag), 18);
        assert_true(a->etag[0] == '"' && a->etag[17] == '"');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(otter_web_asset_at(j)->etag, a->etag);
    }
    assert_null(otter_web_asset_at(n));
}

static void test_content_types(void **state)
{
    assert_string_equal(must_find("/")->content_type, "text/html; charset=utf-8");
    assert_ptr_equal(must_find("/"), must_find("/index.html"));
    assert_string_equal(must_find("/js/app.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(must_find("/js/api.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(must_find("/css/app.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(must_find("/img/otter.svg")->content_type, "image/svg+xml");
    /* uPlot, embedded from the pinned npm package for the rollout charts. */
    assert_string_equal(must_find("/vendor/uplot/uPlot.esm.js")->content_type,
                        "text/javascript; charset=utf-8");
    assert_string_equal(must_find("/vendor/uplot/uPlot.min.css")->content_type,
                        "text/css; charset=utf-8");
}

static void test_lookup_is_exact(void **state)
{
    const char *bad[] = {"",
                         "/index.htm",
                         "/INDEX.HTML",
                         "/js/",
                         "/js",
                         "//index.html",
                         "/js/../index.html",
                         "/../web/src/index.html",
                         "/index.html/",
                         "/api/v1/me"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (otter_web_find(bad[i]))
            fail_msg("'%s' should not be served", bad[i]);
}

static void test_etag_matching(void **state)
{
    const char *e = "\"0123456789abcdef\"";
    assert_true(otter_web_etag_matches("\"0123456789abcdef\"", e));
    assert_true(otter_web_etag_matches("W/\"0123456789abcdef\"", e));
    assert_true(otter_web_etag_matches("\"x\", \"0123456789abcdef\"", e));
    assert_true(otter_web_etag_matches("\"x\",W/\"0123456789abcdef\" ", e));
    assert_true(otter_web_etag_matches("*", e));
    assert_true(otter_web_etag_matches(" * ", e));
    assert_false(otter_web_etag_matches(NULL, e));
    assert_false(otter_web_etag_matches("", e));
    assert_false(otter_web_etag_matches("0123456789abcdef", e));
    assert_false(otter_web_etag_matches("\"0123456789abcde\"", e));
    assert_false(otter_web_etag_matches("\"0123456789abcdef0\"", e));
    assert_false(otter_web_etag_matches("\"x\", \"y\"", e));
    assert_false(otter_web_etag_matches("w/\"0123456789abcdef\"", e));
    assert_false(otter_web_etag_matches(",,,", e));
}

static void assert_security_headers(const otter_http_response *r)
{
    const char *csp = header_value(r->static_headers, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_null(strstr(csp, "unsafe-eval"));
    assert_string_equal(header_value(r->static_headers, "X-Frame-Options"), "DENY");
}

static void test_respond(void **state)
{
    const otter_web_asset *idx = must_find("/index.html");
    otter_http_response r = {0};
    otter_web_respond("GET", "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_ptr_equal(r.static_body, idx->data);
    assert_int_equal(r.body_len, idx->len);
    assert_null(r.body);
    assert_string_equal(r.etag, idx->etag);
    assert_string_equal(r.cache_control, "no-cache");
    assert_string_equal(header_value(r.static_headers, "Referrer-Policy"), "no-referrer");
    assert_security_headers(&r);

    otter_http_response nm = {0};
    otter_web_respond("GET", "/index.html", idx->etag, &nm);
    assert_int_equal(nm.status, 304);
    assert_null(nm.static_body);
    assert_string_equal(nm.etag, idx->etag);

    otter_http_response stale = {0};
    otter_web_respond("HEAD", "/index.html", "\"0000000000000000\"", &stale);
    assert_int_equal(stale.status, 200);

    otter_http_response nf = {0};
    otter_web_respond("GET", "/no/such/file.js", NULL, &nf);
    assert_int_equal(nf.status, 404);
    assert_string_equal(nf.content_type, "text/plain; charset=utf-8");
    assert_null(nf.etag);
    assert_security_headers(&nf);

    otter_http_response bad = {0};
    otter_web_respond("POST", "/", NULL, &bad);
    assert_int_equal(bad.status, 405);
    assert_string_equal(header_value(bad.static_headers, "Allow"), "GET, HEAD");
    assert_security_headers(&bad);
}

/* ---- on the wire ---- */

static void web_handler(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    otter_web_handle(req, resp);
}

/* Sends one raw request to 127.0.0.1:port and returns the whole answer (malloc). */
static char *roundtrip(unsigned port, const char *request, size_t *out_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    size_t n = strlen(request);
    assert_int_equal(send(fd, request, n, 0), (ssize_t)n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        assert_true(r >= 0);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *out_len = len;
    return buf;
}

static int has_header(const char *resp, const char *line)
{
    const char *end = strstr(resp, "\r\n\r\n");
    const char *p = strcasestr(resp, line);
    return p && end && p < end;
}

static void test_on_the_wire(void **state)
{
    otter_http *h = NULL;
    otter_err err;
    otter_http_opts o = {
        .threads = 2, .connection_timeout = 10, .max_connections = 16, .max_body = 1024};
    assert_otter_ok(otter_http_start("127.0.0.1:0", &o, web_handler, NULL, &h, &err), err);
    unsigned port = otter_http_port(h);
    const otter_web_asset *js = must_find("/js/app.js");
    char req[512], want[128];
    size_t len;

    snprintf(req, sizeof req,
             "GET /js/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    char *r = roundtrip(port, req, &len);
    assert_true(strncmp(r, "HTTP/1.1 200", 12) == 0);
    assert_true(has_header(r, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
    assert_true(has_header(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_true(has_header(r, "\r\nCache-Control: no-cache\r\n"));
    assert_true(has_header(r, "\r\nContent-Security-Policy: default-src 'none';"));
    assert_true(has_header(r, "\r\nReferrer-Policy: no-referrer\r\n"));
    snprintf(want, sizeof want, "\r\nETag: %s\r\n", js->etag);
    assert_true(has_header(r, want));
    const char *body = strstr(r, "\r\n\r\n") + 4;
    assert_int_equal(len - (size_t)(body - r), js->len);
    assert_memory_equal(body, js->data, js->len);
    free(r);

    /* HEAD: the same headers and length, no body. */
    snprintf(req, sizeof req,
             "HEAD /js/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    r = roundtrip(port, req, &len);
    assert_true(strncmp(r, "HTTP/1.1 200", 12) == 0);
    snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", js->len);
    assert_true(has_header(r, want));
    assert_int_equal(strlen(strstr(r, "\r\n\r\n")), 4);
    free(r);

    /* Revalidation: 304, no body, ETag again. */
    snprintf(req, sizeof req,
             "GET /js/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"zz\", %s\r\n"
             "Connection: close\r\n\r\n",
             js->etag);
    r = roundtrip(port, req, &len);
    assert_true(strncmp(r, "HTTP/1.1 304", 12) == 0);
    snprintf(want, sizeof want, "\r\nETag: %s\r\n", js->etag);
    assert_true(has_header(r, want));
    assert_int_equal(strlen(strstr(r, "\r\n\r\n")), 4);
    free(r);

    snprintf(req, sizeof req,
             "GET /missing.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    r = roundtrip(port, req, &len);
    assert_true(strncmp(r, "HTTP/1.1 404", 12) == 0);
    assert_true(has_header(r, "\r\nX-Frame-Options: DENY\r\n"));
    assert_true(has_header(r, "\r\nCache-Control: no-store\r\n"));
    free(r);

    snprintf(req, sizeof req,
             "DELETE /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    r = roundtrip(port, req, &len);
    assert_true(strncmp(r, "HTTP/1.1 405", 12) == 0);
    assert_true(has_header(r, "\r\nAllow: GET, HEAD\r\n"));
    free(r);

    otter_http_stop(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_web_src),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_lookup_is_exact),
        cmocka_unit_test(test_etag_matching),
        cmocka_unit_test(test_respond),
        cmocka_unit_test(test_on_the_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
