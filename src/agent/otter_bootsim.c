/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_bootsim.h"
#include "otter_bootchooser.h"
#include "otter_commit.h"
#include "otter_device.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BLOCK (256 * 1024)

/* SHA-256 of the first size bytes at path; -1 with why when it has fewer. */
static int hash_prefix(const char *path, uint64_t size, int whole_file, char hex[65], char *why,
                       size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (whole_file && fstat(fd, &st) == 0 && (uint64_t)st.st_size != size) {
        snprintf(why, why_len, "%s: %lld bytes, expected %llu", path, (long long)st.st_size,
                 (unsigned long long)size);
        close(fd);
        return -1;
    }
    otter_sha256 *h = otter_sha256_new();
    uint8_t *buf = malloc(HASH_BLOCK);
    uint64_t left = size;
    int ret = h && buf ? 0 : -1;
    while (ret == 0 && left > 0) {
        ssize_t n = read(fd, buf, left < HASH_BLOCK ? (size_t)left : HASH_BLOCK);
        if (n <= 0) {
            snprintf(why, why_len, "%s: short (%llu bytes missing)", path,
                     (unsigned long long)left);
            ret = -1;
            break;
        }
        otter_sha256_update(h, buf, (size_t)n);
        left -= (uint64_t)n;
    }
    if (ret == 0) {
        uint8_t md[OTTER_SHA256_LEN];
        otter_sha256_final(h, md);
        otter_hex_encode(md, sizeof md, hex);
    }
    otter_sha256_free(h);
    free(buf);
    close(fd);
    return ret;
}

/* Verified boot: 0 when every image of slot matches its record. */
static int verify_slot(const otter_device *d, int slot, char *why, size_t why_len)
{
    const otter_state_slot *s = &d->state->slots[slot];
    if (!s->present) {
        snprintf(why, why_len, "no signed manifest is recorded for it");
        return -1;
    }
    for (size_t i = 0; i < s->n_images; i++) {
        const otter_state_image *img = &s->images[i];
        const otter_slot_conf *sc = otter_agent_conf_slot(d->conf, img->target);
        if (!sc) {
            snprintf(why, why_len, "image %s: slot class %s not configured", img->name,
                     img->target);
            return -1;
        }
        const char *path = otter_agent_conf_slot_path(sc, slot);
        /* The eMMC's boot ROM picks the boot partition (bootpart), not the A/B side. */
        if (strcmp(sc->handler, "bootpart") == 0)
            continue;
        if (strcmp(sc->handler, "archive") == 0) {
            struct stat st;
            if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                snprintf(why, why_len, "image %s: %s is not a directory", img->name, path);
                return -1;
            }
            continue;
        }
        char hex[OTTER_SHA256_HEX_LEN + 1];
        char detail[200];
        if (hash_prefix(path, img->size, strcmp(sc->handler, "file") == 0, hex, detail,
                        sizeof detail) < 0) {
            snprintf(why, why_len, "image %s: %s", img->name, detail);
            return -1;
        }
        if (strcmp(hex, img->sha256) != 0) {
            snprintf(why, why_len, "image %s: digest %.16s... does not match the signed %.16s...",
                     img->name, hex, img->sha256);
            return -1;
        }
    }
    return 0;
}

int otter_bootsim_boot(const char *conf_path, otter_bootsim_result *res, otter_err *err)
{
    otter_device *d = NULL;
    memset(res, 0, sizeof *res);
    res->booted = OTTER_SLOT_NONE;
    int ret = otter_device_open(conf_path, 0, &d, err);
    if (ret)
        return ret;
    int tries = (int)d->conf->boot_tries;
    for (int attempt = 0; attempt < 2 * OTTER_BOOTCHOOSER_MAX_TRIES; attempt++) {
        otter_bootvars v;
        ret = otter_boot_read_vars(d->boot, tries, &v, err);
        if (ret)
            goto out;
        int slot = otter_bootchooser_next(&v);
        if (slot == OTTER_SLOT_NONE) {
            ret = otter_err_set(err, OTTER_ESTATE, "no bootable slot: every slot is out of tries");
            goto out;
        }
        ret = otter_boot_write_vars(d->boot, &v, err);
        if (ret)
            goto out;
        if (verify_slot(d, slot, res->refusal[slot], sizeof res->refusal[slot]) == 0) {
            res->booted = slot;
            break;
        }
        res->refused[slot] = 1;
        otter_bootchooser_mark_bad(&v, slot);
        ret = otter_boot_write_vars(d->boot, &v, err);
        if (ret)
            goto out;
    }
    if (res->booted == OTTER_SLOT_NONE) {
        ret = otter_err_set(err, OTTER_ESTATE, "no bootable slot");
        goto out;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "otter.slot=%c\n", otter_bootchooser_letter(res->booted));
    ret = otter_file_write_atomic(d->conf->boot_cmdline, line, (size_t)n, 0644, err);
    if (ret)
        goto out;
    d->booted = res->booted;
    ret = otter_commit_boot_check(d, &res->outcome, err);
out:
    otter_device_free(d);
    return ret;
}
