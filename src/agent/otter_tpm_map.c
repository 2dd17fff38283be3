/* SPDX-License-Identifier: Apache-2.0 */
/* The pure part of otter_tpm.h (no TPM needed): index syntax and the mapping of
 * security levels onto counter values. The config parser uses it too. */
#include "otter_tpm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int otter_tpm_parse_index(const char *text, uint32_t *index, otter_err *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 16);
    if (strncmp(text, "0x", 2) != 0 || end == text + 2 || *end || errno ||
        v < OTTER_TPM_NV_OWNER_FIRST || v > OTTER_TPM_NV_OWNER_LAST)
        return otter_err_set(err, OTTER_EUSAGE,
                             "TPM NV index '%s': want hex 0x01800000-0x01bfffff (owner range)",
                             text);
    *index = (uint32_t)v;
    return 0;
}

int otter_tpm_level_of(uint64_t counter, uint64_t *level, otter_err *err)
{
    if (counter == 0)
        return otter_err_set(err, OTTER_EFORMAT, "TPM counter reads 0: not a provisioned counter");
    *level = counter - 1;
    return 0;
}

int otter_tpm_steps_to(uint64_t counter, uint64_t level, uint64_t *steps, otter_err *err)
{
    uint64_t cur = 0;
    int ret = otter_tpm_level_of(counter, &cur, err);
    if (ret)
        return ret;
    if (level < cur)
        return otter_err_set(
            err, OTTER_EROLLBACK,
            "refusing to lower the TPM rollback counter from %" PRIu64 " to %" PRIu64, cur, level);
    if (level == UINT64_MAX)
        return otter_err_set(err, OTTER_EUSAGE,
                             "security version %" PRIu64 " is past the TPM counter", level);
    if (level - cur > OTTER_TPM_MAX_STEPS)
        return otter_err_set(err, OTTER_EUSAGE,
                             "raising the TPM counter from %" PRIu64 " to %" PRIu64
                             " takes more than %u increments (NV writes): refused",
                             cur, level, OTTER_TPM_MAX_STEPS);
    *steps = level - cur;
    return 0;
}
