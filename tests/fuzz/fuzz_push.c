/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push wake-up (issue #15): the payload a device gets from the broker
 * (untrusted: anyone the broker lets publish) and the topic built from a
 * name. The payload is accepted only as exactly "poll"; a topic built from
 * any name holds no wildcard and has exactly four levels under "otter".
 */
#include "otter_push_msg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_err err;
    int ok = otter_push_payload_parse(data, size, &err) == 0;
    if (ok != (size == 4 && memcmp(data, "poll", 4) == 0))
        abort();
    char name[300], topic[OTTER_PUSH_TOPIC_MAX + 1];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    if (otter_push_topic("otter", "acme", OTTER_PUSH_DEVICE, name, topic, sizeof topic, &err) ==
        0) {
        int slashes = 0;
        for (const char *p = topic; *p; p++)
            slashes += *p == '/';
        if (strpbrk(topic, "+#") || slashes != 3)
            abort();
    }
    return 0;
}
