/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_roots.h"
#include "otter_file.h"
#include "otter_fmt.h"
#include "otter_rootchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int otter_roots_pending_path(const otter_agent_conf *conf, char *out, size_t size, otter_err *err)
{
    /* Where the daemon keeps ddi.json (otter_daemon_record.c): its own directory. */
    int own = conf->server_daemon_user && conf->server_daemon_user[0];
    int ret = otter_fmt(out, size, err, "pending root chain", "%s%s/roots.json", conf->state_dir,
                        own ? "/daemon" : "");
    return ret < 0 ? ret : 0;
}

/* Writes the accepted root's exact bytes over [trust] root; *trust becomes it. */
static int adopt(const otter_agent_conf *conf, const otter_rootchain_entry *e, otter_trust **trust,
                 otter_trust *next, otter_err *err)
{
    int ret = otter_file_write_atomic(conf->trust_root, e->root, e->root_len, 0644, err);
    if (ret) {
        otter_trust_free(next);
        return otter_err_prefix(err, "adopting trust root version %lld", (long long)e->version);
    }
    fprintf(stderr, "otter-agent: trust root version %lld adopted (was %lld): %s\n",
            (long long)e->version, (long long)otter_trust_version(*trust), conf->trust_root);
    otter_trust_free(*trust);
    *trust = next;
    return 0;
}

int otter_roots_adopt(const otter_agent_conf *conf, otter_trust **trust, otter_err *err)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    otter_rootchain *chain = NULL;
    otter_trust *next = NULL;
    size_t at = 0;
    int ret = otter_roots_pending_path(conf, path, sizeof path, err);
    if (ret || access(path, F_OK) != 0)
        return ret;
    ret = otter_file_read_all(path, OTTER_ROOTCHAIN_MAX, &text, &len, err);
    if (!ret)
        ret = otter_rootchain_parse(text, len, path, &chain, err);
    free(text);
    if (ret)
        return ret;
    otter_err walk;
    int wret = otter_rootchain_walk(*trust, chain, &next, &at, &walk);
    if (next)
        ret = adopt(conf, &chain->entries[at], trust, next, err);
    otter_rootchain_free(chain);
    if (!ret && wret) {
        *err = walk;
        ret = otter_err_prefix(err, "%s", path);
    }
    return ret;
}
