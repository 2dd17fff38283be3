/* SPDX-License-Identifier: Apache-2.0 */
/* One request line of otter-agentd's control socket (any local client's bytes). */
#include "otter_control_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_control_req r;
    const char *code = NULL;
    int ret = otter_control_req_parse((const char *)data, size, &r, &code, &err);
    /* Every refusal has a code and a message for the answer; the id is JSON either way. */
    if (ret != 0 && (!code || !err.msg[0]))
        __builtin_trap();
    if (ret == 0 && (r.method < OTTER_CONTROL_STATUS || r.method > OTTER_CONTROL_INSTALL_FILE))
        __builtin_trap();
    /* install_file names a plain file in [ui] upload_dir: never a path, never "..". */
    if (ret == 0 && r.method == OTTER_CONTROL_INSTALL_FILE &&
        (!r.file[0] || r.file[0] == '.' || strchr(r.file, '/') ||
         !otter_control_file_name_ok(r.file, strlen(r.file))))
        __builtin_trap();
    if (ret == 0 && r.method != OTTER_CONTROL_INSTALL_FILE && r.file[0])
        __builtin_trap();
    char *line =
        ret ? otter_control_answer_err(r.id, code, err.msg) : otter_control_answer_ok(r.id, "{}");
    if (!line || line[strlen(line) - 1] != '\n')
        __builtin_trap();
    free(line);
    return 0;
}
