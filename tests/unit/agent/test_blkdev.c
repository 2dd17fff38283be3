/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots by stable name on a device without udev: a test root stands for
 * /sys and /dev (OTTER_TEST_SYSFS, OTTER_TEST_DEV), with real partition
 * tables (sfdisk: GPT and MBR) and a real ext4 superblock (mkfs.ext4) in
 * plain files, read by the agent with libblkid as on a board.
 */
#include "otter_test.h"

#include <sys/stat.h>

#include "otter_blkdev.h"
#include "otter_file.h"

#define GPT_B_UUID "7C1F3A52-0D4B-4E1A-9C7E-2B8D6F10A0B2"
#define FS_UUID "3d0b7f43-6c2e-4b8a-9f51-0e6a2c9d4b11"

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX * 2], cmd[PATH_MAX * 3];
    otter_err err;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    assert_otter_ok(otter_file_write_atomic(path, text, strlen(text), 0644, &err), err);
}

/* A shell command with the test root in $R. */
static void sh(const char *cmd)
{
    setenv("R", root, 1);
    if (system(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

/* A disk in sysfs with its partitions (name "" = no PARTNAME, as on MBR). */
static void sys_disk(const char *disk, const char *const *names, int n)
{
    char rel[256], text[256];
    snprintf(rel, sizeof rel, "sys/block/%s/uevent", disk);
    snprintf(text, sizeof text, "MAJOR=254\nMINOR=0\nDEVNAME=%s\nDEVTYPE=disk\n", disk);
    put(rel, text);
    snprintf(rel, sizeof rel, "sys/block/%s/queue/rotational", disk); /* not a partition */
    put(rel, "0\n");
    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof rel, "sys/block/%s/%s%d/partition", disk, disk, i + 1);
        snprintf(text, sizeof text, "%d\n", i + 1);
        put(rel, text);
        snprintf(rel, sizeof rel, "sys/block/%s/%s%d/uevent", disk, disk, i + 1);
        snprintf(text, sizeof text,
                 "MAJOR=254\nMINOR=%d\nDEVNAME=%s%d\nDEVTYPE=partition\nPARTN=%d\n%s%s%s", i + 1,
                 disk, i + 1, i + 1, names[i][0] ? "PARTNAME=" : "", names[i],
                 names[i][0] ? "\n" : "");
        put(rel, text);
    }
}

/* vdx: GPT with rootfs_a (ext4 inside) and rootfs_b; sda: MBR, id 0x5e0d5a5c, two partitions. */
static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", otter_test_dir("blkdev"));
    static const char *const gpt[] = {"rootfs_a", "rootfs_b"}, *const mbr[] = {"", ""};
    sys_disk("vdx", gpt, 2);
    sys_disk("sda", mbr, 2);
    sh("mkdir -p \"$R/dev\" && truncate -s 8M \"$R/dev/vdx\" && printf 'label: gpt\\n"
       "size=2MiB, name=rootfs_a\\nsize=2MiB, name=rootfs_b, uuid=" GPT_B_UUID "\\n' | "
       "sfdisk -q \"$R/dev/vdx\"");
    sh("truncate -s 4M \"$R/dev/sda\" && printf 'label: dos\\nlabel-id: 0x5e0d5a5c\\n"
       "size=1MiB\\nsize=1MiB\\n' | sfdisk -q \"$R/dev/sda\"");
    sh("truncate -s 2M \"$R/dev/vdx1\" && mkfs.ext4 -q -F -U " FS_UUID " \"$R/dev/vdx1\" && "
       "truncate -s 2M \"$R/dev/vdx2\"");
    char sys[PATH_MAX + 8], dev[PATH_MAX + 8];
    snprintf(sys, sizeof sys, "%s/sys", root);
    snprintf(dev, sizeof dev, "%s/dev", root);
    setenv("OTTER_TEST_SYSFS", sys, 1);
    setenv("OTTER_TEST_DEV", dev, 1);
    return 0;
}

static void expect(const char *spec, const char *rel)
{
    otter_err err;
    char out[PATH_MAX], want[PATH_MAX * 2];
    assert_otter_ok(otter_blkdev_resolve(spec, out, sizeof out, &err), err);
    snprintf(want, sizeof want, "%s/%s", root, rel);
    assert_string_equal(out, want);
}

