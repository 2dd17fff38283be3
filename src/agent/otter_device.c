/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_device.h"
#include "otter_blkdev.h"
#include "otter_bootchooser.h"
#include "otter_file.h"
#include "otter_roots.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMDLINE_MAX 4096

int otter_device_parse_cmdline(const char *text)
{
    static const char *const keys[] = {"otter.slot=", "rauc.slot="};
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(keys[k]);
        for (const char *p = text; (p = strstr(p, keys[k])) != NULL; p += n) {
            if (p != text && p[-1] != ' ' && p[-1] != '\t')
                continue;
            char c = p[n];
            char end = c ? p[n + 1] : '\0';
            if ((c == 'A' || c == 'B') && (end == '\0' || end == ' ' || end == '\n' || end == '\t'))
                return c == 'A' ? OTTER_SLOT_A : OTTER_SLOT_B;
        }
    }
    return OTTER_SLOT_NONE;
}

/*
 * Slots named by partlabel:, partuuid:, uuid: or /dev/disk/by-* become their
 * device nodes here, once per run: everything after (handlers, hooks, the
 * delta's source) sees a plain path.
 */
static int resolve_slots(otter_agent_conf *conf, otter_err *err)
{
    for (size_t i = 0; i < conf->n_slots; i++) {
        otter_slot_conf *s = &conf->slots[i];
        char **side[2] = {&s->a, &s->b};
        for (int k = 0; k < 2; k++) {
            char path[PATH_MAX];
            if (!otter_blkdev_is_stable(*side[k]))
                continue;
            if (otter_blkdev_resolve(*side[k], path, sizeof path, err) != 0)
                return otter_err_prefix(err, "[slot.%s] %c", s->name, "ab"[k]);
            char *copy = strdup(path);
            if (!copy)
                return otter_err_set(err, OTTER_ENOMEM, "out of memory");
            free(*side[k]);
            *side[k] = copy;
        }
        if (strcmp(s->a, s->b) == 0)
            return otter_err_set(err, OTTER_EUSAGE, "[slot.%s] a and b are the same device %s",
                                 s->name, s->a);
    }
    return 0;
}

static int read_booted(const char *path, int *booted, otter_err *err)
{
    char *text = NULL;
    size_t len = 0;
    *booted = OTTER_SLOT_NONE;
    int ret = otter_file_read_all(path, CMDLINE_MAX, &text, &len, err);
    if (ret)
        return ret;
    *booted = otter_device_parse_cmdline(text);
    free(text);
    return 0;
}

int otter_device_open(const char *conf_path, int need_booted, otter_device **out, otter_err *err)
{
    otter_device *d = calloc(1, sizeof *d);
    if (!d)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    d->booted = OTTER_SLOT_NONE;
    int ret = otter_agent_conf_parse_file(conf_path, &d->conf, err);
    if (!ret)
        ret = resolve_slots(d->conf, err);
    if (!ret)
        ret = otter_trust_load_file(d->conf->trust_root, &d->trust, err);
    if (!ret) {
        /* Root rotation first (issue #13): no package is checked against a replaced root. */
        otter_err rerr;
        if (otter_roots_adopt(d->conf, &d->trust, &rerr) != 0)
            fprintf(stderr,
                    "otter-agent: trust root rotation refused: %s (trusting version %lld)\n",
                    rerr.msg, (long long)otter_trust_version(d->trust));
    }
    if (!ret && (size_t)snprintf(d->state_path, sizeof d->state_path, "%s/state.json",
                                 d->conf->state_dir) >= sizeof d->state_path)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: state dir path too long", conf_path);
    if (!ret)
        ret = otter_state_load(d->state_path, &d->state, err);
    if (!ret)
        ret = otter_rollback_open_conf(d->conf, &d->rollback, err);
    if (!ret)
        ret = otter_boot_open(d->conf->boot_backend, d->conf->boot_path, &d->boot, err);
    if (!ret && need_booted) {
        otter_err cerr;
        if (read_booted(d->conf->boot_cmdline, &d->booted, &cerr) != 0)
            ret = otter_err_set(err, OTTER_ESTATE, "cannot tell which slot booted: %s", cerr.msg);
        else if (d->booted == OTTER_SLOT_NONE)
            ret = otter_err_set(err, OTTER_ESTATE,
                                "cannot tell which slot booted: no otter.slot=A|B in %s",
                                d->conf->boot_cmdline);
    }
    if (ret) {
        otter_device_free(d);
        return ret;
    }
    *out = d;
    return 0;
}

void otter_device_free(otter_device *d)
{
    if (!d)
        return;
    otter_boot_free(d->boot);
    otter_rollback_free(d->rollback);
    otter_state_free(d->state);
    otter_trust_free(d->trust);
    otter_agent_conf_free(d->conf);
    free(d);
}

const char *otter_device_slot_path(const otter_device *d, const char *target, int side)
{
    const otter_slot_conf *s = otter_agent_conf_slot(d->conf, target);
    return s ? otter_agent_conf_slot_path(s, side) : NULL;
}

int otter_device_save_state(otter_device *d, otter_err *err)
{
    return otter_state_save(d->state, d->state_path, err);
}

int64_t otter_device_now(void)
{
    return (int64_t)time(NULL);
}
