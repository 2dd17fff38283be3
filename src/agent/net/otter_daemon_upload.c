/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control API's install_file (otter_daemon_upload.h): an update.zip the
 * local page's front received from a browser, installed by the broker
 * exactly as `otter-agent install FILE` installs one from an SD card.
 */
#include "otter_daemon_upload.h"
#include "otter_control_pre.h"
#include "otter_daemon_child.h"

#include <stdio.h>
#include <string.h>

/* The version an upload switched to (waits for the reboot); "" none. For this run only: the
 * reboot restarts the daemon. */
static char switched[OTTER_DDI_MAX_NAME + 1];

typedef struct upload_run {
    otter_control *ctl;
    int percent;
    char version[OTTER_DDI_MAX_NAME + 1];
} upload_run;

static void on_progress(void *ctx, const char *image, uint64_t done, uint64_t total)
{
    (void)image;
    upload_run *u = ctx;
    int percent = total ? (int)(done * 100 / total) : 100;
    if (percent == u->percent)
        return;
    u->percent = percent;
    otter_control_set_phase(u->ctl, OTTER_CONTROL_INSTALLING, percent, NULL);
}

/* Verified (signature, model, anti-rollback, every digest): the switch may happen. */
static int on_verified(void *ctx, const char *version)
{
    upload_run *u = ctx;
    snprintf(u->version, sizeof u->version, "%s", version);
    return 1;
}

/* Battery, charging and the health command once more, right before the install. */
static int allowed(const otter_agent_conf *conf, otter_control *ctl, char *why, size_t n)
{
    otter_control_state st = {0};
    size_t blockers =
        otter_control_pre_check(conf, 0, OTTER_CONTROL_PRE_START | OTTER_CONTROL_PRE_HEALTH, &st);
    otter_control_set_blockers(ctl, &st);
    if (blockers)
        snprintf(why, n, "the upload is not installed: %s", st.blocker_why[0]);
    return blockers == 0;
}

/* The installer names its input /dev/fd/3 (the broker's open file): the user chose update.zip. */
static void name_file(char *why, size_t n)
{
    static const char fd[] = "/dev/fd/3";
    char *at = strstr(why, fd);
    if (!at)
        return;
    char rest[512];
    snprintf(rest, sizeof rest, "%s", at + sizeof fd - 1);
    snprintf(at, n - (size_t)(at - why), "the uploaded file%s", rest);
}

int otter_daemon_upload(const otter_agent_conf *conf, otter_broker *broker, otter_control *ctl)
{
    char name[OTTER_CONTROL_MAX_FILE + 1], why[512] = "";
    if (!ctl || !otter_control_take_file(ctl, name, sizeof name))
        return 0;
    otter_err err;
    if (!allowed(conf, ctl, why, sizeof why)) {
        /* Not installed: the broker removes it (the front's directory is not ours). */
        if (otter_broker_drop_upload(broker, name, &err) != 0)
            fprintf(stderr, "otter-agentd: %s\n", err.msg);
        otter_control_set_refused(ctl, why);
        return 1;
    }
    fprintf(stderr, "otter-agentd: installing the uploaded package %s\n", name);
    upload_run u = {.ctl = ctl, .percent = -1};
    otter_broker_req req = {.op = OTTER_BROKER_INSTALL};
    snprintf(req.upload, sizeof req.upload, "%s", name);
    otter_daemon_child_ops ops = {on_progress, on_verified, NULL, &u};
    int stopped = 0;
    otter_control_set_phase(ctl, OTTER_CONTROL_INSTALLING, -1, NULL);
    int rc = otter_daemon_child_run(broker, &req, &ops, why, sizeof why, &stopped);
    if (rc != 0) {
        name_file(why, sizeof why);
        if (!why[0])
            snprintf(why, sizeof why, "the installer failed (exit status %d)", rc);
        fprintf(stderr, "otter-agentd: the uploaded package was refused: %s\n", why);
        otter_control_set_phase(ctl, OTTER_CONTROL_FAILED, -1, why);
        otter_control_set_refused(ctl, why);
        return 1;
    }
    snprintf(switched, sizeof switched, "%s", u.version[0] ? u.version : "?");
    fprintf(stderr, "otter-agentd: the uploaded package %s is installed; rebooting into it\n",
            switched);
    otter_control_set_phase(ctl, OTTER_CONTROL_REBOOT, -1, NULL);
    if (conf->reboot_command[0])
        otter_broker_reboot(broker, switched);
    return 1;
}

int otter_daemon_upload_switched(void)
{
    return switched[0] != '\0';
}
