/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_trust.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_err err;
    otter_trust *t = NULL;
    if (otter_trust_parse((const char *)data, size, "fuzz", &t, &err) == 0) {
        char *text = otter_trust_serialize_new(t);
        if (!text)
            abort();
        free(text);
    }
    otter_trust_free(t);
    return 0;
}
