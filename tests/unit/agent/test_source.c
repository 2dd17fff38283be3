/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package source fed by a child (otter_source.c), with small shell
 * scripts standing in for otter-fetch: the bytes arrive whole and in order
 * with the arguments passed through; the end of the pipe counts only when
 * the child exits 0 (exit 1 is a TLS refusal, any other status or a signal
 * a failed download, never a short package taken as complete); a cancel
 * stops a read while the child is stalled; too many arguments are refused.
 */
#include "otter_test.h"

#include "otter_source.h"

#include <sys/stat.h>

static char dir[PATH_MAX];

static const char *at(const char *name)
{
    static char paths[4][PATH_MAX + 64];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, PATH_MAX + 64, "%s/%s", dir, name);
    return p;
}

/* An executable script NAME with body after the #! line. */
static const char *script(const char *name, const char *body)
{
    const char *path = at(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

/* Reads the whole source into buf; returns the last read's result (0 at a good end). */
static ssize_t drain(otter_source *s, char *buf, size_t cap, size_t *got, otter_err *err)
{
    *got = 0;
    for (;;) {
        ssize_t n = otter_source_read(s, buf + *got, cap - *got, err);
        if (n <= 0)
            return n;
        *got += (size_t)n;
        assert_true(*got < cap);
    }
}

static void test_bytes_and_arguments(void **state)
{
    (void)state;
    const char *fetch = script("fetch-args", "for a in \"$@\"; do printf '%s|' \"$a\"; done");
    const char *args[] = {"--ca", "/etc/ca.pem", "--max-rate", "128"};
    otter_source *s = NULL;
    otter_err err;
    assert_otter_ok(otter_source_spawn(fetch, "https://ota.example/u.zip", args, 4, NULL, &s, &err),
                    err);
    char buf[4096];
    size_t got;
    assert_int_equal(drain(s, buf, sizeof buf, &got, &err), 0);
    buf[got] = '\0';
    /* The options first, the URL last, each one argument. */
    assert_string_equal(buf, "--ca|/etc/ca.pem|--max-rate|128|https://ota.example/u.zip|");
    otter_source_free(s);

    /* 1 MiB through the pipe, byte for byte. */
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "head -c 1048576 /dev/urandom > '%s'", at("body"));
    assert_int_equal(system(cmd), 0);
    fetch = script("fetch-cat", "exec cat \"$1\"");
    assert_otter_ok(otter_source_spawn(fetch, at("body"), NULL, 0, NULL, &s, &err), err);
    static char big[1 << 21];
    assert_int_equal(drain(s, big, sizeof big, &got, &err), 0);
    assert_int_equal(got, 1048576);
    FILE *f = fopen(at("body"), "r");
    assert_non_null(f);
    static char want[1 << 20];
    assert_int_equal(fread(want, 1, sizeof want, f), sizeof want);
    fclose(f);
    assert_memory_equal(big, want, sizeof want);
    otter_source_free(s);
}

/* The child's verdict decides: bytes followed by a failing exit are not a complete package. */
static void test_child_verdict(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int code;
        const char *says;
    } cases[] = {
        {"printf 'PK-partial'; exit 1", OTTER_ESIG, "server TLS verification failed"},
        {"printf 'PK-partial'; exit 6", OTTER_EIO, "otter-fetch exit status 6"},
        /* s10-cdn: what a CDN origin says to a bad signed link, in the device's words. */
        {"exit 3", OTTER_EIO, "download refused: HTTP 403 Forbidden (a tampered link"},
        {"exit 4", OTTER_EIO, "download refused: HTTP 404 Not Found"},
        {"exit 5", OTTER_EIO, "download refused: HTTP 410 Gone (an expired link"},
        {"printf 'PK-partial'; kill -9 $$", OTTER_EIO, "otter-fetch exit status 137"},
        {"exit 2", OTTER_EIO, "otter-fetch exit status 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "fetch-verdict-%zu", i);
        const char *fetch = script(name, cases[i].body);
        otter_source *s = NULL;
        otter_err err;
        assert_otter_ok(
            otter_source_spawn(fetch, "http://127.0.0.1/u.zip", NULL, 0, NULL, &s, &err), err);
        char buf[256];
        size_t got;
        ssize_t n = drain(s, buf, sizeof buf, &got, &err);
        assert_otter_error((int)n, err, cases[i].code, cases[i].says);
        otter_source_free(s);
    }
    /* A program that cannot be run at all. */
    otter_source *s = NULL;
    otter_err err;
    assert_otter_ok(
        otter_source_spawn(at("no-such-fetch"), "http://127.0.0.1/u.zip", NULL, 0, NULL, &s, &err),
        err);
    char buf[64];
    size_t got;
    assert_otter_error((int)drain(s, buf, sizeof buf, &got, &err), err, OTTER_EIO, "exit status 2");
    otter_source_free(s);
}

/* A stalled download: the cancel flag stops the read; free ends the child. */
static void test_cancel_while_stalled(void **state)
{
    (void)state;
    const char *fetch = script("fetch-stall", "printf 'PK'; exec sleep 600");
    otter_source *s = NULL;
    otter_err err;
    assert_otter_ok(otter_source_spawn(fetch, "http://127.0.0.1/u.zip", NULL, 0, NULL, &s, &err),
                    err);
    volatile sig_atomic_t cancel = 0;
    otter_source_set_cancel(s, &cancel);
    char buf[16];
    ssize_t n;
    size_t got = 0;
    /* The two bytes the child wrote, then the stall; the flag is set once they are in. */
    while (got < 2 && (n = otter_source_read(s, buf + got, sizeof buf - got, &err)) > 0)
        got += (size_t)n;
    assert_int_equal(got, 2);
    cancel = 1;
    assert_otter_error((int)otter_source_read(s, buf, sizeof buf, &err), err, OTTER_ECANCELED,
                       "download canceled");
    otter_source_free(s); /* SIGTERMs and reaps the sleeping child: returns, does not hang */
}

static void test_too_many_arguments(void **state)
{
    (void)state;
    const char *args[64];
    for (size_t i = 0; i < 64; i++)
        args[i] = "--x";
    otter_source *s = NULL;
    otter_err err;
    assert_otter_error(
        otter_source_spawn("/bin/true", "http://127.0.0.1/u.zip", args, 64, NULL, &s, &err), err,
        OTTER_EUSAGE, "too many download options");
    assert_null(s);
}

static void test_sibling(void **state)
{
    (void)state;
    char path[PATH_MAX], self[PATH_MAX];
    otter_err err;
    assert_otter_ok(otter_source_sibling("otter-fetch", path, sizeof path, &err), err);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    strcat(self, "/otter-fetch");
    assert_string_equal(path, self);
    char tiny[8];
    assert_otter_error(otter_source_sibling("otter-fetch", tiny, sizeof tiny, &err), err,
                       OTTER_EUSAGE, "path too long");
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("agent_source"));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_and_arguments),
        cmocka_unit_test(test_child_verdict),
        cmocka_unit_test(test_cancel_while_stalled),
        cmocka_unit_test(test_too_many_arguments),
        cmocka_unit_test(test_sibling),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
