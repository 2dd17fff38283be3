/* SPDX-License-Identifier: Apache-2.0 */
/* What the unprivileged otter-agentd sends its root installer broker. */
#include "otter_broker_req.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_broker_req r;
    char out[OTTER_BROKER_MAX_REQ + 1];
    if (otter_broker_req_parse((const char *)data, size, &r, &err) == 0) {
        /* Whatever parses formats back to the same bytes. */
        if (otter_broker_req_format(&r, out, sizeof out, &err) != 0 || strlen(out) != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
    }
    return 0;
}