static void test_by_partlabel(void **state)
{
    expect("partlabel:rootfs_b", "dev/vdx2");
    expect("partlabel:rootfs_a", "dev/vdx1");
    /* No udev link: found the same way. */
    expect("/dev/disk/by-partlabel/rootfs_b", "dev/vdx2");
    otter_err err;
    char out[PATH_MAX];
    assert_otter_error(otter_blkdev_resolve("partlabel:rootfs_c", out, sizeof out, &err), err,
                       OTTER_EUSAGE, "partlabel:rootfs_c: no such partition");
    /* A name is exact: no prefix match, case counts. */
    assert_otter_error(otter_blkdev_resolve("partlabel:rootfs", out, sizeof out, &err), err,
                       OTTER_EUSAGE, "no such partition");
    assert_otter_error(otter_blkdev_resolve("partlabel:ROOTFS_A", out, sizeof out, &err), err,
                       OTTER_EUSAGE, "no such partition");
}

static void test_by_partuuid(void **state)
{
    expect("partuuid:" GPT_B_UUID, "dev/vdx2");
    expect("partuuid:7c1f3a52-0d4b-4e1a-9c7e-2b8d6f10a0b2", "dev/vdx2"); /* blkid prints lower */
    /* MBR: the disk id and the partition number, as blkid and the kernel's root= spell it. */
    expect("partuuid:5e0d5a5c-02", "dev/sda2");
    expect("/dev/disk/by-partuuid/5e0d5a5c-01", "dev/sda1");
    otter_err err;
    char out[PATH_MAX];
    assert_otter_error(otter_blkdev_resolve("partuuid:5e0d5a5c-03", out, sizeof out, &err), err,
                       OTTER_EUSAGE, "no such partition");
}

static void test_by_fs_uuid(void **state)
{
    expect("uuid:" FS_UUID, "dev/vdx1");
    expect("/dev/disk/by-uuid/" FS_UUID, "dev/vdx1");
}

/* Where udev made the link, it is used as it is. */
static void test_udev_link_wins(void **state)
{
    char link[PATH_MAX * 2], cmd[PATH_MAX * 5];
    snprintf(link, sizeof link, "%s/dev/disk/by-partlabel/rootfs_a", root);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && ln -sf ../../vdx1 '%s'", link, link);
    assert_int_equal(system(cmd), 0);
    expect("/dev/disk/by-partlabel/rootfs_a", "dev/disk/by-partlabel/rootfs_a");
    expect("partlabel:rootfs_a", "dev/vdx1"); /* the short form reads sysfs */
}

/* An SD card cloned from the eMMC carries the same names: refused, never guessed. */
static void test_ambiguous(void **state)
{
    static const char *const clone[] = {"rootfs_a", "rootfs_b"};
    sys_disk("mmcblk1", clone, 2);
    otter_err err;
    char out[PATH_MAX];
    assert_otter_error(otter_blkdev_resolve("partlabel:rootfs_b", out, sizeof out, &err), err,
                       OTTER_EUSAGE, "partlabel:rootfs_b: 2 partitions carry this name");
    assert_non_null(strstr(err.msg, "refusing to guess"));
    assert_non_null(strstr(err.msg, "/dev/vdx2"));
    assert_non_null(strstr(err.msg, "/dev/mmcblk12"));
}

static void test_syntax(void **state)
{
    otter_err err;
    assert_true(otter_blkdev_is_stable("partlabel:x"));
    assert_true(otter_blkdev_is_stable("/dev/disk/by-uuid/x"));
    assert_false(otter_blkdev_is_stable("/dev/vda2"));
    assert_false(otter_blkdev_is_stable("/dev/disk/by-id/x"));
    assert_otter_ok(otter_blkdev_check("partuuid:5e0d5a5c-02", &err), err);
    assert_otter_error(otter_blkdev_check("partlabel:", &err), err, OTTER_EFORMAT,
                       "the name must be 1-72 characters");
    assert_otter_error(otter_blkdev_check("/dev/disk/by-partlabel/a/b", &err), err, OTTER_EFORMAT,
                       "without '/'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test_setup(test_by_partlabel, setup),
        cmocka_unit_test_setup(test_by_partuuid, setup),
        cmocka_unit_test_setup(test_by_fs_uuid, setup),
        cmocka_unit_test_setup(test_udev_link_wins, setup),
        cmocka_unit_test_setup(test_ambiguous, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
