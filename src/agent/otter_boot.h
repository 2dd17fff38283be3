/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot control: get and set bootloader environment variables through one
 * back-end ("file", "grub" or "uboot"), chosen by name from a static table.
 * otter_boot_set() applies several variables as one transaction: the
 * environment is read, changed in memory and written back in one atomic
 * replace (file, grub) or one libubootenv store (uboot; atomic on power
 * loss when fw_env.config declares a redundant copy).
 */
#ifndef OTTER_BOOT_H
#define OTTER_BOOT_H

#include <stddef.h>

#include "otter_bootchooser.h"
#include "otter_err.h"

#define OTTER_BOOT_MAX_VARS 512   /* variables in one environment */
#define OTTER_BOOT_MAX_NAME 128   /* bytes in a variable name */
#define OTTER_BOOT_MAX_VALUE 4096 /* bytes in a value */
#define OTTER_BOOT_MAX_FILE 65536 /* bytes in an env file or grubenv */

typedef struct otter_boot otter_boot;

/* One variable to set; value NULL removes it. Both borrowed. */
typedef struct otter_boot_var {
    const char *name;
    const char *value;
} otter_boot_var;

/*
 * Opens back-end `backend` on path (the env file, the grubenv file, or the
 * fw_env.config for uboot). Nothing is read yet. Caller frees *out with
 * otter_boot_free(). Errors: OTTER_EUSAGE (unknown back-end), OTTER_ENOMEM.
 */
int otter_boot_open(const char *backend, const char *path, otter_boot **out, otter_err *err);

/* Frees b. NULL is fine. */
void otter_boot_free(otter_boot *b);

/* The back-end's name ("grub"). Borrowed, static. */
const char *otter_boot_backend_name(const otter_boot *b);

/*
 * Reads the environment and returns a copy of variable name in *value
 * (caller frees), or NULL in *value when it is not set.
 * Errors: OTTER_EIO, OTTER_EFORMAT (environment unreadable), OTTER_ENOMEM.
 */
int otter_boot_get(otter_boot *b, const char *name, char **value, otter_err *err);

/*
 * Sets (or removes, value NULL) the n variables in one transaction: either
 * all of them change or none. Names are [A-Za-z0-9_], values have no
 * newline and fit the limits. Errors: OTTER_EUSAGE (bad name or value),
 * OTTER_EFORMAT (existing environment unreadable, or full), OTTER_EIO.
 */
int otter_boot_set(otter_boot *b, const otter_boot_var *vars, size_t n, otter_err *err);

/*
 * Reads BOOT_ORDER, BOOT_A_LEFT and BOOT_B_LEFT into *v (unset ones take
 * the defaults of otter_bootchooser_parse with default_tries).
 * Errors: as otter_boot_get, plus OTTER_EFORMAT for malformed values.
 */
int otter_boot_read_vars(otter_boot *b, int default_tries, otter_bootvars *v, otter_err *err);

/* Writes the three variables of v in one transaction (otter_boot_set). */
int otter_boot_write_vars(otter_boot *b, const otter_bootvars *v, otter_err *err);

#endif
