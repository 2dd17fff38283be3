/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_err err;
    otter_manifest *m = NULL;
    if (otter_manifest_parse((const char *)data, size, "fuzz", &m, &err) == 0) {
        /* Whatever parses must serialize and parse back to the same text. */
        char *text = otter_manifest_serialize_new(m);
        otter_manifest *again = NULL;
        if (!text || otter_manifest_parse(text, strlen(text), "again", &again, &err) != 0)
            abort();
        char *text2 = otter_manifest_serialize_new(again);
        if (!text2 || strcmp(text, text2) != 0)
            abort();
        free(text);
        free(text2);
        otter_manifest_free(again);
        otter_manifest_check_device(m, "p", "m", &err);
    }
    otter_manifest_free(m);
    return 0;
}
