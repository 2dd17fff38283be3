/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_blkdev.h"

#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define NAME_MAX_LEN 72 /* a GPT name is 36 UTF-16 units; UUIDs and MBR ids are shorter */

enum kind { PARTLABEL, PARTUUID, UUID };

static const struct {
    const char *prefix; /* partlabel: */
    const char *link;   /* /disk/by-partlabel/ under /dev */
} kinds[] = {
    {"partlabel:", "/disk/by-partlabel/"},
    {"partuuid:", "/disk/by-partuuid/"},
    {"uuid:", "/disk/by-uuid/"},
};

static const char *root(const char *env, const char *def)
{
#ifdef OTTER_TEST_HOOKS
    const char *v = getenv(env);
    if (v && v[0])
        return v;
#else
    (void)env;
#endif
    return def;
}

const char *otter_blkdev_sysfs(void)
{
    return root("OTTER_TEST_SYSFS", "/sys");
}

const char *otter_blkdev_devdir(void)
{
    return root("OTTER_TEST_DEV", "/dev");
}

/* The kind and the name after its prefix, or -1 when spec is a plain path. */
static int parse(const char *spec, const char **name, int *by_link)
{
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(kinds[k].prefix);
        if (strncmp(spec, kinds[k].prefix, n) == 0) {
            *name = spec + n;
            *by_link = 0;
            return k;
        }
        char link[64];
        snprintf(link, sizeof link, "/dev%s", kinds[k].link);
        n = strlen(link);
        if (strncmp(spec, link, n) == 0) {
            *name = spec + n;
            *by_link = 1;
            return k;
        }
    }
    return -1;
}

int otter_blkdev_is_stable(const char *spec)
{
    const char *name;
    int by_link;
    return parse(spec, &name, &by_link) >= 0;
}

int otter_blkdev_check(const char *spec, otter_err *err)
{
    const char *name;
    int by_link;
    if (parse(spec, &name, &by_link) < 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "'%.100s' is not partlabel:, partuuid:, uuid: or /dev/disk/by-*/",
                             spec);
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strpbrk(name, "/ \t"))
        return otter_err_set(err, OTTER_EFORMAT,
                             "'%.100s': the name must be 1-%d characters without '/' or blanks",
                             spec, NAME_MAX_LEN);
    return 0;
}

/* KEY=value from a uevent file into out; 0 when found. */
static int uevent_get(const char *dir, const char *key, char *out, size_t size)
{
    char path[PATH_MAX], line[256];
    snprintf(path, sizeof path, "%s/uevent", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t klen = strlen(key);
    int ret = -1;
    while (ret && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(out, size, "%s", line + klen + 1);
        ret = 0;
    }
    fclose(f);
    return ret;
}

/* What the scan found: the first two matches are named in messages. */
typedef struct found {
    int n;
    char path[2][PATH_MAX];
} found;

static void add(found *f, const char *path)
{
    if (f->n < 2)
        snprintf(f->path[f->n], sizeof f->path[0], "%s", path);
    f->n++;
}

/* The device node of the sysfs directory dir (its uevent DEVNAME, else its name). */
static void node_of(const char *dir, const char *entry, char *out, size_t size)
{
    char devname[128];
    if (uevent_get(dir, "DEVNAME", devname, sizeof devname) != 0)
        snprintf(devname, sizeof devname, "%s", entry);
    snprintf(out, size, "%s/%s", otter_blkdev_devdir(), devname);
}

/* The file system UUID in node's superblock equals want (case-insensitive). */
static int fs_uuid_is(const char *node, const char *want)
{
    blkid_probe pr = blkid_new_probe_from_filename(node);
    if (!pr)
        return 0; /* no medium, no permission: not this one */
    const char *v = NULL;
    size_t len = 0;
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID);
    int hit = blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "UUID", &v, &len) == 0 &&
              strcasecmp(v, want) == 0;
    blkid_free_probe(pr);
    return hit;
}

