/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_fmt.h"

#include <stdio.h>

int otter_vfmt(char *buf, size_t cap, otter_err *err, const char *what, const char *fmt, va_list ap)
{
    if (!buf || cap == 0)
        return otter_err_set(err, OTTER_EUSAGE, "%s: no room", what);
    int n = vsnprintf(buf, cap, fmt, ap);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return otter_err_set(err, OTTER_EUSAGE, "%s: longer than %zu bytes", what, cap - 1);
    }
    return 0;
}

int otter_fmt(char *buf, size_t cap, otter_err *err, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = otter_vfmt(buf, cap, err, what, fmt, ap);
    va_end(ap);
    return ret;
}
