/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's side of root rotation (issue #13, docs/agent.md "Trust root
 * rotation"). The daemon, which may run unprivileged, only fetches the
 * tenant's root chain (DDI otter/roots) into a pending file; the programs
 * that verify packages (otter-agent, as root) walk it from the trusted
 * root under the TUF rule before they look at any package, and adopt the
 * newest root reached by rewriting [trust] root atomically and durably
 * (write, fsync, rename, fsync of the directory: a power loss leaves the
 * old root or the new one). The pending file is untrusted input: whoever
 * wrote it can at most make the walk refuse.
 */
#ifndef OTTER_ROOTS_H
#define OTTER_ROOTS_H

#include <stddef.h>

#include "otter_agent_conf.h"
#include "otter_err.h"
#include "otter_trust.h"

/* <state dir>/roots.json, or <state dir>/daemon/roots.json with [server] daemon_user. */
int otter_roots_pending_path(const otter_agent_conf *conf, char *out, size_t size, otter_err *err);

/*
 * Walks the pending chain (when there is one) from *trust and adopts the
 * newest root accepted: [trust] root rewritten, *trust replaced, one line
 * on stderr. A refused step is returned as an error after the roots before
 * it were adopted; *trust is then still a root the device may use.
 */
int otter_roots_adopt(const otter_agent_conf *conf, otter_trust **trust, otter_err *err);

#endif
