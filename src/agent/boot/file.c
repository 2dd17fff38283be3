/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "file" boot back-end: a NAME=VALUE per line text file, for tests and
 * the boot simulator. '#' starts a comment line. A missing file is an
 * empty environment (the first write creates it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_boot_backend.h"
#include "otter_file.h"

static int parse(const char *path, const char *buf, size_t len, otter_boot_env *env, otter_err *err)
{
    int line = 0;
    size_t pos = 0;
    if (memchr(buf, '\0', len))
        return otter_err_set(err, OTTER_EFORMAT, "%s: contains a NUL byte", path);
    while (pos < len) {
        const char *start = buf + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + 1;
        line++;
        if (n == 0 || start[0] == '#')
            continue;
        const char *eq = memchr(start, '=', n);
        if (!eq || eq == start)
            return otter_err_set(err, OTTER_EFORMAT, "%s:%d: expected NAME=VALUE", path, line);
        int ret = otter_boot_env_put(env, start, (size_t)(eq - start), eq + 1,
                                     n - (size_t)(eq - start) - 1, path, err);
        if (ret)
            return ret == OTTER_ENOMEM ? ret : otter_err_prefix(err, "line %d", line);
    }
    return 0;
}

static int load(const char *path, otter_boot_env *env, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    int ret = otter_file_read_all(path, OTTER_BOOT_MAX_FILE, &buf, &len, err);
    if (ret == 0)
        ret = parse(path, buf, len, env, err);
    free(buf);
    return ret;
}

static int store(const char *path, const otter_boot_env *env, const otter_boot_var *changes,
                 size_t n, otter_err *err)
{
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < env->n; i++)
        cap += strlen(env->name[i]) + strlen(env->value[i]) + 2;
    if (cap > OTTER_BOOT_MAX_FILE)
        return otter_err_set(err, OTTER_EFORMAT, "%s: environment of %zu bytes (limit %d)", path,
                             cap, OTTER_BOOT_MAX_FILE);
    char *buf = malloc(cap);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    for (size_t i = 0; i < env->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s=%s\n", env->name[i], env->value[i]);
    int ret = otter_file_write_atomic(path, buf, len, 0644, err);
    free(buf);
    return ret;
}

const struct otter_boot_backend otter_boot_backend_file = {"file", load, store};
