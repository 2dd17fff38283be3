/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw with O_DIRECT, and the bootpart handler (eMMC boot partitions) on
 * files: QEMU has no x86 eMMC, so the boot partitions are files in a test
 * root with their sysfs force_ro knobs (OTTER_TEST_SYSFS), and mmc-utils'
 * `mmc` is a script that keeps PARTITION_CONFIG in a file.
 */
#include "otter_test.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "otter_file.h"
#include "otter_handler.h"

static char *slurp(const char *path, size_t *len)
{
    otter_err err;
    char *buf = NULL;
    assert_otter_ok(otter_file_read_all(path, 64 << 20, &buf, len, &err), err);
    return buf;
}

static int feed(otter_handler *h, const char *buf, size_t len, size_t chunk, otter_err *err)
{
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int ret = otter_handler_write(h, buf + off, n, err);
        if (ret) {
            otter_handler_abort(h);
            return ret;
        }
    }
    return otter_handler_finish(h, err);
}

static char *pattern(size_t n, unsigned seed)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(i * 31 + seed + i / 4096);
    return b;
}

/* O_DIRECT on a disk file system (/var/tmp; tmpfs has it only since Linux 6.6). */
static void test_raw_direct(void **state)
{
    otter_err err;
    char dir[PATH_MAX], slot[PATH_MAX + 16], cmd[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "/var/tmp/otter-test-direct.%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(slot, sizeof slot, "%s/slot", dir);
    /* Several buffers and an unaligned tail; one under the held-back head; an aligned end. */
    static const size_t sizes[] = {(3u << 20) + 123, 100, (1u << 20) + 4096, 4096 + 1};
    static const size_t chunks[] = {65537, 7, 4096, 1000};
    const otter_handler_opts direct = {1, 0, NULL};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *img = pattern(sizes[i], (unsigned)i);
        assert_otter_ok(otter_file_write_atomic(slot, "old", 3, 0600, &err), err);
        otter_handler *h = NULL;
        assert_otter_ok(otter_handler_open_opts("raw", slot, sizes[i], &direct, &h, &err), err);
        assert_otter_ok(feed(h, img, sizes[i], chunks[i], &err), err);
        size_t len = 0;
        char *got = slurp(slot, &len);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(got, img, sizes[i]);
        free(got);
        free(img);
    }
    /* An abort with O_DIRECT leaves the slot empty, as without. */
    char *img = pattern(2u << 20, 9);
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open_opts("raw", slot, 2u << 20, &direct, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, img, (1u << 20) + 5, &err), err);
    otter_handler_abort(h);
    size_t len = 1;
    free(slurp(slot, &len));
    assert_int_equal(len, 0);
    free(img);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* How many of our descriptors are open on path with O_DIRECT (from /proc/self/fdinfo). */
static int direct_fds(const char *path)
{
    int n = 0;
    for (int fd = 3; fd < 1024; fd++) {
        char link[64], target[PATH_MAX], info[64], line[128];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len < 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, path) != 0)
            continue;
        snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(info, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "flags:", 6) == 0 && (strtoul(line + 6, NULL, 8) & O_DIRECT))
                n++;
        fclose(f);
    }
    return n;
}

/* direct = yes really writes with O_DIRECT, and only then. */
static void test_raw_direct_flag(void **state)
{
    otter_err err;
    char slot[PATH_MAX];
    snprintf(slot, sizeof slot, "/var/tmp/otter-test-direct-flag.%ld", (long)getpid());
    assert_otter_ok(otter_file_write_atomic(slot, "x", 1, 0600, &err), err);
    const otter_handler_opts direct = {1, 0, NULL}, plain = {0, 0, NULL};
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open_opts("raw", slot, 10, &direct, &h, &err), err);
    assert_int_equal(direct_fds(slot), 1);
    otter_handler_abort(h);
    assert_otter_ok(otter_handler_open_opts("raw", slot, 10, &plain, &h, &err), err);
    assert_int_equal(direct_fds(slot), 0);
    otter_handler_abort(h);
    unlink(slot);
}

