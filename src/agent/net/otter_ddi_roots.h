/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's half of root rotation (issue #13): after each base poll it
 * asks the server for the roots after the one the device trusts (DDI
 * otter/roots?from=N+1, docs/ddi.md "Trust roots") and leaves the answer in
 * the pending file of otter_roots.h, where otter-agent walks it before it
 * checks a package. It verifies nothing itself: it may run unprivileged
 * and cannot write [trust] root.
 */
#ifndef OTTER_DDI_ROOTS_H
#define OTTER_DDI_ROOTS_H

struct daemon_ctx;

/* Never fails the cycle: a server without the extension (404) or a network error is logged. */
void daemon_fetch_roots(struct daemon_ctx *d);

#endif
