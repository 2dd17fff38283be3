/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resume record parser over arbitrary bytes (the record sits in the
 * state directory: a damaged one must be refused with a message, never
 * trusted). What parses must serialize and parse again to the same document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_resume *r = NULL, *again = NULL;
    if (otter_resume_parse_mem((const char *)data, size, "resume.json", &r, &err) != 0) {
        if (r || strlen(err.msg) == 0)
            abort();
        return 0;
    }
    char *one = otter_resume_to_json_new(r);
    if (!one || otter_resume_parse_mem(one, strlen(one), "again.json", &again, &err) != 0)
        abort();
    char *two = otter_resume_to_json_new(again);
    if (!two || strcmp(one, two) != 0)
        abort();
    free(one);
    free(two);
    otter_resume_free(r);
    otter_resume_free(again);
    return 0;
}