static char root[PATH_MAX];

static void put(const char *rel, const char *text, size_t len)
{
    otter_err err;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_otter_ok(otter_file_write_atomic(path, text, len, 0755, &err), err);
}

static char *get(const char *rel, size_t *len)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return slurp(path, len);
}

static const char mmc_script[] =
    "#!/bin/sh\n"
    "# mmc-utils' mmc as far as the bootpart handler uses it; PARTITION_CONFIG in $R/pc\n"
    "R='%s'\n"
    "case \"$1 $2\" in\n"
    "'extcsd read')\n"
    "  [ \"$3\" = \"$R/dev/mmcblk0\" ] || { echo \"wrong device $3\" >&2; exit 2; }\n"
    "  i=0; while [ $i -lt 80 ]; do echo \"Filler [F_$i: 0x00]\"; i=$((i+1)); done\n"
    "  printf 'Boot configuration bytes [PARTITION_CONFIG: 0x%%02x]\\n' \"$(cat \"$R/pc\")\"\n"
    "  i=0; while [ $i -lt 80 ]; do echo \"Filler [G_$i: 0x00]\"; i=$((i+1)); done ;;\n"
    "'bootpart enable')\n"
    "  [ -e \"$R/enable-fails\" ] && { echo 'ioctl: Connection timed out' >&2; exit 1; }\n"
    "  echo \"$3 $4 $5 ro0=$(cat \"$R/sys/block/mmcblk0boot0/force_ro\")"
    " ro1=$(cat \"$R/sys/block/mmcblk0boot1/force_ro\")\" >> \"$R/enable.log\"\n"
    "  echo $(( ($4 << 6) | ($3 << 3) )) > \"$R/pc\" ;;\n"
    "*) exit 2 ;;\n"
    "esac\n";

#define PART 65536

/* boot0 enabled (PARTITION_CONFIG 0x48: BOOT_ACK, boot partition 1), both force_ro = 1. */
static int setup_emmc(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", otter_test_dir("bootpart"));
    char cmd[PATH_MAX * 2], script[sizeof mmc_script + PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p dev sys/block/mmcblk0boot0 sys/block/mmcblk0boot1 && "
             "head -c %d /dev/zero | tr '\\0' O > dev/mmcblk0boot0 && "
             "head -c %d /dev/zero | tr '\\0' P > dev/mmcblk0boot1",
             root, PART, PART);
    assert_int_equal(system(cmd), 0);
    put("sys/block/mmcblk0boot0/force_ro", "1\n", 2);
    put("sys/block/mmcblk0boot1/force_ro", "1\n", 2);
    put("pc", "72\n", 3);
    int n = snprintf(script, sizeof script, mmc_script, root);
    put("mmc", script, (size_t)n);
    snprintf(cmd, sizeof cmd, "%s/sys", root);
    setenv("OTTER_TEST_SYSFS", cmd, 1);
    return 0;
}

static int install(const char *target_rel, const char *img, size_t len, otter_err *err)
{
    char target[PATH_MAX * 2], mmc[PATH_MAX * 2];
    snprintf(target, sizeof target, "%s/%s", root, target_rel);
    snprintf(mmc, sizeof mmc, "%s/mmc", root);
    const otter_handler_opts o = {0, 0, mmc};
    otter_handler *h = NULL;
    int ret = otter_handler_open_opts("bootpart", target, len, &o, &h, err);
    return ret ? ret : feed(h, img, len, 3000, err);
}

