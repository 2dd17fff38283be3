/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_rollback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_file.h"
#include "otter_tpm.h"

/* A back-end only stores and loads; the raise-only rule lives above it, once. */
struct backend {
    const char *name;
    int (*load)(const otter_rollback *r, uint64_t *value, otter_err *err);
    int (*store)(const otter_rollback *r, uint64_t value, otter_err *err);
};

struct otter_rollback {
    const struct backend *ops;
    char *path;        /* "file": the counter file; "tpm": the TCTI string */
    uint32_t nv_index; /* "tpm" */
};

/* "file": the counter as one decimal line, replaced atomically. Whoever can
 * write the file can lower it: the weaker back-end (docs/security.md). */
static int file_load(const otter_rollback *r, uint64_t *value, otter_err *err)
{
    const char *path = r->path;
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

static int file_store(const otter_rollback *r, uint64_t value, otter_err *err)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", value);
    return otter_file_write_atomic(r->path, buf, (size_t)n, 0600, err);
}

/* "tpm": the level is the TPM NV counter - 1 (otter_tpm.h), read from the TPM
 * every time: no copy on the device's disk to delete or edit. One connection
 * per operation, so a TPM (or swtpm) restarted under a running daemon is
 * found again. */
static int tpm_load(const otter_rollback *r, uint64_t *value, otter_err *err)
{
    otter_tpm *t = NULL;
    uint64_t counter = 0;
    int ret = otter_tpm_open(r->path, &t, err);
    if (!ret)
        ret = otter_tpm_counter_read(t, r->nv_index, &counter, err);
    if (!ret)
        ret = otter_tpm_level_of(counter, value, err);
    otter_tpm_free(t);
    return ret;
}

/* Re-reads before each increment: two raises at once cannot add their steps up. */
static int tpm_store(const otter_rollback *r, uint64_t value, otter_err *err)
{
    otter_tpm *t = NULL;
    uint64_t counter = 0, steps = 1;
    int ret = otter_tpm_open(r->path, &t, err);
    while (!ret && steps > 0) {
        ret = otter_tpm_counter_read(t, r->nv_index, &counter, err);
        if (!ret)
            ret = otter_tpm_steps_to(counter, value, &steps, err);
        if (!ret && steps > 0)
            ret = otter_tpm_counter_increment(t, r->nv_index, err);
    }
    otter_tpm_free(t);
    return ret;
}

static const struct backend backends[] = {
    {"file", file_load, file_store},
    {"tpm", tpm_load, tpm_store},
};

static int open_ops(const struct backend *ops, const char *path, uint32_t nv_index,
                    otter_rollback **out, otter_err *err)
{
    otter_rollback *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    r->ops = ops;
    r->nv_index = nv_index;
    *out = r;
    return 0;
}

int otter_rollback_open_tpm(const char *tcti, const char *nv_index, otter_rollback **out,
                            otter_err *err)
{
    *out = NULL;
    uint32_t index;
    int ret = otter_tpm_parse_index(nv_index, &index, err);
    return ret ? ret : open_ops(&backends[1], tcti, index, out, err);
}

int otter_rollback_open_conf(const otter_agent_conf *conf, otter_rollback **out, otter_err *err)
{
    if (strcmp(conf->rollback_backend, "tpm") == 0)
        return otter_rollback_open_tpm(conf->tpm_tcti, conf->tpm_nv_index, out, err);
    return otter_rollback_open(conf->rollback_backend, conf->rollback_path, out, err);
}

int otter_rollback_open(const char *backend, const char *path, otter_rollback **out, otter_err *err)
{
    *out = NULL;
    /* "tpm" needs its TCTI and index: otter_rollback_open_tpm. */
    if (strcmp(backend, "file") != 0)
        return otter_err_set(err, OTTER_EUSAGE, "unknown rollback back-end '%s'", backend);
    return open_ops(&backends[0], path, 0, out, err);
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
    return r->ops->load(r, value, err);
}

int otter_rollback_raise(otter_rollback *r, uint64_t value, otter_err *err)
{
    uint64_t cur;
    int ret = r->ops->load(r, &cur, err);
    if (ret)
        return ret;
    if (value < cur)
        return otter_err_set(err, OTTER_EROLLBACK,
                             "%s: refusing to lower the rollback counter from %" PRIu64
                             " to %" PRIu64,
                             r->ops == &backends[0] ? r->path : "TPM", cur, value);
    if (value == cur)
        return 0;
    return r->ops->store(r, value, err);
}
