/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Custom handlers ([handler.NAME] in agent.conf; docs/porting.md, "Custom
 * handlers"): an executable the device maker provides, run as
 *   COMMAND [args...] SLOT_PATH SIZE SHA256 IMAGE
 * with a clean environment (PATH and OTTER_* only). It gets the image's
 * installed bytes on stdin, each chunk only after its digest matched; EOF
 * comes only once every byte was verified and the whole package was read,
 * and then it must exit 0 within its timeout. On any refusal the agent
 * kills its process group instead (SIGKILL): it never sees an EOF for an
 * image that was not accepted whole, so it must act only at EOF with
 * exactly SIZE bytes read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_exec.h"
#include "otter_handler_impl.h"

#define ARGS_MAX 32 /* from [handler.NAME] args */

struct exec_ctx {
    otter_exec *x;
    char name[64];
};

/* argv: command, args split on blanks (in the copy `args`), then the four standard ones. */
static int build_argv(const otter_handler_exec_params *p, char *args, char **argv, char *const *std,
                      otter_err *err)
{
    size_t n = 0;
    argv[n++] = (char *)p->command;
    char *save = NULL;
    for (char *a = strtok_r(args, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
        if (n == ARGS_MAX + 1)
            return otter_err_set(err, OTTER_EUSAGE, "[handler.%s] args: more than %d", p->name,
                                 ARGS_MAX);
        argv[n++] = a;
    }
    for (size_t i = 0; i < 4; i++)
        argv[n++] = std[i];
    argv[n] = NULL;
    return 0;
}

int otter_handler_exec_start(void **out, const otter_handler_exec_params *p, const char *target,
                             uint64_t declared_size, otter_err *err)
{
    char size[24], slot[2] = {p->slot, '\0'};
    snprintf(size, sizeof size, "%" PRIu64, declared_size);
    char *std[4] = {(char *)target, size, (char *)p->sha256, (char *)p->image};
    char env[8][1200];
    snprintf(env[0], sizeof env[0], "PATH=%s", OTTER_EXEC_PATH);
    snprintf(env[1], sizeof env[1], "OTTER_HANDLER=%s", p->name);
    snprintf(env[2], sizeof env[2], "OTTER_IMAGE=%s", p->image);
    snprintf(env[3], sizeof env[3], "OTTER_IMAGE_SIZE=%s", size);
    snprintf(env[4], sizeof env[4], "OTTER_IMAGE_SHA256=%s", p->sha256);
    snprintf(env[5], sizeof env[5], "OTTER_SLOT=%s", slot);
    snprintf(env[6], sizeof env[6], "OTTER_SLOT_PATH=%.1100s", target);
    snprintf(env[7], sizeof env[7], "OTTER_VERSION=%s", p->version);
    char *envp[9];
    for (int i = 0; i < 8; i++)
        envp[i] = env[i];
    envp[8] = NULL;
    char *args = strdup(p->args ? p->args : "");
    char *argv[ARGS_MAX + 6];
    struct exec_ctx *c = calloc(1, sizeof *c);
    int ret = args && c ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret)
        ret = build_argv(p, args, argv, std, err);
    if (!ret)
        ret = otter_exec_start(argv, envp, 1, p->timeout, &c->x, err);
    free(args);
    if (ret) {
        free(c);
        return ret;
    }
    snprintf(c->name, sizeof c->name, "%s", p->name);
    char prefix[80];
    snprintf(prefix, sizeof prefix, "handler %s", p->name);
    otter_exec_set_prefix(c->x, prefix);
    *out = c;
    return 0;
}

static int exec_open(void **ctx, const char *target, uint64_t declared_size, otter_err *err)
{
    (void)ctx;
    (void)target;
    (void)declared_size;
    return otter_err_set(err, OTTER_EUSAGE, "a custom handler opens with its parameters");
}

static int exec_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct exec_ctx *c = ctx;
    return otter_exec_feed(c->x, buf, len, err);
}

/* EOF: every byte was verified and the package read whole; exit 0 accepts. */
static int exec_finish(void *ctx, otter_err *err)
{
    struct exec_ctx *c = ctx;
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    int status = 0;
    /* Gone before its EOF: it did not wait for the agent's word that the image is whole. */
    int early = !otter_exec_running(c->x);
    int ret = otter_exec_wait(c->x, &status, output, err);
    c->x = NULL; /* freed by wait */
    if (!ret && early && status == 0)
        ret = otter_err_set(err, OTTER_EIO, "%s exited (status 0) before its EOF: %s", c->name,
                            output[0] ? output : "(no output)");
    else if (!ret && status != 0)
        ret = otter_err_set(err, OTTER_EIO, "%s exited with %d%s: %s", c->name, status,
                            status == 124 ? " (timeout)" : "", output[0] ? output : "(no output)");
    if (!ret)
        free(c);
    return ret;
}

static void exec_abort(void *ctx)
{
    struct exec_ctx *c = ctx;
    otter_exec_kill(c->x);
    free(c);
}

const struct otter_handler_ops otter_handler_exec = {"custom",   exec_open, exec_write, exec_finish,
                                                     exec_abort, NULL,      NULL};
