/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "uboot" boot back-end, over libubootenv: path is an fw_env.config
 * (device or file, offset, size; a second line makes it redundant). Every
 * change goes out in one libuboot_env_store(), which with a redundant
 * environment writes the inactive copy and flips its flag: the bootloader
 * sees either the old or the new set of variables, never a mix.
 */
#include <stddef.h> /* libuboot.h uses size_t without including it */

#include <libuboot.h>
#include <string.h>

#include "otter_boot_backend.h"

static int open_ctx(const char *path, struct uboot_ctx **ctx, otter_err *err)
{
    *ctx = NULL;
    int r = libuboot_initialize(ctx, NULL);
    if (r < 0)
        return otter_err_set(err, OTTER_ENOMEM, "libubootenv initialization failed (%d)", r);
    r = libuboot_read_config(*ctx, path);
    if (r < 0) {
        libuboot_exit(*ctx);
        *ctx = NULL;
        return otter_err_set(err, OTTER_EFORMAT, "%s: unusable fw_env.config (%d)", path, r);
    }
    r = libuboot_open(*ctx);
    if (r < 0) {
        /* libuboot_open keeps its lock file on failure; close releases it. */
        libuboot_close(*ctx);
        libuboot_exit(*ctx);
        *ctx = NULL;
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: no valid U-Boot environment (bad CRC or unreadable, %d)", path,
                             r);
    }
    return 0;
}

static void close_ctx(struct uboot_ctx *ctx)
{
    libuboot_close(ctx);
    libuboot_exit(ctx);
}

static int load(const char *path, otter_boot_env *env, otter_err *err)
{
    struct uboot_ctx *ctx;
    int ret = open_ctx(path, &ctx, err);
    if (ret)
        return ret;
    for (void *e = libuboot_iterator(ctx, NULL); e && ret == 0; e = libuboot_iterator(ctx, e)) {
        const char *name = libuboot_getname(e), *value = libuboot_getvalue(e);
        if (name && value)
            ret = otter_boot_env_put(env, name, strlen(name), value, strlen(value), path, err);
    }
    close_ctx(ctx);
    return ret;
}

static int store(const char *path, const otter_boot_env *env, const otter_boot_var *changes,
                 size_t n, otter_err *err)
{
    struct uboot_ctx *ctx;
    int ret = open_ctx(path, &ctx, err);
    if (ret)
        return ret;
    for (size_t i = 0; i < n && ret == 0; i++) {
        int r = libuboot_set_env(ctx, changes[i].name, changes[i].value);
        if (r < 0)
            ret = otter_err_set(err, OTTER_EIO, "%s: cannot set %s (%d)", path, changes[i].name, r);
    }
    if (ret == 0) {
        int r = libuboot_env_store(ctx);
        if (r < 0)
            ret = otter_err_set(err, OTTER_EIO, "%s: writing the environment failed (%d)", path, r);
    }
    close_ctx(ctx);
    return ret;
}

const struct otter_boot_backend otter_boot_backend_uboot = {"uboot", load, store};
