/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the boot module: the in-memory environment the back-ends load
 * into and store from, and the back-end vtable. Not for other modules.
 */
#ifndef OTTER_BOOT_BACKEND_H
#define OTTER_BOOT_BACKEND_H

#include "otter_boot.h"

typedef struct otter_boot_env {
    size_t n;
    char *name[OTTER_BOOT_MAX_VARS];
    char *value[OTTER_BOOT_MAX_VARS];
} otter_boot_env;

/*
 * Adds or replaces name (nlen bytes) with value (vlen bytes); value NULL
 * removes it. Copies both. Errors: OTTER_EFORMAT (limits), OTTER_ENOMEM.
 * what names the source in messages.
 */
int otter_boot_env_put(otter_boot_env *env, const char *name, size_t nlen, const char *value,
                       size_t vlen, const char *what, otter_err *err);

/* The value of name, or NULL. Borrowed from env. */
const char *otter_boot_env_get(const otter_boot_env *env, const char *name);

/* Frees every variable; env is empty afterwards. */
void otter_boot_env_clear(otter_boot_env *env);

struct otter_boot_backend {
    const char *name;
    /* Reads the whole environment at path into env (empty on entry). */
    int (*load)(const char *path, otter_boot_env *env, otter_err *err);
    /*
     * Makes the stored environment equal to env, which is the loaded one
     * with changes (n of them) applied; a back-end may write env whole or
     * apply just the changes, as long as it is one atomic step.
     */
    int (*store)(const char *path, const otter_boot_env *env, const otter_boot_var *changes,
                 size_t n, otter_err *err);
};

extern const struct otter_boot_backend otter_boot_backend_file;
extern const struct otter_boot_backend otter_boot_backend_grub;
extern const struct otter_boot_backend otter_boot_backend_uboot;

#endif
