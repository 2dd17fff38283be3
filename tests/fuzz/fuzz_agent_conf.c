/* SPDX-License-Identifier: Apache-2.0 */
/* agent.conf parser over arbitrary bytes: must refuse or accept, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_agent_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_agent_conf *conf = NULL;
    if (otter_agent_conf_parse_mem((const char *)data, size, "fuzz.conf", &conf, &err) == 0) {
        /* Whatever was accepted obeys the documented invariants. */
        if (conf->n_slots == 0 || conf->boot_tries < 1 || conf->boot_tries > 9 ||
            conf->boot_path[0] != '/' || !otter_agent_conf_slot(conf, conf->slots[0].name))
            abort();
        otter_agent_conf_free(conf);
    } else if (conf || strlen(err.msg) == 0) {
        abort();
    }
    return 0;
}
