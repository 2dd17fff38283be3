/* SPDX-License-Identifier: Apache-2.0 */
/*
 * State file parser over arbitrary bytes. What parses must serialize and
 * parse again to the same document (the agent rewrites it on every change).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_state *s = NULL, *again = NULL;
    char *one = NULL, *two = NULL;
    size_t n1 = 0, n2 = 0;
    if (otter_state_parse_mem((const char *)data, size, "fuzz.json", &s, &err) != 0) {
        if (s || strlen(err.msg) == 0)
            abort();
        return 0;
    }
    if (otter_state_to_json(s, &one, &n1, &err) != 0 ||
        otter_state_parse_mem(one, n1, "again.json", &again, &err) != 0 ||
        otter_state_to_json(again, &two, &n2, &err) != 0 || n1 != n2 || memcmp(one, two, n1) != 0)
        abort();
    free(one);
    free(two);
    otter_state_free(s);
    otter_state_free(again);
    return 0;
}
