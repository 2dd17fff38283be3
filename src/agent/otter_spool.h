/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The spool: one package downloaded ahead of its install (the server's
 * maintenance window is closed, or it said update "skip"), kept as
 * <dir>/update.zip once it was completely received and verified.
 *
 * The spool sits between the download and the verifier as a tee: every
 * byte the verifier pulls is appended to <dir>/update.zip.part, at most
 * max_bytes of them (a server cannot fill the device's disk). Commit reads
 * whatever the verifier left (the zip's central directory), fsyncs and
 * renames the part into place; anything else removes the part. A package
 * in the spool is installed later with `otter-agent install <dir>/update.zip`,
 * which verifies it again from the start: the spool is never trusted.
 */
#ifndef OTTER_SPOOL_H
#define OTTER_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otter_err.h"
#include "otter_pkg.h"

typedef struct otter_spool otter_spool;

/*
 * Starts a spool file in dir (created 0700 when missing) fed from inner
 * (borrowed; it must outlive the spool). Caller frees with otter_spool_free().
 */
int otter_spool_open(const char *dir, uint64_t max_bytes, otter_pkg_read_fn inner, void *inner_ctx,
                     otter_spool **out, otter_err *err);

/* otter_pkg_read_fn: reads from inner and appends to the part file. */
ssize_t otter_spool_read(void *spool, void *buf, size_t len, otter_err *err);

/* Drains inner to its end, fsyncs, renames the part to <dir>/update.zip. */
int otter_spool_commit(otter_spool *s, otter_err *err);

/* Closes; removes the part file unless committed. NULL is fine. */
void otter_spool_free(otter_spool *s);

/* <dir>/update.zip into buf. */
int otter_spool_path(const char *dir, char *buf, size_t size, otter_err *err);

/* Removes <dir>/update.zip and any part file; absent files are fine. */
int otter_spool_clear(const char *dir, otter_err *err);

#endif
