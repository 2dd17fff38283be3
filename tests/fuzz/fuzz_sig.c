/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_sig.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_err err;
    otter_sig_list *list = NULL;
    if (otter_sig_list_parse((const char *)data, size, "fuzz", &list, &err) == 0) {
        char *text = otter_sig_list_serialize_new(list);
        otter_sig_list *again = NULL;
        if (!text || otter_sig_list_parse(text, strlen(text), "again", &again, &err) != 0 ||
            again->count != list->count)
            abort();
        free(text);
        otter_sig_list_free(again);
    }
    otter_sig_list_free(list);
    return 0;
}
