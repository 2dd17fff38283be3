/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A package source fed by a child process: `otter-fetch URL` writes the
 * body to a pipe and this side reads it (otter_source_read matches
 * otter_pkg_read_fn). The download, libcurl and TLS run in the child; a
 * failed or refused download ends the stream with the child's verdict.
 */
#ifndef OTTER_SOURCE_H
#define OTTER_SOURCE_H

#include <signal.h>
#include <sys/types.h>

#include "otter_err.h"

typedef struct otter_source otter_source;

/*
 * Starts fetch_path (the otter-fetch program) for url with extra arguments
 * args[0..nargs) (e.g. "--ca", FILE). When we run as root and run_as names
 * a user ([server] fetch_user), the child drops to that user, its group and
 * no supplementary groups before it runs: the network-facing process has no
 * privilege. run_as NULL or "": the child keeps ours. Caller frees with
 * otter_source_free(). Errors: OTTER_EUSAGE (no such user, or root),
 * OTTER_EIO, OTTER_ENOMEM.
 */
int otter_source_spawn(const char *fetch_path, const char *url, const char *const *args,
                       size_t nargs, const char *run_as, otter_source **out, otter_err *err);

/*
 * A flag (set by a signal handler) that stops a read waiting for the
 * download: the read returns OTTER_ECANCELED within a quarter second, even
 * while the network is stalled. Borrowed; NULL: none.
 */
void otter_source_set_cancel(otter_source *s, const volatile sig_atomic_t *flag);

/* Reads body bytes; at the end, the child's exit decides: 0 (done) or an error. */
ssize_t otter_source_read(void *src, void *buf, size_t len, otter_err *err);

/* Stops the child if it still runs (an install refused early) and frees. */
void otter_source_free(otter_source *s);

/* The program `name` next to the running one (/proc/self/exe), in buf. */
int otter_source_sibling(const char *name, char *buf, size_t size, otter_err *err);

#endif
