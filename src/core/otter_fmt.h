/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded formatting that says when the text did not fit. A path, a URL or
 * a name cut short by snprintf names something else (another file, another
 * resource); callers that build one use this and refuse instead.
 */
#ifndef OTTER_FMT_H
#define OTTER_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include "otter_err.h"

/*
 * Formats into buf (cap bytes, cap >= 1). 0 when the whole text and its NUL
 * fit; otherwise OTTER_EUSAGE with err saying "<what>: longer than <cap - 1>
 * bytes", and buf holds "" (never a truncated text someone could use).
 */
int otter_fmt(char *buf, size_t cap, otter_err *err, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int otter_vfmt(char *buf, size_t cap, otter_err *err, const char *what, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif
