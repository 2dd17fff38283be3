/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DDI bodies devices send: the first byte picks feedback or configData (odd),
 * or with 0x80/0x82 the consent bodies (issue #17): confirmation feedback
 * and activateAutoConfirm; the rest is the body. Accepted feedback must
 * carry known words (and its details a well-formed otter.user choice or
 * none); configData must yield a JSON object.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_ddi_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    otter_err err;
    if (data[0] & 1) {
        char *out = NULL;
        if (otter_ddi_config_apply(body, size - 1, "{\"seed\":\"1\"}", &out, &err) == 0) {
            json_t *j = json_loads(out, 0, NULL);
            if (!json_is_object(j))
                __builtin_trap();
            json_decref(j);
        }
        free(out);
        return 0;
    }
    if (data[0] == 0x80) {
        otter_ddi_confirmation c;
        if (otter_ddi_confirmation_parse(body, size - 1, &c, &err) == 0) {
            if (!c.details || c.details[0] != '[')
                __builtin_trap();
            otter_ddi_confirmation_clear(&c);
        }
        return 0;
    }
    if (data[0] == 0x82) {
        otter_ddi_autoconfirm a;
        if (otter_ddi_autoconfirm_parse(body, size - 1, &a, &err) == 0 &&
            (strlen(a.initiator) >= sizeof a.initiator || strlen(a.remark) >= sizeof a.remark))
            __builtin_trap();
        return 0;
    }
    otter_ddi_feedback f;
    if (otter_ddi_feedback_parse(body, size - 1, &f, &err) == 0) {
        if (!f.execution[0] || !f.finished[0] || !f.details || f.details[0] != '[')
            __builtin_trap();
        char choice[16];
        int64_t until = 0;
        int r = otter_ddi_user_choice(f.details, choice, &until, &err);
        if (r == 1 && (!choice[0] || (strcmp(choice, "postponed") == 0) != (until > 0)))
            __builtin_trap();
        otter_ddi_feedback_clear(&f);
    }
    return 0;
}
