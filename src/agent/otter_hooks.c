/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_bootchooser.h"
#include "otter_exec.h"
#include "otter_file.h"

#define ENV_N 7

/* The program's bytes into dir/name, executable by root only. */
static int write_program(const char *path, const char *bytes, size_t len, otter_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0700);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", path);
    int ret = otter_file_write_full(fd, bytes, len, path, err);
    if (close(fd) < 0 && !ret)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: close", path);
    return ret;
}

/* "rootfs app": the slot classes, in agent.conf order (only those m replaces when partial). */
static void class_list(const otter_device *d, const otter_manifest *m, int only_replaced, char *out,
                       size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->conf->n_slots; i++) {
        const char *name = d->conf->slots[i].name;
        if (only_replaced && !otter_manifest_replaces(m, name))
            continue;
        int w = snprintf(out + n, size - n, "%s%s", n ? " " : "", name);
        if (w < 0 || (size_t)w >= size - n)
            return;
        n += (size_t)w;
    }
}

static void make_env(const otter_device *d, const otter_manifest *m, int which, int side,
                     char env[ENV_N][600])
{
    const otter_state_slot *running =
        d->booted >= 0 && d->booted < 2 ? &d->state->slots[d->booted] : NULL;
    char classes[400], replaces[400];
    class_list(d, m, 0, classes, sizeof classes);
    class_list(d, m, 1, replaces, sizeof replaces);
    snprintf(env[0], 600, "PATH=%s", OTTER_EXEC_PATH);
    snprintf(env[1], 600, "OTTER_HOOK=%s", otter_manifest_hook_name(which));
    snprintf(env[2], 600, "OTTER_SLOT=%c", otter_bootchooser_letter(side));
    snprintf(env[3], 600, "OTTER_VERSION=%s", m->version);
    snprintf(env[4], 600, "OTTER_RUNNING_VERSION=%s",
             running && running->present ? running->version : "");
    snprintf(env[5], 600, "OTTER_SLOT_CLASSES=%s", classes);
    snprintf(env[6], 600, "OTTER_REPLACES=%s", replaces);
}

static int run_program(otter_device *d, const otter_manifest *m, int which, int side,
                       const char *path, otter_err *err)
{
    char env[ENV_N][600], *envp[ENV_N + 1];
    char *argv[OTTER_AGENT_CONF_MAX_SLOTS + 2];
    make_env(d, m, which, side, env);
    for (int i = 0; i < ENV_N; i++)
        envp[i] = env[i];
    envp[ENV_N] = NULL;
    size_t n = 0;
    argv[n++] = (char *)path;
    for (size_t i = 0; i < d->conf->n_slots; i++)
        argv[n++] = (char *)otter_agent_conf_slot_path(&d->conf->slots[i], side);
    argv[n] = NULL;
    otter_exec *x = NULL;
    int ret = otter_exec_start(argv, envp, 0, d->conf->hooks_timeout, &x, err);
    if (ret)
        return ret;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "hook %s", otter_manifest_hook_name(which));
    otter_exec_set_prefix(x, prefix);
    int status = 0;
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    ret = otter_exec_wait(x, &status, output, err);
    if (!ret && status == 124)
        ret = otter_err_set(err, OTTER_ESTATE, "killed after [hooks] timeout %ld s: %s",
                            d->conf->hooks_timeout, output[0] ? output : "(no output)");
    else if (!ret && status != 0)
        ret = otter_err_set(err, OTTER_ESTATE, "exited with %d: %s", status,
                            output[0] ? output : "(no output)");
    return ret;
}

int otter_hooks_run(otter_device *d, const otter_pkg_reader *r, const otter_manifest *m, int which,
                    int side, otter_err *err)
{
    size_t len = 0;
    const char *bytes = otter_pkg_hook(r, which, &len);
    if (!bytes)
        return 0;
    const char *name = otter_manifest_hook_name(which);
    char dir[PATH_MAX], path[PATH_MAX];
    const char *base = d->conf->hooks_dir[0] ? d->conf->hooks_dir : d->conf->state_dir;
    int n = snprintf(dir, sizeof dir, "%s/hook.XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof dir - 32)
        return otter_err_set(err, OTTER_EUSAGE, "hook %s: %s: path too long", name, base);
    if (!mkdtemp(dir))
        return otter_err_sys(err, OTTER_EIO, errno, "hook %s: cannot make a directory in %s", name,
                             base);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int ret = write_program(path, bytes, len, err);
    if (!ret)
        ret = run_program(d, m, which, side, path, err);
    unlink(path);
    rmdir(dir);
    return ret ? otter_err_prefix(err, "install hook %s", name) : 0;
}
