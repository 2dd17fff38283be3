/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ui_upload.h"
#include "otter_ui.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t otter_ui_upload_max(const otter_agent_conf *conf)
{
    return (uint64_t)conf->ui_max_upload_mb * 1024 * 1024;
}

void otter_ui_upload_prepare(const otter_agent_conf *conf)
{
    if (mkdir(conf->ui_upload_dir, 0700) != 0 && errno != EEXIST)
        fprintf(stderr, "otter-agentd ui: [ui] upload_dir %s: %s\n", conf->ui_upload_dir,
                strerror(errno));
    DIR *d = opendir(conf->ui_upload_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "upload-", 7) != 0 || n < 11 || strcmp(e->d_name + n - 4, ".zip"))
            continue;
        /* Left by a front or a daemon that stopped between the upload and the install. */
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            fprintf(stderr, "otter-agentd ui: removed the stale upload %s\n", e->d_name);
    }
    if (d)
        closedir(d);
}

int otter_ui_upload_open(otter_ui_upload *u, const otter_agent_conf *conf, otter_err *err)
{
    unsigned char rnd[16];
    memset(u, 0, sizeof *u);
    u->fd = -1;
    u->max = otter_ui_upload_max(conf);
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return otter_err_sys(err, OTTER_EIO, errno, "getrandom");
    char *p = u->name + sprintf(u->name, "upload-");
    for (size_t i = 0; i < sizeof rnd; i++)
        p += sprintf(p, "%02x", rnd[i]);
    strcat(u->name, ".zip");
    int n = snprintf(u->path, sizeof u->path, "%s/%s", conf->ui_upload_dir, u->name);
    if (n < 0 || (size_t)n >= sizeof u->path)
        return otter_err_set(err, OTTER_EFORMAT, "[ui] upload_dir: path too long");
    u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (u->fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "[ui] upload_dir: creating %s", u->path);
    return 0;
}

void otter_ui_upload_write(otter_ui_upload *u, const char *data, size_t n)
{
    if (u->fd < 0 || u->too_big || u->failed)
        return;
    if (u->len + n > u->max) {
        u->too_big = 1;
        return;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(u->fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            u->failed = 1;
            return;
        }
        off += (size_t)w;
    }
    u->len += n;
}

void otter_ui_upload_abort(otter_ui_upload *u)
{
    if (u->fd >= 0) {
        close(u->fd);
        u->fd = -1;
    }
    if (u->name[0])
        unlink(u->path);
    u->name[0] = '\0';
}

int otter_ui_upload_finish(otter_ui_upload *u, const otter_agent_conf *conf, char **answer_out,
                           otter_err *err)
{
    *answer_out = NULL;
    int ret = 0;
    /* The broker (root) reads it by name: whole on disk before the daemon hears of it. */
    if (fsync(u->fd) != 0 || close(u->fd) != 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "writing %s", u->path);
    u->fd = -1;
    char params[128];
    snprintf(params, sizeof params, "{\"file\":\"%s\"}", u->name);
    if (!ret)
        ret = otter_ui_control_call(conf->control_socket, "install_file", params, answer_out, err);
    json_t *j = ret ? NULL : json_loads(*answer_out, 0, NULL);
    int accepted = json_is_true(json_object_get(j, "ok"));
    json_decref(j);
    if (accepted)
        u->name[0] = '\0'; /* the daemon's now: its broker removes it */
    else
        otter_ui_upload_abort(u);
    return ret;
}
