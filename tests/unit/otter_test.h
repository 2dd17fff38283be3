/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for cmocka unit tests. Include after <cmocka.h>'s prerequisites. */
#ifndef OTTER_TEST_H
#define OTTER_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/*
 * Makes a fresh empty directory for one test under $OTTER_TEST_TMP (or /tmp)
 * and returns its path in a static buffer (valid until the next call).
 */
static inline const char *otter_test_dir(const char *name)
{
    static char path[PATH_MAX];
    const char *base = getenv("OTTER_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    snprintf(path, sizeof path, "%s/%s.%ld", base, name, (long)getpid());
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0)
        fail_msg("cannot create %s", path);
    return path;
}

/* Asserts that a call failed with code and that its message contains needle. */
#define assert_otter_error(ret, err, want_code, needle)                                            \
    do {                                                                                           \
        int ret_ = (ret);                                                                          \
        if (ret_ != (want_code) || strstr((err).msg, (needle)) == NULL)                            \
            fail_msg("expected code %d with \"%s\", got %d: \"%s\"", (want_code), (needle), ret_,  \
                     (err).msg);                                                                   \
    } while (0)

#define assert_otter_ok(ret, err)                                                                  \
    do {                                                                                           \
        int ret_ = (ret);                                                                          \
        if (ret_ != 0)                                                                             \
            fail_msg("expected success, got %d: %s", ret_, (err).msg);                             \
    } while (0)

#endif
