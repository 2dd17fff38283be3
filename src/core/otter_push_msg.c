/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_push_msg.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_BYTES 128

int otter_push_prefix_check(const char *prefix, otter_err *err)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n == 0 || n > OTTER_PUSH_PREFIX_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "topic prefix: use 1..%d bytes",
                             OTTER_PUSH_PREFIX_MAX);
    if (prefix[0] == '/' || prefix[n - 1] == '/' || strstr(prefix, "//"))
        return otter_err_set(err, OTTER_EFORMAT,
                             "topic prefix '%s': no leading, trailing or double '/'", prefix);
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._-/", c)))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "topic prefix '%s': only A-Z a-z 0-9 . _ - and '/'", prefix);
    }
    return 0;
}

/* A topic level: no separator, no wildcard, no control byte, not empty. */
static int level_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return 0;
    }
    return 1;
}

int otter_push_topic(const char *prefix, const char *tenant, int kind, const char *name, char *out,
                     size_t cap, otter_err *err)
{
    int ret = otter_push_prefix_check(prefix, err);
    if (ret < 0)
        return ret;
    if (!tenant || !level_ok(tenant))
        return otter_err_set(err, OTTER_EFORMAT, "tenant '%.64s' cannot be a topic level",
                             tenant ? tenant : "");
    if (!name || !level_ok(name))
        return otter_err_set(err, OTTER_EFORMAT, "%s '%.64s' cannot be a topic level",
                             kind == OTTER_PUSH_GROUP ? "group" : "controller id",
                             name ? name : "");
    int n = snprintf(out, cap, "%s/%s/%s/%s", prefix, tenant,
                     kind == OTTER_PUSH_GROUP ? "group" : "dev", name);
    if (n < 0 || (size_t)n >= cap || n > OTTER_PUSH_TOPIC_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "topic longer than %d bytes",
                             OTTER_PUSH_TOPIC_MAX);
    return 0;
}

int otter_push_payload_parse(const void *buf, size_t len, otter_err *err)
{
    static const char want[] = OTTER_PUSH_PAYLOAD;
    if (len != sizeof want - 1 || memcmp(buf, want, len) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "push message of %zu bytes is not '%s'", len,
                             want);
    return 0;
}
