/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi_roots.h"
#include "otter_daemon_internal.h"
#include "otter_file.h"
#include "otter_fmt.h"
#include "otter_rootchain.h"
#include "otter_roots.h"
#include "otter_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 when the answer holds a root, or is malformed (otter-agent says what is wrong with it). */
static int has_roots(const char *body, size_t len)
{
    otter_err err;
    otter_rootchain *c = NULL;
    if (otter_rootchain_parse(body, len, "otter/roots", &c, &err) != 0)
        return 1;
    int some = c->count > 0;
    otter_rootchain_free(c);
    return some;
}

/* A daemon that runs as root walks the chain at once; an unprivileged one leaves it to otter-agent.
 */
static int adopt_now(struct daemon_ctx *d, otter_err *err)
{
    if (d->conf->server_daemon_user && d->conf->server_daemon_user[0])
        return 0;
    otter_trust *t = NULL;
    int ret = otter_trust_load_file(d->conf->trust_root, &t, err);
    if (!ret)
        ret = otter_roots_adopt(d->conf, &t, err);
    otter_trust_free(t);
    return ret;
}

void daemon_fetch_roots(struct daemon_ctx *d)
{
    otter_err err;
    otter_trust *t = NULL;
    char url[OTTER_DDI_MAX_URL], pending[4096];
    char *body = NULL;
    size_t len = 0;
    int ret = otter_trust_load_file(d->conf->trust_root, &t, &err);
    if (!ret)
        ret = otter_roots_pending_path(d->conf, pending, sizeof pending, &err);
    if (!ret)
        ret = otter_fmt(url, sizeof url, &err, "root chain URL", "%s/otter/roots?from=%lld",
                        d->base, (long long)otter_trust_version(t) + 1);
    otter_trust_free(t);
    if (!ret)
        ret = otter_ddi_get(&d->c, url, &body, &len, &err);
    int some = !ret && has_roots(body, len);
    if (some)
        ret = otter_file_write_atomic(pending, body, len, 0644, &err);
    else if (!ret && unlink(pending) != 0 && access(pending, F_OK) == 0)
        ret = otter_err_set(&err, OTTER_EIO, "%s: cannot remove", pending);
    free(body);
    if (!ret && some)
        ret = adopt_now(d, &err);
    /* A foreign DDI server has no such resource: say so without alarm, and go on. */
    if (ret && strstr(err.msg, "HTTP 404"))
        daemon_say(d, "otter-agentd: the server offers no trust root chain (%s)", err.msg);
    else if (ret)
        fprintf(stderr, "otter-agentd: trust root rotation: %s\n", err.msg);
}
