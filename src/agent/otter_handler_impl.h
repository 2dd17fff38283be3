/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the handler module: the vtable each handler implements. */
#ifndef OTTER_HANDLER_IMPL_H
#define OTTER_HANDLER_IMPL_H

#include "otter_handler.h"

struct otter_handler_ops {
    const char *name;
    /* Creates the handler's context in *ctx. */
    int (*open)(void **ctx, const char *target, uint64_t declared_size, otter_err *err);
    int (*write)(void *ctx, const void *buf, size_t len, otter_err *err);
    /* Commits. On success ctx is freed; on failure ctx stays for abort(). */
    int (*finish)(void *ctx, otter_err *err);
    /* Invalidates the partial slot and frees ctx. */
    void (*abort)(void *ctx);
    /* Optional: continues an unfinished slot whose bytes before offset are
     * already there (checked by the caller) in partial (the file that
     * partial_path() named before); head: the first bytes the handler had
     * held back. NULL: the handler cannot resume. */
    int (*resume)(void **ctx, const char *target, uint64_t declared_size, uint64_t offset,
                  const uint8_t *head, size_t head_len, const char *partial, otter_err *err);
    /* Optional: where the unfinished bytes are (borrowed from ctx). */
    const char *(*partial_path)(const void *ctx);
};

/* Handlers that take options ([slot.NAME] direct, discard; [emmc] mmc) open with
 * these instead of ops->open (o never NULL); otter_handler.c maps them. */
int otter_handler_raw_open_opts(void **ctx, const char *target, uint64_t declared_size,
                                const otter_handler_opts *o, otter_err *err);
int otter_handler_bootpart_open_opts(void **ctx, const char *target, uint64_t declared_size,
                                     const otter_handler_opts *o, otter_err *err);

extern const struct otter_handler_ops otter_handler_raw;
extern const struct otter_handler_ops otter_handler_file;
extern const struct otter_handler_ops otter_handler_archive;
extern const struct otter_handler_ops otter_handler_ubi;
extern const struct otter_handler_ops otter_handler_bootpart;
/* Custom handlers: not in the table (their names come from agent.conf); open is
 * otter_handler_exec_start, the rest of the ops as usual. */
extern const struct otter_handler_ops otter_handler_exec;
int otter_handler_exec_start(void **ctx, const otter_handler_exec_params *p, const char *target,
                             uint64_t declared_size, otter_err *err);

#endif
