/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Block devices by stable name (docs/agent.md, "Slots by stable name"):
 * a slot path in agent.conf may be
 *   partlabel:NAME   the GPT partition name (the kernel's PARTNAME)
 *   partuuid:UUID    the partition's UUID in the partition table (GPT), or
 *                    DISKID-0N on an MBR disk (as blkid prints PARTUUID)
 *   uuid:UUID        the UUID of the file system inside the partition
 * or /dev/disk/by-partlabel|by-partuuid|by-uuid/NAME, which udev makes and
 * which is used as it is when it exists. Without udev (busybox mdev) the
 * partition is found by reading sysfs (/sys/block/DISK/PART/uevent) and,
 * for the UUIDs, the partition table or the superblock with libblkid.
 * A name that matches two partitions (an SD card cloned from the eMMC) is
 * an error, never a guess: the agent must not write the wrong disk.
 *
 * Test builds (OTTER_TEST_HOOKS) read OTTER_TEST_SYSFS and OTTER_TEST_DEV
 * instead of /sys and /dev when they are set.
 */
#ifndef OTTER_BLKDEV_H
#define OTTER_BLKDEV_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

/* True when spec is a stable name (either form above) rather than a plain path. */
int otter_blkdev_is_stable(const char *spec);

/*
 * Checks the syntax of a stable name (the kind is known, the name is 1-72
 * characters without '/' or blanks). OTTER_EFORMAT with the reason.
 */
int otter_blkdev_check(const char *spec, otter_err *err);

/*
 * Resolves stable name spec to the device node's path, written to out
 * (size bytes). OTTER_EUSAGE when no partition or more than one carries
 * the name (both named), OTTER_EIO when sysfs cannot be read.
 */
int otter_blkdev_resolve(const char *spec, char *out, size_t size, otter_err *err);

/* "/sys" and "/dev", or their test roots (see above). Borrowed, static. */
const char *otter_blkdev_sysfs(void);
const char *otter_blkdev_devdir(void);

#endif
