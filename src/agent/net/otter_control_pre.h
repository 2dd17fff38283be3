/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What must hold before an update starts on a device a person uses
 * ([preconditions] in agent.conf, docs/device-ui.md):
 *   - battery: power_supply names a sysfs power_supply directory (tests:
 *     a directory of files); its `capacity` must be at least min_battery,
 *     and with need_charging = yes its `status` must be Charging or Full;
 *   - space: the spool's file system takes the download; for slots written
 *     by the archive or file handler, their file systems take the package;
 *   - health: health_command must exit 0 (run only by the daemon's thread,
 *     never while answering a request).
 * Each unmet one becomes a start blocker with a sentence for the UI.
 */
#ifndef OTTER_CONTROL_PRE_H
#define OTTER_CONTROL_PRE_H

#include <stdint.h>

#include "otter_agent_conf.h"
#include "otter_control_proto.h"

enum { OTTER_CONTROL_PRE_DOWNLOAD = 1, OTTER_CONTROL_PRE_START = 2, OTTER_CONTROL_PRE_HEALTH = 4 };

/*
 * Fills st's start_blockers (replacing them) with what does not hold for
 * the checks in what (OTTER_CONTROL_PRE_*), for a package of size bytes.
 * Returns how many there are.
 */
size_t otter_control_pre_check(const otter_agent_conf *conf, uint64_t size, int what,
                               otter_control_state *st);

#endif
