/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void otter_err_clear(otter_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

static void mark_cut(char *msg, int wanted)
{
    if (wanted >= OTTER_ERR_MSG_MAX)
        memcpy(msg + OTTER_ERR_MSG_MAX - 4, "...", 4);
}

static int vset(otter_err *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vset(otter_err *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (n < 0)
        err->msg[0] = '\0';
    mark_cut(err->msg, n);
    return code;
}

int otter_err_set(otter_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int otter_err_sys(otter_err *err, int code, int errnum, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    int n = snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    mark_cut(err->msg, (int)len + n);
    return code;
}

int otter_err_prefix(otter_err *err, const char *fmt, ...)
{
    if (!err)
        return OTTER_EIO;
    char ctx[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    char joined[OTTER_ERR_MSG_MAX];
    int m = snprintf(joined, sizeof joined, "%s: %s", ctx, err->msg);
    mark_cut(joined, m);
    memcpy(err->msg, joined, sizeof err->msg);
    return err->code;
}

int otter_err_is_refusal(int code)
{
    switch (code) {
    case OTTER_EFORMAT:
    case OTTER_ESIG:
    case OTTER_EDIGEST:
    case OTTER_ECOMPAT:
    case OTTER_EROLLBACK:
    case OTTER_ESOURCE:
    case OTTER_EMETHOD:
        return 1;
    default:
        return 0;
    }
}

const char *otter_code_name(int code)
{
    switch (code) {
    case OTTER_OK:
        return "ok";
    case OTTER_EIO:
        return "io";
    case OTTER_ENOMEM:
        return "nomem";
    case OTTER_EFORMAT:
        return "format";
    case OTTER_ESIG:
        return "signature";
    case OTTER_EDIGEST:
        return "digest";
    case OTTER_ECOMPAT:
        return "compatibility";
    case OTTER_EROLLBACK:
        return "rollback";
    case OTTER_EUSAGE:
        return "usage";
    case OTTER_ESTATE:
        return "state";
    case OTTER_ECANCELED:
        return "canceled";
    case OTTER_ESOURCE:
        return "source";
    case OTTER_EMETHOD:
        return "method";
    default:
        return "unknown";
    }
}
