/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_control_pre.h"
#include "otter_install.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

__attribute__((format(printf, 3, 4))) static void block(otter_control_state *st, const char *what,
                                                        const char *fmt, ...)
{
    if (st->n_blockers == OTTER_CONTROL_MAX_BLOCKERS)
        return;
    snprintf(st->blocker_what[st->n_blockers], sizeof st->blocker_what[0], "%s", what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->blocker_why[st->n_blockers], sizeof st->blocker_why[0], fmt, ap);
    va_end(ap);
    st->n_blockers++;
}

/* The first line of dir/name into buf (newline dropped); 0, or -1 (errno). */
static int read_attr(const char *dir, const char *name, char *buf, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char *got = fgets(buf, (int)size, f);
    fclose(f);
    if (!got)
        return errno = EIO, -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static void battery(const otter_agent_conf *conf, otter_control_state *st)
{
    const char *dir = conf->pre_power_supply;
    char cap[32], status[64];
    if (!dir[0])
        return;
    if (read_attr(dir, "capacity", cap, sizeof cap) != 0) {
        block(st, "battery", "cannot read the battery level (%s/capacity)", dir);
        return;
    }
    char *end;
    long level = strtol(cap, &end, 10);
    if (end == cap || *end || level < 0 || level > 100) {
        block(st, "battery", "the battery level is unreadable (%s/capacity)", dir);
        return;
    }
    if (level < conf->pre_min_battery)
        block(st, "battery", "battery at %ld %%, at least %ld %% needed", level,
              conf->pre_min_battery);
    if (strcmp(conf->pre_need_charging, "yes") != 0)
        return;
    if (read_attr(dir, "status", status, sizeof status) != 0)
        block(st, "charging", "cannot read the charging status (%s/status)", dir);
    else if (strcmp(status, "Charging") != 0 && strcmp(status, "Full") != 0)
        block(st, "charging", "not charging (%s): connect the charger", status);
}

/* Free bytes of the file system holding path (or its directory); -1 unknown. */
static long long free_bytes(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (!slash)
            return -1;
        *(slash == dir ? slash + 1 : slash) = '\0';
        if (statvfs(dir, &v) != 0)
            return -1;
    }
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static void space(const char *path, uint64_t size, otter_control_state *st)
{
    long long f = free_bytes(path);
    if (f >= 0 && (unsigned long long)f < size)
        block(st, "space", "%s: %ld MiB free, the update needs %ld MiB", path, (long)(f >> 20),
              (long)((size + (1 << 20) - 1) >> 20));
}

size_t otter_control_pre_check(const otter_agent_conf *conf, uint64_t size, int what,
                               otter_control_state *st)
{
    st->n_blockers = 0;
    if (what & (OTTER_CONTROL_PRE_START | OTTER_CONTROL_PRE_DOWNLOAD))
        battery(conf, st);
    if ((what & OTTER_CONTROL_PRE_DOWNLOAD) && size)
        space(conf->server_spool, size, st);
    for (size_t i = 0; (what & OTTER_CONTROL_PRE_START) && size && i < conf->n_slots; i++)
        if (strcmp(conf->slots[i].handler, "raw") != 0) {
            space(conf->slots[i].a, size, st);
            space(conf->slots[i].b, size, st);
        }
    if ((what & OTTER_CONTROL_PRE_HEALTH) && conf->pre_health_command[0] &&
        otter_install_run_command(conf->pre_health_command, conf->health_timeout, -1, NULL) != 0)
        block(st, "health", "the health check failed (%s)", conf->pre_health_command);
    return st->n_blockers;
}
