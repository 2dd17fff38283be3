/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ubi handler's logic that needs no kernel: the target forms, the lookup
 * of a volume by name and the size rule, on a sysfs and /dev made of files in
 * a test root (OTTER_TEST_UBI_ROOT, test builds only). What the kernel does
 * with the volume update is tested on a real one: tests/vm/ubi.sh.
 */
#include "otter_test.h"

#include <sys/stat.h>

#include "otter_agent_conf.h"
#include "otter_file.h"
#include "otter_handler.h"

#define LEB 129024u /* a 128 KiB eraseblock of 2 KiB pages with subpages (tests/vm/ubi.sh) */

static char root[PATH_MAX];

static void put(const char *rel, const char *value)
{
    char path[PATH_MAX + 100], cmd[2 * PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0)
        fail_msg("mkdir for %s", path);
    otter_err err;
    assert_otter_ok(otter_file_write_atomic(path, value, strlen(value), 0644, &err), err);
}

/* ubi0 with 3 free eraseblocks: rootfs_a (id 0), rootfs_b (id 1, 10 eraseblocks), data (id 4). */
static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", otter_test_dir("handler_ubi"));
    setenv("OTTER_TEST_UBI_ROOT", root, 1);
    put("sys/class/ubi/ubi0/avail_eraseblocks", "3\n");
    const char *names[] = {"rootfs_a", "rootfs_b", NULL, NULL, "data"};
    for (unsigned id = 0; id < 5; id++) {
        if (!names[id])
            continue;
        char rel[128], v[32];
        snprintf(rel, sizeof rel, "sys/class/ubi/ubi0_%u/name", id);
        snprintf(v, sizeof v, "%s\n", names[id]);
        put(rel, v);
        snprintf(rel, sizeof rel, "sys/class/ubi/ubi0_%u/usable_eb_size", id);
        snprintf(v, sizeof v, "%u\n", LEB);
        put(rel, v);
        snprintf(rel, sizeof rel, "sys/class/ubi/ubi0_%u/reserved_ebs", id);
        put(rel, "10\n");
        snprintf(rel, sizeof rel, "dev/ubi0_%u", id);
        put(rel, "a regular file, not a volume");
    }
    /* Another device's volume of the same name: ubi0:rootfs_b must not find it. */
    put("sys/class/ubi/ubi1_0/name", "rootfs_b\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("OTTER_TEST_UBI_ROOT");
    return 0;
}

/* Opens target for size bytes; expects the refusal code with needle in its message. */
static void expect_open(const char *target, uint64_t size, int code, const char *needle)
{
    otter_err err = {0};
    otter_handler *h = NULL;
    assert_otter_error(otter_handler_open("ubi", target, size, &h, &err), err, code, needle);
    assert_null(h);
}

static void test_target_forms(void **state)
{
    (void)state;
    assert_true(otter_handler_exists("ubi"));
    assert_true(otter_handler_is_ubi_name("ubi0:rootfs_b"));
    assert_true(otter_handler_is_ubi_name("ubi12:x"));
    assert_false(otter_handler_is_ubi_name("ubi0:"));
    assert_false(otter_handler_is_ubi_name("ubi:rootfs"));
    assert_false(otter_handler_is_ubi_name("ubix:rootfs"));
    assert_false(otter_handler_is_ubi_name("/dev/ubi0_1"));
    const char *bad[] = {"/dev/ubi0",
                         "/dev/ubi0_",
                         "/dev/ubix_1",
                         "/dev/ubi0_1x",
                         "/dev/ubi0_1/",
                         "/dev/mtd0",
                         "ubi0_1",
                         "ubi0:",
                         "ubi0:a/b",
                         "ubi:rootfs_b",
                         "ubi0_1:rootfs_b",
                         "/dev/ubi0_1234567890",
                         "",
                         "rootfs_b",
                         "/dev/ubiblock0_1",
                         "ubi-1:rootfs_b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_open(bad[i], 1, OTTER_EUSAGE, "not a UBI volume (want /dev/ubiX_Y or ubiX:NAME)");
    char longname[140];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "ubi0:", 5);
    longname[5 + 128] = '\0'; /* UBI names have at most 127 bytes */
    expect_open(longname, 1, OTTER_EUSAGE, "not a UBI volume");
}

/* A name resolves to its node (a regular file here, so the open stops there, before any ioctl). */
static void test_lookup_by_name(void **state)
{
    (void)state;
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s/dev/ubi0_1: not a UBI volume (no character device)", root);
    expect_open("ubi0:rootfs_b", 1000, OTTER_EUSAGE, want);
    snprintf(want, sizeof want, "%s/dev/ubi0_4: not a UBI volume", root);
    expect_open("ubi0:data", 1000, OTTER_EUSAGE, want);
    snprintf(want, sizeof want, "%s/dev/ubi0_0: not a UBI volume", root);
    expect_open("/dev/ubi0_0", 1000, OTTER_EUSAGE, want);
    expect_open("ubi0:rootfs", 1000, OTTER_EUSAGE, "ubi0:rootfs: no volume of that name on ubi0");
    expect_open("ubi0:rootfs_bb", 1000, OTTER_EUSAGE, "no volume of that name");
    expect_open("ubi2:rootfs_b", 1000, OTTER_EUSAGE, "no volume of that name on ubi2");
    /* A volume with no sysfs entry (ubi0_2) has no geometry: refused, nothing opened. */
    expect_open("/dev/ubi0_2", 1000, OTTER_EIO, "ubi0_2/usable_eb_size");
}

