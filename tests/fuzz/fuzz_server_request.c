/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Management API request bodies: the first byte picks the request kind,
 * the rest is the body. Accepted bodies must hold only what the kind allows.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "otter_reqjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    otter_req_kind kind = (otter_req_kind)(data[0] % OTTER_REQ_KIND_COUNT);
    otter_err err;
    otter_reqjson r;
    int ret = otter_reqjson_parse(kind, (const char *)data + 1, size - 1, 16, &r, &err);
    if (ret == 0) {
        const char *u = otter_reqjson_str(&r, "username");
        const char *n = otter_reqjson_str(&r, "name");
        if (u && !otter_reqjson_name_ok(u))
            __builtin_trap();
        if (kind == OTTER_REQ_TENANT_CREATE && (!n || !otter_reqjson_name_ok(n)))
            __builtin_trap();
        if (otter_reqjson_has(&r, "no-such-key"))
            __builtin_trap();
    } else if (r.where[0] == '\0' && ret != OTTER_ENOMEM) {
        __builtin_trap();
    }
    otter_reqjson_clear(&r);
    return 0;
}
