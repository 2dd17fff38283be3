/* SPDX-License-Identifier: Apache-2.0 */
/* roots.json, the root chain a server serves its devices (issue #13): parse, re-serialise. */
#include "otter_rootchain.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_err err;
    otter_rootchain *c = NULL;
    if (otter_rootchain_parse((const char *)data, size, "fuzz", &c, &err) == 0) {
        char *text = otter_rootchain_serialize_new(c);
        if (!text)
            abort();
        /* What the server writes, a device reads back. */
        otter_rootchain *back = NULL;
        if (otter_rootchain_parse(text, strlen(text), "again", &back, &err) != 0)
            abort();
        otter_rootchain_free(back);
        free(text);
    }
    otter_rootchain_free(c);
    return 0;
}