/* 10 eraseblocks fit; more grow the volume from the 3 free ones; beyond that: refused. */
static void test_size_rule(void **state)
{
    (void)state;
    expect_open("ubi0:rootfs_b", 10ull * LEB, OTTER_EUSAGE, "no character device");
    expect_open("ubi0:rootfs_b", 0, OTTER_EUSAGE, "no character device");
    /* Growing goes through /dev/ubi0 (absent here): the attempt shows the rule chose it. */
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s/dev/ubi0: cannot open", root);
    expect_open("ubi0:rootfs_b", 10ull * LEB + 1, OTTER_EIO, want);
    expect_open("ubi0:rootfs_b", 13ull * LEB, OTTER_EIO, want);
    expect_open("ubi0:rootfs_b", 13ull * LEB + 1, OTTER_EUSAGE,
                "ubi0_1: image of 1677313 bytes needs 14 eraseblocks of 129024 bytes; the volume "
                "has 10 and ubi0 only 3 free");
    expect_open("ubi0:rootfs_b", (uint64_t)INT64_MAX + 1, OTTER_EUSAGE, "image too large");
    put("sys/class/ubi/ubi0/avail_eraseblocks", "0\n");
    expect_open("ubi0:rootfs_b", 10ull * LEB + 1, OTTER_EUSAGE,
                "the volume has 10 and ubi0 only 0 free");
    put("sys/class/ubi/ubi0/avail_eraseblocks", "3\n");
}

static void test_bad_sysfs(void **state)
{
    (void)state;
    put("sys/class/ubi/ubi0_4/reserved_ebs", "ten\n");
    expect_open("ubi0:data", 1, OTTER_EIO, "reserved_ebs: not a number: 'ten'");
    put("sys/class/ubi/ubi0_4/reserved_ebs", "-1\n");
    expect_open("ubi0:data", 1, OTTER_EIO, "not a number: '-1'");
    put("sys/class/ubi/ubi0_4/reserved_ebs", "10\n");
    put("sys/class/ubi/ubi0_4/usable_eb_size", "0\n");
    expect_open("ubi0:data", 1, OTTER_EIO, "ubi0_4: eraseblocks of 0 bytes");
    char leb[32];
    snprintf(leb, sizeof leb, "%u\n", LEB);
    put("sys/class/ubi/ubi0_4/usable_eb_size", leb);
}

/* agent.conf: ubiX:NAME is a slot path of the ubi handler only. */
static void test_conf(void **state)
{
    (void)state;
    static const char head[] = "[device]\nproduct = p\nmodel = m\n[state]\ndir = /var/lib/otter\n"
                               "[boot]\nbackend = file\npath = /boot.env\n[trust]\nroot = ";
    char text[1024];
    otter_err err;
    otter_agent_conf *c = NULL;
    snprintf(text, sizeof text,
             "%s/r.json\n[slot.rootfs]\na = ubi0:rootfs_a\nb = /dev/ubi0_1\n"
             "handler = ubi\n",
             head);
    assert_otter_ok(otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &c, &err), err);
    assert_string_equal(otter_agent_conf_slot_path(otter_agent_conf_slot(c, "rootfs"), 0),
                        "ubi0:rootfs_a");
    otter_agent_conf_free(c);
    c = NULL;
    snprintf(text, sizeof text, "%s/r.json\n[slot.rootfs]\na = ubi0:rootfs_a\nb = ubi0:rootfs_b\n",
             head);
    assert_otter_error(otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &c, &err), err,
                       OTTER_EFORMAT, "agent.conf: [slot.rootfs] ubiX:NAME needs handler = ubi");
    assert_null(c);
    snprintf(text, sizeof text, "%s/r.json\n[slot.rootfs]\na = ubi0:\nb = ubi0:b\nhandler = ubi\n",
             head);
    assert_otter_error(otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &c, &err), err,
                       OTTER_EFORMAT, "[slot.rootfs] a: 'ubi0:' is not an absolute path");
    /* Only slot paths: elsewhere a UBI name is no path. */
    snprintf(text, sizeof text, "%subi0:root\n[slot.rootfs]\na = /a\nb = /b\n", head);
    assert_otter_error(otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &c, &err), err,
                       OTTER_EFORMAT, "[trust] root: 'ubi0:root' is not an absolute path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_target_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sysfs, setup, teardown),
        cmocka_unit_test(test_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
