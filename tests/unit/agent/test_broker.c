/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The installer broker of otter-agentd (otter_broker.h): what the
 * unprivileged daemon may ask of root. The request parser accepts only the
 * listed forms; a real broker loop (otter_broker_serve in a child process,
 * on a real socketpair) refuses anything else, an origin it does not trust,
 * and requests without or with extra descriptors, and answers a status.
 */
#include "otter_test.h"
#include "otter_broker.h"
#include "otter_broker_wire.h"

#include <sys/socket.h>
#include <sys/wait.h>

static void test_req_accepted(void **state)
{
    (void)state;
    otter_err err;
    otter_broker_req r;
    char out[OTTER_BROKER_MAX_REQ + 1];
    const char *good[] = {"install spool",
                          "install https://srv.example:8443/a/b?c=d",
                          "download 3000000 http://127.0.0.1:9/x",
                          "stop",
                          "clear-spool",
                          "reboot 2.0",
                          "status",
                          "install upload upload-0123abcd.zip",
                          "drop-upload upload-0123abcd.zip"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_otter_ok(otter_broker_req_parse(good[i], strlen(good[i]), &r, &err), err);
        assert_otter_ok(otter_broker_req_format(&r, out, sizeof out, &err), err);
        assert_string_equal(out, good[i]);
    }
    assert_otter_ok(otter_broker_req_parse("download 3000000 http://h/x", 27, &r, &err), err);
    assert_int_equal(r.op, OTTER_BROKER_DOWNLOAD);
    assert_true(r.max_size == 3000000);
    assert_string_equal(r.url, "http://h/x");
}

/* Whatever is not one of the forms: options, paths, other configs, other schemes, blanks;
 * an upload's name that is a path. */
static void test_req_refused(void **state)
{
    (void)state;
    otter_err err;
    otter_broker_req r;
    const char *bad[] = {"install --config /tmp/evil.conf http://h/x",
                         "install http://h/x --config /tmp/evil.conf",
                         "install --ca=/tmp/ca http://h/x",
                         "install /tmp/evil.zip",
                         "install file:///etc/shadow",
                         "install -",
                         "install spool extra",
                         "install  http://h/x",
                         "install http://h/x ",
                         "install http://",
                         "install http://h/\tx",
                         "download http://h/x",
                         "download 0 http://h/x",
                         "download 012 http://h/x",
                         "download -1 http://h/x",
                         "download 99999999999999999999 http://h/x",
                         "download 12 spool",
                         "stop now",
                         "status --config /tmp/evil.conf",
                         "clear-spool /",
                         "reboot",
                         "reboot a b",
                         "exec /bin/sh",
                         "INSTALL spool",
                         "install upload ../etc/shadow",
                         "install upload /etc/shadow",
                         "install upload .hidden",
                         "install upload a/b.zip",
                         "install upload",
                         "install upload a b",
                         "drop-upload ..",
                         "drop-upload /etc/shadow",
                         "drop-upload",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ret = otter_broker_req_parse(bad[i], strlen(bad[i]), &r, &err);
        if (ret != OTTER_EFORMAT)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(r.op, 0);
    }
    /* A NUL inside, and a request one byte over the limit. */
    assert_int_equal(otter_broker_req_parse("install spool\0x", 15, &r, &err), OTTER_EFORMAT);
    char *big = malloc(OTTER_BROKER_MAX_REQ + 2);
    assert_non_null(big);
    memset(big, 'a', OTTER_BROKER_MAX_REQ + 1);
    memcpy(big, "install http://h/", 17);
    assert_int_equal(otter_broker_req_parse(big, OTTER_BROKER_MAX_REQ + 1, &r, &err),
                     OTTER_EFORMAT);
    free(big);
}

/* A broker process on a socketpair, with a device's agent.conf. */
typedef struct served {
    int sock;
    pid_t pid;
    otter_agent_conf *conf;
} served;

static void start(served *s, const char *dir)
{
    char conf_path[PATH_MAX], text[2048];
    otter_err err;
    snprintf(conf_path, sizeof conf_path, "%s/agent.conf", dir);
    snprintf(text, sizeof text,
             "[device]\nproduct = gw\nmodel = gw-a\n[state]\ndir = %s\n[boot]\nbackend = file\n"
             "path = %s/bootenv\n[slot.rootfs]\na = %s/a\nb = %s/b\n[server]\n"
             "url = http://127.0.0.1:9\ntenant = t\ncontroller_id = c\ntarget_token = secret\n"
             "spool = %s/spool\n",
             dir, dir, dir, dir, dir);
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_otter_ok(otter_agent_conf_parse_file(conf_path, &s->conf, &err), err);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        close(sv[0]);
        _exit(otter_broker_serve(sv[1], conf_path, s->conf));
    }
    close(sv[1]);
    s->sock = sv[0];
}

/* Sends text (with two pipe ends when with_fds) and returns the answer in a static buffer. */
static const char *ask(served *s, const char *text, int with_fds)
{
    static char buf[16384];
    int p[2], fds[2], n;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(otter_broker_wire_send(s->sock, text, p, with_fds ? 2 : 0), 0);
    close(p[0]);
    close(p[1]);
    assert_true(otter_broker_wire_recv(s->sock, buf, sizeof buf, fds, &n) > 0);
    assert_int_equal(n, 0);
    return buf;
}

static void expect_prefix(const char *got, const char *want)
{
    if (strncmp(got, want, strlen(want)) != 0)
        fail_msg("answer \"%s\", want \"%s...\"", got, want);
}

static void test_serve_refuses(void **state)
{
    (void)state;
    served s;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s", otter_test_dir("broker-serve"));
    start(&s, dir);
    expect_prefix(ask(&s, "install --config /tmp/evil.conf http://127.0.0.1:9/x", 1),
                  "refused broker request");
    expect_prefix(ask(&s, "install http://127.0.0.1:9/x --config /tmp/evil.conf", 1),
                  "refused broker request");
    expect_prefix(ask(&s, "exec /bin/sh", 0), "refused broker request");
    /* A link off the server's origin never gets the token: refused by the broker's own check. */
    expect_prefix(ask(&s, "install http://evil.example/x.zip", 1), "refused link refused");
    /* An install without the two pipe ends, a status with them. */
    expect_prefix(ask(&s, "install spool", 0), "refused broker request refused: wrong number");
    expect_prefix(ask(&s, "status", 1), "refused broker request refused: wrong number");
    /* A request longer than any valid one. */
    char *big = malloc(OTTER_BROKER_MAX_REQ + 100);
    assert_non_null(big);
    memset(big, 'a', OTTER_BROKER_MAX_REQ + 99);
    big[OTTER_BROKER_MAX_REQ + 99] = '\0';
    expect_prefix(ask(&s, big, 0), "refused");
    free(big);
    /* Still serving after all that: the status, read as it finds the device (a damaged state). */
    snprintf(path, sizeof path, "%s/state.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"broken\"", f);
    fclose(f);
    const char *st = ask(&s, "status", 0);
    expect_prefix(st, "status {");
    otter_daemon_status ds;
    otter_err err;
    assert_otter_ok(otter_daemon_status_from_json(st + 7, strlen(st + 7), &ds, &err), err);
    assert_int_equal(ds.state_err.code, OTTER_EFORMAT);
    assert_non_null(strstr(ds.state_err.msg, "state.json"));
    expect_prefix(ask(&s, "clear-spool", 0), "ok");
    close(s.sock);
    int status = -1;
    assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    otter_agent_conf_free(s.conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_accepted),
        cmocka_unit_test(test_req_refused),
        cmocka_unit_test(test_serve_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
