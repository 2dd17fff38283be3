/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device as the agent sees it: its configuration, trust root, state
 * file, anti-rollback store and boot environment, opened together so every
 * command works on one consistent picture. Nothing here writes.
 */
#ifndef OTTER_DEVICE_H
#define OTTER_DEVICE_H

#include <limits.h>
#include <stdint.h>

#include "otter_agent_conf.h"
#include "otter_boot.h"
#include "otter_err.h"
#include "otter_rollback.h"
#include "otter_state.h"
#include "otter_trust.h"

typedef struct otter_device {
    otter_agent_conf *conf;
    otter_trust *trust;
    otter_state *state;
    otter_rollback *rollback;
    otter_boot *boot;
    char state_path[PATH_MAX];
    int booted; /* OTTER_SLOT_A/B from the kernel command line; OTTER_SLOT_NONE if unknown */
} otter_device;

/*
 * Opens the device described by conf_path. need_booted: refuse (OTTER_ESTATE)
 * when the command line does not name the booted slot; the boot simulator
 * opens with 0 because it is the one that decides. Caller frees.
 */
int otter_device_open(const char *conf_path, int need_booted, otter_device **out, otter_err *err);
void otter_device_free(otter_device *d);

/*
 * The slot that booted, from a kernel command line text: the token
 * otter.slot=A|B (or rauc.slot=A|B). OTTER_SLOT_NONE when absent.
 */
int otter_device_parse_cmdline(const char *text);

/* Path of slot class `target` on side A or B; NULL when the class is not configured. */
const char *otter_device_slot_path(const otter_device *d, const char *target, int side);

/* Saves the state file atomically. */
int otter_device_save_state(otter_device *d, otter_err *err);

/* Seconds since the epoch (one place, so tests could pin it). */
int64_t otter_device_now(void);

#endif
