/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Install hooks (docs/agent.md, "Install hooks"): the pre_install and
 * post_install programs a package carries, already checked by the package
 * reader against the signed manifest. Each runs as root from a private
 * directory (0700) under [hooks] dir (default [state] dir), with
 *   argv: the program, then the new slot set's paths in agent.conf order
 *   env:  PATH (fixed) and OTTER_HOOK, OTTER_SLOT, OTTER_VERSION,
 *         OTTER_RUNNING_VERSION, OTTER_SLOT_CLASSES, OTTER_REPLACES only
 * in its own process group, killed with it after [hooks] timeout seconds.
 */
#ifndef OTTER_HOOKS_H
#define OTTER_HOOKS_H

#include "otter_device.h"
#include "otter_manifest.h"
#include "otter_pkg.h"

/*
 * Runs hook `which` (OTTER_HOOK_PRE/POST) of the package read by r, for the
 * slot set `side`; 0 when the package has none. OTTER_ESTATE when it exits
 * non-zero or times out (its status and last output in the message),
 * OTTER_EIO when it cannot be started.
 */
int otter_hooks_run(otter_device *d, const otter_pkg_reader *r, const otter_manifest *m, int which,
                    int side, otter_err *err);

#endif
