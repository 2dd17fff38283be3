/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The head-deadline reaper (otter_http_guard.h) at the exact moments that
 * matter, with libmicrohttpd's connection info and the clock wrapped
 * (-Wl,--wrap): a connection that starts, or whose request ends, while the
 * reaper is between reading the clock and taking its lock is not shut
 * down. The old reaper subtracted that later start from its earlier "now"
 * in unsigned arithmetic, saw a connection billions of seconds late, and
 * shut it down: the client got "Server returned nothing" and
 * libmicrohttpd "Failed to send the response headers ... The socket is no
 * longer available for sending" (the ASan flake of test_server_rollout_it_pg,
 * session 10). And the reaper still shuts down a head that is really late.
 */
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otter_http_guard.h"
#include "otter_test.h"

/* ---- the wrapped calls ---- */

int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);
const union MHD_ConnectionInfo *__wrap_MHD_get_connection_info(struct MHD_Connection *c,
                                                               enum MHD_ConnectionInfoType t, ...);
const union MHD_ConnectionInfo *__real_MHD_get_connection_info(struct MHD_Connection *c,
                                                               enum MHD_ConnectionInfoType t, ...);

/* One fake connection: its descriptor and its socket_context slot. */
static struct {
    union MHD_ConnectionInfo fd_info, ctx_info;
    void *socket_context;
} fake;

static uint64_t clock_ns;      /* the monotonic clock the guard sees */
static void (*on_clock)(void); /* run once, inside the next clock read (then cleared) */

int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
    if (clk != CLOCK_MONOTONIC)
        return __real_clock_gettime(clk, ts);
    ts->tv_sec = (time_t)(clock_ns / 1000000000u);
    ts->tv_nsec = (long)(clock_ns % 1000000000u);
    void (*cb)(void) = on_clock;
    on_clock = NULL;
    if (cb) {
        clock_ns += 1000; /* what cb does happens a microsecond after this read */
        cb();
    }
    return 0;
}

const union MHD_ConnectionInfo *__wrap_MHD_get_connection_info(struct MHD_Connection *c,
                                                               enum MHD_ConnectionInfoType t, ...)
{
    (void)c;
    if (t == MHD_CONNECTION_INFO_CONNECTION_FD)
        return &fake.fd_info;
    if (t == MHD_CONNECTION_INFO_SOCKET_CONTEXT) {
        fake.ctx_info.socket_context = fake.socket_context;
        return &fake.ctx_info;
    }
    return NULL;
}

/* ---- the test ---- */

#define S 1000000000ull
static otter_http_guard *guard;
static struct MHD_Connection *conn = (struct MHD_Connection *)&fake; /* never dereferenced */

static void start_connection(void)
{
    otter_http_guard_started(guard, conn, &fake.socket_context);
}

static void end_request(void)
{
    otter_http_guard_request_done(guard, conn);
}

/* 1 when the server's end of the pair (sv[0]) was shut down: the client's end reads EOF. */
static int was_shut(int client)
{
    char c;
    ssize_t n = recv(client, &c, 1, MSG_DONTWAIT);
    return n == 0;
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fake.fd_info.connect_fd = sv[0];
}

static void test_connection_started_during_a_reap_is_left_alone(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    guard = otter_http_guard_new(10);
    assert_non_null(guard);
    clock_ns = 100 * S;
    on_clock = start_connection; /* accepted just after the reaper read its clock */
    otter_http_guard_reap(guard);
    assert_non_null(fake.socket_context);
    if (was_shut(sv[1]))
        fail_msg("a connection a microsecond old was shut down as late");
    /* Its head really late (10 s, nothing sent): shut down. */
    clock_ns += 10 * S;
    otter_http_guard_reap(guard);
    assert_true(was_shut(sv[1]));
    otter_http_guard_closed(guard, &fake.socket_context);
    otter_http_guard_free(guard);
    close(sv[0]);
    close(sv[1]);
}

static void test_request_ended_during_a_reap_is_left_alone(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    guard = otter_http_guard_new(10);
    clock_ns = 200 * S;
    start_connection();
    otter_http_guard_head_in(guard, conn);
    clock_ns += 30 * S;     /* a long download */
    on_clock = end_request; /* its end (keep-alive: the next head's deadline starts) */
    otter_http_guard_reap(guard);
    if (was_shut(sv[1]))
        fail_msg("a keep-alive connection whose request just ended was shut down");
    otter_http_guard_closed(guard, &fake.socket_context);
    otter_http_guard_free(guard);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_started_during_a_reap_is_left_alone),
        cmocka_unit_test(test_request_ended_during_a_reap_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
