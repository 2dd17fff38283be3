/* SPDX-License-Identifier: Apache-2.0 */
/* [push] of server.conf: the checks that span its keys (otter_server_config.h). */
#include <stdlib.h>

#include "otter_push_msg.h"
#include "otter_server_config.h"

int otter_server_config_check_push(const otter_server_config *cfg, otter_err *err)
{
    if (!cfg->push_broker) {
        if (cfg->push_tls_ca || cfg->push_tls_cert || cfg->push_tls_key || cfg->push_username ||
            cfg->push_password)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "[push]: keys are set but broker is not (push is off)");
        return 0;
    }
    char *host = NULL;
    unsigned port = 0;
    int ret = otter_server_config_split_hostport(cfg->push_broker, &host, &port, err);
    int no_host = ret == 0 && (!host || port == 0);
    free(host);
    if (ret < 0)
        return otter_err_prefix(err, "[push] broker");
    if (no_host)
        return otter_err_set(err, OTTER_EFORMAT, "[push] broker: use host:port (port 1..65535)");
    if ((cfg->push_tls_cert != NULL) != (cfg->push_tls_key != NULL))
        return otter_err_set(err, OTTER_EFORMAT, "[push] tls_cert and tls_key go together");
    if (cfg->push_tls_cert && !cfg->push_tls_ca)
        return otter_err_set(err, OTTER_EFORMAT,
                             "[push] tls_cert needs tls_ca (a client certificate is for TLS)");
    if ((cfg->push_username != NULL) != (cfg->push_password != NULL))
        return otter_err_set(err, OTTER_EFORMAT, "[push] username and password go together");
    if (otter_push_prefix_check(cfg->push_prefix, err) < 0)
        return otter_err_prefix(err, "[push] prefix");
    return 0;
}
