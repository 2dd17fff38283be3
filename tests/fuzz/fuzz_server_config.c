/* SPDX-License-Identifier: Apache-2.0 */
/* server.conf parser: any bytes must give a config or a clean error, never a crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "otter_server_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_server_config *cfg = NULL;
    if (otter_server_config_parse_mem((const char *)data, size, &cfg, &err) == 0) {
        /* What the parser accepted must hold its own invariants. */
        if (!cfg || cfg->n_listen + cfg->n_listen_tls == 0 || !cfg->db_url || cfg->threads < 1 ||
            cfg->max_body > cfg->max_upload)
            __builtin_trap();
    } else if (cfg || err.msg[0] == '\0') {
        __builtin_trap();
    }
    otter_server_config_free(cfg);
    return 0;
}
