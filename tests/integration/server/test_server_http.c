/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's HTTP front door, driven with raw bytes over a socket to
 * 127.0.0.1 (RFC 9112): a head with ambiguous framing (Content-Length and
 * Transfer-Encoding, two Content-Lengths) gets 400 and the connection is
 * closed, so a request pipelined behind it is never served; an HTTP/1.1
 * request without Host gets 400 on every path; a client sending its head a
 * byte at a time is cut off at [limits] head_timeout although every byte
 * restarts the idle timer; one address holds at most
 * [limits] max_connections_per_ip connections; and a flood of logins does
 * not take the threads that answer device polls ([auth] login_concurrency).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define HEAD_TIMEOUT 3
#define PER_IP 32

static int setup(void **state)
{
    char auth[512];
    snprintf(auth, sizeof auth,
             "login_max_failures = 1000\nlogin_max_failures_addr = 100000\n"
             "login_concurrency = 1\n"
             "[limits]\nmax_connections_per_ip = %d\nhead_timeout = %d\n",
             PER_IP, HEAD_TIMEOUT);
    if (setup_server("server_http", auth, 0) < 0)
        return -1;
    add_tenant("acme");
    return 0;
}

static int teardown(void **state)
{
    return teardown_server();
}

static int connect_server(void)
{
    const char *colon = strrchr(srv.url, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/*
 * Reads what the server sends on fd until it closes the connection; fails
 * the test when it is still open after 10 s. Caller frees the text.
 */
static char *read_to_close(int fd)
{
    size_t cap = 65536, n = 0;
    char *buf = calloc(1, cap + 1);
    assert_non_null(buf);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, 10000);
        assert_true(ready == 1); /* 0: the server kept the connection open */
        ssize_t got = recv(fd, buf + n, cap - n, 0);
        if (got <= 0)
            break; /* closed (a reset counts: nothing more will come) */
        n += (size_t)got;
        assert_true(n < cap);
    }
    buf[n] = '\0';
    return buf;
}

/* Sends raw bytes on a new connection; returns everything answered up to the close. */
static char *exchange(const char *bytes)
{
    int fd = connect_server();
    assert_int_equal(send(fd, bytes, strlen(bytes), MSG_NOSIGNAL), (ssize_t)strlen(bytes));
    char *got = read_to_close(fd);
    close(fd);
    return got;
}

/* Status lines ("HTTP/1.x NNN") in what came back: the number of answers. */
static int answers(const char *got)
{
    int n = 0;
    for (const char *p = strstr(got, "HTTP/1."); p; p = strstr(p + 1, "HTTP/1."))
        n += p[8] == ' ' && p[9] >= '1' && p[9] <= '5';
    return n;
}

/* One answer with this status line and message, then the close: nothing behind it was served. */
static void expect_refused_and_closed(const char *bytes, const char *status, const char *message)
{
    char *got = exchange(bytes);
    if (strncmp(got, status, strlen(status)) != 0 || answers(got) != 1 || !strstr(got, message))
        fail_msg("sent:\n%s\ngot:\n%s\nwanted one '%s' answer saying '%s', then the close", bytes,
                 got, status, message);
    assert_non_null(strstr(got, "Connection: close"));
    free(got);
}

#define PIPELINED "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static void test_content_length_and_transfer_encoding(void **state)
{
    /* A front proxy reading Content-Length and us reading chunked would disagree on the body. */
    expect_refused_and_closed("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" PIPELINED,
                              "HTTP/1.1 400", "both Transfer-Encoding and Content-Length");
    expect_refused_and_closed("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Transfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n"
                              "0\r\n\r\n" PIPELINED,
                              "HTTP/1.1 400", "both Transfer-Encoding and Content-Length");
    /* A coding we do not implement: 501, and the body's end is unknown, so close too. */
    expect_refused_and_closed("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" PIPELINED,
                              "HTTP/1.1 501", "chunked");
}

static void test_two_content_lengths(void **state)
{
    expect_refused_and_closed("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\nContent-Length: 2\r\n"
                              "Content-Length: 48\r\n\r\n{}" PIPELINED,
                              "HTTP/1.1 400", "more than one Content-Length");
    /* Even two equal ones: the header is a single number (RFC 9112 6.3 allows refusing). */
    expect_refused_and_closed("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\nContent-Length: 2\r\n"
                              "Content-Length: 2\r\n\r\n{}" PIPELINED,
                              "HTTP/1.1 400", "more than one Content-Length");
}

