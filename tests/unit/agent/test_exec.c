/* SPDX-License-Identifier: Apache-2.0 */
/* A child's output in the agent's log: line by line, prefixed, cleaned and bounded. */
#include "otter_test.h"

#include <fcntl.h>

#include "otter_exec.h"
#include "otter_file.h"

/* Runs sh -c script with stderr (the agent's log) sent to a file; returns what was logged. */
static char *run_logged(const char *script, const char *prefix,
                        char output[OTTER_EXEC_OUTPUT_MAX + 1])
{
    otter_err err;
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/log", otter_test_dir("exec_log"));
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    char *envp[] = {"PATH=" OTTER_EXEC_PATH, NULL};
    otter_exec *x = NULL;
    int status = -1;
    int ret = otter_exec_start(argv, envp, 0, 30, &x, &err);
    if (!ret) {
        if (prefix)
            otter_exec_set_prefix(x, prefix);
        ret = otter_exec_wait(x, &status, output, &err);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_otter_ok(ret, err);
    assert_int_equal(status, 0);
    char *buf = NULL;
    size_t len = 0;
    assert_otter_ok(otter_file_read_all(log, 1 << 20, &buf, &len, &err), err);
    return buf;
}

static void test_lines_prefixed(void **state)
{
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    char *log =
        run_logged("echo one; echo two >&2; printf 'no newline'", "hook pre_install", output);
    assert_string_equal(log, "otter-agent: hook pre_install: one\n"
                             "otter-agent: hook pre_install: two\n"
                             "otter-agent: hook pre_install: no newline\n");
    free(log);
    /* The message's tail is still there, unchanged. */
    assert_string_equal(output, "one\ntwo\nno newline");
    /* Without a prefix: the program's file name. */
    log = run_logged("echo hi", NULL, output);
    assert_string_equal(log, "otter-agent: sh: hi\n");
    free(log);
}

/* A child cannot forge log lines or send terminal escapes through the log. */
static void test_control_characters(void **state)
{
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    char *log = run_logged("printf 'a\\033[2Jb\\rotter-agent: fake\\n'", "handler modem", output);
    assert_string_equal(log, "otter-agent: handler modem: a?[2Jb?otter-agent: fake\n");
    free(log);
}

static void test_bounds(void **state)
{
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    /* One line of 2000 bytes: cut at OTTER_EXEC_LINE_MAX, said so; the next line is whole. */
    char *log = run_logged("i=0; while [ $i -lt 200 ]; do printf 'xxxxxxxxxx'; i=$((i+1)); done; "
                           "echo; echo after",
                           "p", output);
    char want[OTTER_EXEC_LINE_MAX + 128];
    char xs[OTTER_EXEC_LINE_MAX + 1];
    memset(xs, 'x', OTTER_EXEC_LINE_MAX);
    xs[OTTER_EXEC_LINE_MAX] = '\0';
    snprintf(want, sizeof want, "otter-agent: p: %s [cut]\notter-agent: p: after\n", xs);
    assert_string_equal(log, want);
    free(log);
    /* 1000 lines: OTTER_EXEC_LOG_LINES of them are logged, then one line says so. */
    log = run_logged("i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); done", "p", output);
    size_t lines = 0;
    for (const char *p = log; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, OTTER_EXEC_LOG_LINES + 1);
    assert_non_null(strstr(log, "otter-agent: p: line 199\n"));
    assert_null(strstr(log, "line 200"));
    assert_non_null(strstr(log, "otter-agent: p: more output not logged (limit 200 lines)\n"));
    free(log);
    assert_non_null(strstr(output, "line 999")); /* the message keeps the end */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_prefixed),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
