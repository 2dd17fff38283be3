/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_rollback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_file.h"

/* A back-end only stores and loads; the raise-only rule lives above it, once. */
struct backend {
    const char *name;
    int (*load)(const char *path, uint64_t *value, otter_err *err);
    int (*store)(const char *path, uint64_t value, otter_err *err);
};

struct otter_rollback {
    const struct backend *ops;
    char *path;
};

/* "file": the counter as one decimal line, replaced atomically. */
static int file_load(const char *path, uint64_t *value, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        *value = 0;
        return 0;
    }
    int ret = otter_file_read_all(path, 64, &buf, &len, err);
    if (ret)
        return ret;
    /* Exactly digits and one newline: anything else is damage, not zero. */
    size_t digits = strspn(buf, "0123456789");
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (digits == 0 || digits > 20 || len != digits + 1 || buf[digits] != '\n' || errno ||
        (digits > 1 && buf[0] == '0'))
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: corrupt rollback counter", path);
    else
        *value = v;
    free(buf);
    return ret;
}

static int file_store(const char *path, uint64_t value, otter_err *err)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", value);
    return otter_file_write_atomic(path, buf, (size_t)n, 0600, err);
}

static const struct backend backends[] = {
    {"file", file_load, file_store},
};

int otter_rollback_open(const char *backend, const char *path, otter_rollback **out, otter_err *err)
{
    *out = NULL;
    const struct backend *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i].name, backend) == 0)
            ops = &backends[i];
    if (!ops)
        return otter_err_set(err, OTTER_EUSAGE, "unknown rollback back-end '%s'", backend);
    otter_rollback *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    r->ops = ops;
    *out = r;
    return 0;
}

void otter_rollback_free(otter_rollback *r)
{
    if (!r)
        return;
    free(r->path);
    free(r);
}

int otter_rollback_get(otter_rollback *r, uint64_t *value, otter_err *err)
{
    return r->ops->load(r->path, value, err);
}

int otter_rollback_raise(otter_rollback *r, uint64_t value, otter_err *err)
{
    uint64_t cur;
    int ret = r->ops->load(r->path, &cur, err);
    if (ret)
        return ret;
    if (value < cur)
        return otter_err_set(err, OTTER_EROLLBACK,
                             "%s: refusing to lower the rollback counter from %" PRIu64
                             " to %" PRIu64,
                             r->path, cur, value);
    if (value == cur)
        return 0;
    return r->ops->store(r->path, value, err);
}
