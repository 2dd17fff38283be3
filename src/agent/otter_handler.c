/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_handler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_handler_impl.h"

/* The only list of handlers. */
static const struct otter_handler_ops *const handlers[] = {
    &otter_handler_raw, &otter_handler_archive,  &otter_handler_file,
    &otter_handler_ubi, &otter_handler_bootpart,
};

/* The handlers that take options, and how they open with them. */
static const struct {
    const struct otter_handler_ops *ops;
    int (*open_opts)(void **ctx, const char *target, uint64_t declared_size,
                     const otter_handler_opts *o, otter_err *err);
} with_opts[] = {
    {&otter_handler_raw, otter_handler_raw_open_opts},
    {&otter_handler_bootpart, otter_handler_bootpart_open_opts},
};

/* ops's open with options o (none: the defaults). */
static int open_with(const struct otter_handler_ops *ops, void **ctx, const char *target,
                     uint64_t declared_size, const otter_handler_opts *o, otter_err *err)
{
    static const otter_handler_opts none;
    for (size_t i = 0; i < sizeof with_opts / sizeof with_opts[0]; i++)
        if (with_opts[i].ops == ops)
            return with_opts[i].open_opts(ctx, target, declared_size, o ? o : &none, err);
    return ops->open(ctx, target, declared_size, err);
}

struct otter_handler {
    const struct otter_handler_ops *ops;
    void *ctx;
    uint64_t declared, written;
    int failed;
    char target[256]; /* for messages only; cut if longer */
};

static const struct otter_handler_ops *find(const char *name)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (strcmp(handlers[i]->name, name) == 0)
            return handlers[i];
    return NULL;
}

int otter_handler_exists(const char *name)
{
    return find(name) != NULL;
}

/* open (head NULL) or resume (at offset, with the held-back head). */
static int start(const char *name, const char *target, uint64_t declared_size, uint64_t offset,
                 const uint8_t *head, size_t head_len, const char *partial,
                 const otter_handler_opts *o, otter_handler **out, otter_err *err)
{
    *out = NULL;
    const struct otter_handler_ops *ops = find(name);
    if (!ops)
        return otter_err_set(err, OTTER_EUSAGE, "unknown slot handler '%s'", name);
    if (head && !ops->resume)
        return otter_err_set(err, OTTER_EUSAGE, "the %s handler cannot resume", name);
    if (offset > declared_size)
        return otter_err_set(err, OTTER_EUSAGE, "%s: resume at %" PRIu64 " past %" PRIu64, target,
                             offset, declared_size);
    otter_handler *h = calloc(1, sizeof *h);
    if (!h)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    h->ops = ops;
    h->declared = declared_size;
    h->written = offset;
    snprintf(h->target, sizeof h->target, "%s", target);
    int ret = head ? ops->resume(&h->ctx, target, declared_size, offset, head, head_len,
                                 partial ? partial : target, err)
                   : open_with(ops, &h->ctx, target, declared_size, o, err);
    if (ret) {
        free(h);
        return otter_err_prefix(err, "%s handler", name);
    }
    *out = h;
    return 0;
}

int otter_handler_open(const char *name, const char *target, uint64_t declared_size,
                       otter_handler **out, otter_err *err)
{
    return start(name, target, declared_size, 0, NULL, 0, NULL, NULL, out, err);
}

int otter_handler_open_opts(const char *name, const char *target, uint64_t declared_size,
                            const otter_handler_opts *o, otter_handler **out, otter_err *err)
{
    return start(name, target, declared_size, 0, NULL, 0, NULL, o, out, err);
}

int otter_handler_open_exec(const otter_handler_exec_params *p, const char *target,
                            uint64_t declared_size, otter_handler **out, otter_err *err)
{
    *out = NULL;
    otter_handler *h = calloc(1, sizeof *h);
    if (!h)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    h->ops = &otter_handler_exec;
    h->declared = declared_size;
    snprintf(h->target, sizeof h->target, "%s", target);
    int ret = otter_handler_exec_start(&h->ctx, p, target, declared_size, err);
    if (ret) {
        free(h);
        return otter_err_prefix(err, "%s handler", p->name);
    }
    *out = h;
    return 0;
}

int otter_handler_resume(const char *name, const char *target, uint64_t declared_size,
                         uint64_t offset, const uint8_t *head, size_t head_len, const char *partial,
                         otter_handler **out, otter_err *err)
{
    static const uint8_t none[1];
    return start(name, target, declared_size, offset, head ? head : none, head_len, partial, NULL,
                 out, err);
}

const char *otter_handler_partial_path(const otter_handler *h)
{
    return h->ops->partial_path ? h->ops->partial_path(h->ctx) : NULL;
}

int otter_handler_write(otter_handler *h, const void *buf, size_t len, otter_err *err)
{
    if (h->failed)
        return otter_err_set(err, OTTER_ESTATE, "%s: write after a failed write", h->target);
    if (len > h->declared - h->written) {
        h->failed = 1;
        return otter_err_set(err, OTTER_EDIGEST, "%s: more than the declared %" PRIu64 " bytes",
                             h->target, h->declared);
    }
    int ret = h->ops->write(h->ctx, buf, len, err);
    if (ret) {
        h->failed = 1;
        return otter_err_prefix(err, "%s handler", h->ops->name);
    }
    h->written += len;
    return 0;
}

int otter_handler_finish(otter_handler *h, otter_err *err)
{
    int ret;
    if (h->failed)
        ret = otter_err_set(err, OTTER_ESTATE, "%s: finish after a failed write", h->target);
    else if (h->written != h->declared)
        ret = otter_err_set(err, OTTER_EDIGEST,
                            "%s: got %" PRIu64 " of the declared %" PRIu64 " bytes", h->target,
                            h->written, h->declared);
    else if ((ret = h->ops->finish(h->ctx, err)) == 0) {
        free(h);
        return 0;
    } else
        otter_err_prefix(err, "%s handler", h->ops->name);
    h->ops->abort(h->ctx);
    free(h);
    return ret;
}

void otter_handler_abort(otter_handler *h)
{
    if (!h)
        return;
    h->ops->abort(h->ctx);
    free(h);
}