static void test_host_required(void **state)
{
    /* Every part of the server: management API, login, DDI, dashboard, metrics, unknown. */
    const char *paths[] = {"GET /api/v1/me", "POST /api/v1/login", "GET /acme/controller/v1/d1",
                           "GET /",          "GET /metrics",       "GET /no/such/path"};
    char head[256];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(head, sizeof head, "%s HTTP/1.1\r\nAccept: */*\r\n\r\n" PIPELINED, paths[i]);
        expect_refused_and_closed(head, "HTTP/1.1 400", "needs a Host header");
        snprintf(head, sizeof head,
                 "%s HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.org\r\n\r\n" PIPELINED, paths[i]);
        expect_refused_and_closed(head, "HTTP/1.1 400", "more than one Host");
    }
    /* HTTP/1.0 has no Host requirement: served (and closed, as 1.0 does by default). */
    char *got = exchange("GET /api/v1/me HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(got, " 401 "));
    free(got);
    /* With a Host, pipelining works as before: two answers. */
    got = exchange(PIPELINED
                   "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_int_equal(answers(got), 2);
    assert_non_null(strstr(got, "HTTP/1.1 401"));
    free(got);
}

/*
 * Slowloris: a head sent one byte every 250 ms never lets the idle timer
 * (connection_timeout = 10 s) fire; the head deadline closes it anyway.
 * poll() on the socket paces the bytes and sees the close.
 */
static void test_slow_head_is_cut(void **state)
{
    static const char head[] = "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int fd = connect_server();
    size_t sent = 0;
    int closed = 0;
    for (; sent < sizeof head - 1 && !closed; sent++) {
        if (send(fd, head + sent, 1, MSG_NOSIGNAL) != 1) {
            closed = 1; /* reset: the server closed it */
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 250) == 1) {
            char c;
            assert_true(recv(fd, &c, 1, 0) <= 0); /* closed without an answer */
            closed = 1;
        }
    }
    close(fd);
    print_message("slow head closed after %zu of %zu bytes\n", sent, sizeof head - 1);
    /* 4 bytes a second: closed near HEAD_TIMEOUT * 4 bytes, long before the end. */
    assert_true(closed);
    assert_true(sent < sizeof head - 1);
    /* A client that sends its head at once is served as before. */
    char *got = exchange("GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(got, "HTTP/1.1 401"));
    free(got);
}

/* A request on fd kept alive: 1 when it was answered, 0 when the server closed fd instead. */
static int answered(int fd)
{
    if (send(fd, PIPELINED, strlen(PIPELINED), MSG_NOSIGNAL) != (ssize_t)strlen(PIPELINED))
        return 0;
    char buf[2048];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
    return got > 0 && strncmp(buf, "HTTP/1.1 401", 12) == 0;
}

static void test_connections_per_address(void **state)
{
    int fds[PER_IP];
    for (int i = 0; i < PER_IP; i++) {
        /* A connection the harness closed a moment ago may still count: try again, bounded. */
        int ok = 0;
        for (int tries = 0; tries < 100 && !ok; tries++) {
            fds[i] = connect_server();
            ok = answered(fds[i]);
            if (!ok)
                close(fds[i]);
        }
        assert_true(ok);
    }
    /* One more from the same address: closed at once, its request never answered. */
    int extra = connect_server();
    assert_false(answered(extra));
    close(extra);
    /* A slot freed is a slot to take again. */
    close(fds[0]);
    int ok = 0;
    for (int tries = 0; tries < 100 && !ok; tries++) {
        fds[0] = connect_server();
        ok = answered(fds[0]);
        if (!ok)
            close(fds[0]);
    }
    assert_true(ok);
    for (int i = 0; i < PER_IP; i++)
        close(fds[i]);
}

/* ---- a login flood and device polls ---- */

#define FLOODERS 12
#define FLOOD_LOGINS 25

static atomic_int flooding;
static atomic_int unavailable, refused, other, no_retry_after;

static void *flood(void *arg)
{
    (void)arg;
    for (int i = 0; i < FLOOD_LOGINS; i++) {
        long st = req("POST", "/api/v1/login", NULL,
                      "{\"username\":\"admin\",\"password\":\"wrong-password\"}", NULL);
        if (st == 503) {
            atomic_fetch_add(&unavailable, 1);
            if (!retry_after[0])
                atomic_fetch_add(&no_retry_after, 1);
        } else if (st == 401) {
            atomic_fetch_add(&refused, 1);
        } else {
            atomic_fetch_add(&other, 1);
        }
    }
    atomic_fetch_sub(&flooding, 1);
    return NULL;
}

static void test_login_flood_leaves_polls(void **state)
{
    json_t *doc = NULL;
    assert_int_equal(req("POST", "/api/v1/tenants/acme/devices", admin_tok,
                         "{\"controller_id\":\"poller\",\"model\":\"gw-a\"}", &doc),
                     201);
    char auth[256];
    snprintf(auth, sizeof auth, "TargetToken %s", json_string_value(json_object_get(doc, "token")));
    json_decref(doc);

    pthread_t th[FLOODERS];
    atomic_store(&flooding, FLOODERS);
    for (int i = 0; i < FLOODERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, flood, NULL), 0);
    /* Polls while the flood runs: every one answered (within the harness's 10 s per request). */
    int polls = 0, bad_polls = 0;
    while (atomic_load(&flooding) > 0 && polls < 1000) {
        if (request_full(srv.url, "GET", "/acme/controller/v1/poller", auth, NULL, 0, NULL, NULL) !=
            200)
            bad_polls++;
        polls++;
    }
    for (int i = 0; i < FLOODERS; i++)
        pthread_join(th[i], NULL);
    print_message("%d polls during the flood; logins: %d refused (401), %d turned away (503)\n",
                  polls, atomic_load(&refused), atomic_load(&unavailable));
    assert_true(polls > 0);
    assert_int_equal(bad_polls, 0);
    /* Checks beyond login_concurrency were turned away at once, with Retry-After. */
    assert_true(atomic_load(&unavailable) > 0);
    assert_int_equal(atomic_load(&no_retry_after), 0);
    assert_int_equal(atomic_load(&other), 0);
    /* Afterwards the right password gets in. */
    free(login("admin", ADMIN_PW));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length_and_transfer_encoding),
        cmocka_unit_test(test_two_content_lengths),
        cmocka_unit_test(test_host_required),
        cmocka_unit_test(test_slow_head_is_cut),
        cmocka_unit_test(test_login_flood_leaves_polls),
        /* Last: the connections it closes may count a moment longer. */
        cmocka_unit_test(test_connections_per_address),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