/* The number of the partition whose table entry carries UUID want on disk node, or -1. */
static int partno_with_uuid(const char *node, const char *want)
{
    blkid_probe pr = blkid_new_probe_from_filename(node);
    if (!pr)
        return -1;
    int partno = -1;
    blkid_probe_enable_superblocks(pr, 0);
    blkid_probe_enable_partitions(pr, 1);
    blkid_partlist ls = blkid_probe_get_partitions(pr);
    int n = ls ? blkid_partlist_numof_partitions(ls) : 0;
    for (int i = 0; i < n && partno < 0; i++) {
        blkid_partition par = blkid_partlist_get_partition(ls, i);
        const char *u = par ? blkid_partition_get_uuid(par) : NULL;
        if (u && strcasecmp(u, want) == 0)
            partno = blkid_partition_get_partno(par);
    }
    blkid_free_probe(pr);
    return partno;
}

/* One partition (sysfs directory dir) of a disk, checked against the name. */
static void check_part(int kind, const char *name, int partno, const char *dir, const char *entry,
                       found *f)
{
    char value[128], node[PATH_MAX];
    if (kind == PARTLABEL) {
        if (uevent_get(dir, "PARTNAME", value, sizeof value) == 0 && strcmp(value, name) == 0) {
            node_of(dir, entry, node, sizeof node);
            add(f, node);
        }
    } else if (kind == PARTUUID) {
        if (partno > 0 && uevent_get(dir, "PARTN", value, sizeof value) == 0 &&
            atoi(value) == partno) {
            node_of(dir, entry, node, sizeof node);
            add(f, node);
        }
    } else {
        node_of(dir, entry, node, sizeof node);
        if (fs_uuid_is(node, name))
            add(f, node);
    }
}

/* Every partition of disk (a /sys/block entry) and, for a file system UUID, the disk itself. */
static void scan_disk(int kind, const char *name, const char *disk, found *f)
{
    char dir[PATH_MAX], node[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/block/%s", otter_blkdev_sysfs(), disk);
    node_of(dir, disk, node, sizeof node);
    int partno = kind == PARTUUID ? partno_with_uuid(node, name) : -1;
    int parts = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char sub[PATH_MAX], mark[PATH_MAX + 16];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        snprintf(mark, sizeof mark, "%s/partition", sub);
        if (stat(mark, &st) != 0)
            continue; /* not a partition: queue/, holders/, power/ ... */
        parts++;
        check_part(kind, name, partno, sub, e->d_name, f);
    }
    closedir(d);
    if (kind == UUID && parts == 0 && fs_uuid_is(node, name))
        add(f, node);
}

int otter_blkdev_resolve(const char *spec, char *out, size_t size, otter_err *err)
{
    const char *name;
    int by_link;
    int kind = parse(spec, &name, &by_link);
    int ret = otter_blkdev_check(spec, err);
    if (ret)
        return ret;
    if (by_link) { /* udev's link, where udev runs */
        char link[PATH_MAX];
        struct stat st;
        snprintf(link, sizeof link, "%s%s%s", otter_blkdev_devdir(), kinds[kind].link, name);
        if (stat(link, &st) == 0) {
            snprintf(out, size, "%s", link);
            return 0;
        }
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/block", otter_blkdev_sysfs());
    DIR *d = opendir(dir);
    if (!d)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot read %s", spec, dir);
    found f = {0};
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            scan_disk(kind, name, e->d_name, &f);
    closedir(d);
    if (f.n == 0)
        return otter_err_set(err, OTTER_EUSAGE, "%s: no such partition (looked in %s)", spec, dir);
    if (f.n > 1)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: %d partitions carry this name (%s, %s): refusing to guess", spec,
                             f.n, f.path[0], f.path[1]);
    if ((size_t)snprintf(out, size, "%s", f.path[0]) >= size)
        return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", spec);
    return 0;
}
