/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_usage.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int otter_usage_version(const char *prog)
{
    if (strcmp(otter_build_describe, OTTER_VERSION) == 0)
        printf("%s %s\n", prog, OTTER_VERSION);
    else
        printf("%s %s (git %s)\n", prog, OTTER_VERSION, otter_build_describe);
    return 0;
}

static void vusage(const char *prog, const char *cmd, const char *fmt, va_list ap)
{
    const char *sep = cmd ? " " : "";
    fprintf(stderr, "%s%s%s: ", prog, sep, cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry `%s%s%s --help`.\n", prog, sep, cmd ? cmd : "");
}

int otter_usage_error(const char *prog, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vusage(prog, cmd, fmt, ap);
    va_end(ap);
    return OTTER_USAGE_EXIT;
}

int otter_usage_bad_option(const char *prog, const char *cmd, int c, char **argv)
{
    /* A long option is named by its argument (getopt has moved optind past it); a short one
       by optopt, as it may sit inside a cluster such as -xf. */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    char shortopt[3] = {'-', (char)optopt, '\0'};
    if (strncmp(arg, "--", 2) != 0)
        arg = shortopt;
    if (c == ':')
        return otter_usage_error(prog, cmd, "option \"%s\" needs a value", arg);
    return otter_usage_error(prog, cmd, "unknown option \"%s\"", arg);
}

int otter_usage_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}
