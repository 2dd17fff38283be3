/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install: a package stream goes into the inactive A/B slot, in one
 * verified pass, and only a fully verified package changes anything the
 * device boots from.
 *
 *   1. verified manifest first (k-of-n signatures, product, model,
 *      security_version >= counter, not the running version, no pending update,
 *      an image for every slot class) and, for each delta image, its source
 *      (the active slot of its target) against the signed base digest
 *      (otter_install_delta.h: OTTER_ESOURCE on a mismatch); nothing is
 *      written before this passes;
 *   2. each image streams into its inactive slot, chunk by chunk, each
 *      chunk only after its digests matched (format 2; format 1 images are
 *      judged at their end, and format 1 archive images are refused). Right
 *      before the first byte is written, the inactive slot is forgotten in
 *      the state file and marked bad in the boot variables;
 *      The package's pre_install hook (otter_hooks.h) runs right after
 *      that release, before the first write;
 *   3. the slots are finished (made durable) only once the whole package
 *      was read: no entry after the last image, a complete zip; a partial
 *      package's kept slot classes are then copied from the running slot
 *      set (otter_install_keep.h) and the post_install hook runs;
 *   4. then the state file records the new slot and the pending update
 *      (atomically), the boot variables put the new slot first with [boot]
 *      tries, and the reboot command runs.
 * A package refused before its first verified chunk leaves the active slot,
 * the state file, the boot variables and the counter exactly as they were.
 * Refused later, it leaves the active slot, the booted slot and the counter
 * as they were, and the inactive slot invalidated: never holding refused
 * content, never bootable, never reported or rolled back to.
 */
#ifndef OTTER_INSTALL_H
#define OTTER_INSTALL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "otter_device.h"
#include "otter_err.h"
#include "otter_pkg.h"
#include "otter_resume.h"

/* Called as bytes reach the slot: image name, bytes done and total of that image. */
typedef void (*otter_install_progress_fn)(void *ctx, const char *image, uint64_t done,
                                          uint64_t total);

/*
 * Called once every image matched and the zip ended cleanly, just before
 * the slots are finished and anything is recorded or switched: the last
 * moment an install can still stop (the inactive slot is then invalidated).
 * Non-zero stops it (OTTER_ECANCELED).
 */
typedef int (*otter_install_verified_fn)(void *ctx, const char *version);

typedef struct otter_install_opts {
    int force;       /* allow installing the version that is running */
    int no_reboot;   /* leave the reboot to the caller */
    int factory;     /* write slot A and commit it at once: flashing at manufacture */
    int verify_only; /* check everything, write no slot (a download into the spool) */
    otter_install_progress_fn progress;
    void *progress_ctx;
    otter_install_verified_fn verified; /* optional */
    void *verified_ctx;
    const volatile sig_atomic_t *cancel; /* optional: set (by a signal) to stop between chunks */
    /* A URL install: keeps a resume record while it writes (otter_resume.h). */
    const char *record_url;
    /* Continue an unfinished install (from otter_resume_plan): the source then
     * gives the package from resume_point->from on. Both borrowed. */
    const otter_resume *resume;
    const otter_resume_point *resume_point;
} otter_install_opts;

typedef struct otter_install_result {
    int slot; /* the slot written */
    char version[OTTER_IDENT_MAX + 1];
    int64_t security_version;
    uint64_t bytes; /* installed bytes written */
} otter_install_result;

/* Installs the package read from fn/ctx (`name` in messages). res may be NULL. */
int otter_install_stream(otter_device *d, otter_pkg_read_fn fn, void *ctx, const char *name,
                         const otter_install_opts *o, otter_install_result *res, otter_err *err);

/* Installs the package at path (an SD card, a USB stick, a download). */
int otter_install_file(otter_device *d, const char *path, const otter_install_opts *o,
                       otter_install_result *res, otter_err *err);

/* The read callback over a FILE * (stdin or a file), for otter_install_stream. */
ssize_t otter_install_file_read(void *ctx, void *buf, size_t len, otter_err *err);

/* Runs a configured command through /bin/sh with OTTER_SLOT and OTTER_VERSION set;
 * returns its exit status (128+signal when killed, 124 on timeout). */
int otter_install_run_command(const char *command, long timeout_seconds, int slot,
                              const char *version);

/* Runs conf's [reboot] command for a reboot after an install that another process made (the
 * daemon, its broker): OTTER_SLOT is the state file's pending slot, the one the bootloader
 * tries next ('?' when the state has none or cannot be read). Returns as above. */
int otter_install_run_reboot(const otter_agent_conf *conf, const char *version);

#endif