static void expect_file(const char *rel, const char *want, size_t len)
{
    size_t got_len = 0;
    char *got = get(rel, &got_len);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_bootpart_switches(void **state)
{
    otter_err err;
    char *old0 = get("dev/mmcblk0boot0", &(size_t){0});
    char *img = pattern(40000, 3);
    /* boot0 is enabled: boot1 is written, whichever slot path the install hands over. */
    assert_otter_ok(install("dev/mmcblk0boot0", img, 40000, &err), err);
    expect_file("dev/mmcblk0boot0", old0, PART);
    size_t len = 0;
    char *b1 = get("dev/mmcblk0boot1", &len);
    assert_int_equal(len, PART); /* a partition keeps its size */
    assert_memory_equal(b1, img, 40000);
    free(b1);
    /* Enabled only once force_ro was set again; BOOT_ACK kept. */
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "2 1 %s/dev/mmcblk0 ro0=1 ro1=1\n", root);
    expect_file("enable.log", want, strlen(want));
    expect_file("pc", "80\n", 3); /* 0x50: BOOT_ACK, boot partition 2 */
    expect_file("sys/block/mmcblk0boot1/force_ro", "1\n", 2);

    /* The next one goes back to boot0, even when handed boot1's path. */
    char *img2 = pattern(PART, 4);
    assert_otter_ok(install("dev/mmcblk0boot1", img2, PART, &err), err);
    expect_file("dev/mmcblk0boot0", img2, PART);
    expect_file("pc", "72\n", 3);
    free(img2);
    free(img);
    free(old0);
}

static void test_bootpart_refusals(void **state)
{
    otter_err err;
    char *img = pattern(1000, 5);
    size_t len = 0;
    char *old1 = get("dev/mmcblk0boot1", &len);
    /* Bigger than the partition. */
    char *big = pattern(PART + 1, 6);
    assert_otter_error(install("dev/mmcblk0boot0", big, PART + 1, &err), err, OTTER_EUSAGE,
                       "does not fit the 65536-byte boot partition");
    free(big);
    expect_file("sys/block/mmcblk0boot1/force_ro", "1\n", 2);
    /* The switch fails: the written partition is not enabled; the message has the tool's words. */
    put("enable-fails", "", 0);
    assert_otter_error(install("dev/mmcblk0boot0", img, 1000, &err), err, OTTER_EIO,
                       "bootpart enable: exited with 1: ioctl: Connection timed out");
    expect_file("pc", "72\n", 3);
    expect_file("sys/block/mmcblk0boot1/force_ro", "1\n", 2);
    unlink(strcat(strcpy((char[PATH_MAX + 16]){0}, root), "/enable-fails"));
    /* An abort mid-write: force_ro set again, nothing enabled. */
    char target[PATH_MAX * 2], mmc[PATH_MAX * 2];
    snprintf(target, sizeof target, "%s/dev/mmcblk0boot0", root);
    snprintf(mmc, sizeof mmc, "%s/mmc", root);
    const otter_handler_opts o = {0, 0, mmc};
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open_opts("bootpart", target, 1000, &o, &h, &err), err);
    expect_file("sys/block/mmcblk0boot1/force_ro", "0\n", 2); /* writable while written */
    assert_otter_ok(otter_handler_write(h, img, 500, &err), err);
    otter_handler_abort(h);
    expect_file("sys/block/mmcblk0boot1/force_ro", "1\n", 2);
    expect_file("pc", "72\n", 3);
    /* Booting from the user area (boot partition 7): not this handler's business. */
    put("pc", "56\n", 3);
    assert_otter_error(install("dev/mmcblk0boot0", img, 1000, &err), err, OTTER_EUSAGE,
                       "boots from neither boot partition (PARTITION_CONFIG 0x38)");
    /* A slot path that is no boot partition. */
    assert_otter_error(install("dev/mmcblk0p1", img, 1000, &err), err, OTTER_EUSAGE,
                       "a bootpart slot is an eMMC boot partition");
    free(old1);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_direct),
        cmocka_unit_test(test_raw_direct_flag),
        cmocka_unit_test_setup(test_bootpart_switches, setup_emmc),
        cmocka_unit_test_setup(test_bootpart_refusals, setup_emmc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
