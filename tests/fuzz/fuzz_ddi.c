/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_ddi_base b;
    otter_ddi_deployment d;
    otter_ddi_cancel c;
    otter_ddi_parse_base((const char *)data, size, &b, &err);
    otter_ddi_parse_deployment((const char *)data, size, &d, &err);
    otter_ddi_parse_cancel((const char *)data, size, &c, &err);
    return 0;
}
