/* SPDX-License-Identifier: Apache-2.0 */
/* The otter tool as a library: its commands and their dispatch (otter_tool_main), which
 * otter_main.c runs and the unit tests call in-process. */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_usage.h"

#include <getopt.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int otter_cli_fail(const otter_err *err)
{
    fprintf(stderr, "otter: %s\n", err->msg);
    return otter_err_is_refusal(err->code) || err->code == OTTER_ESIG ? EXIT_REFUSED : EXIT_TROUBLE;
}

int otter_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return otter_usage_error("otter", cmd, "%s", msg);
}

int otter_cli_bad_option(const char *cmd, int c, char **argv)
{
    return otter_usage_bad_option("otter", cmd, c, argv);
}

int otter_cli_list_add(otter_cli_list *list, const char *cmd, const char *what, const char *value)
{
    if (list->count == sizeof list->items / sizeof list->items[0]) {
        otter_cli_usage_error(cmd, "too many %s", what);
        return -1;
    }
    list->items[list->count++] = value;
    return 0;
}

long long otter_cli_parse_int(const char *s, long long min, long long max)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    long long v = strtoll(s, &end, 10);
    if (*end || v < min || v > max)
        return -1;
    return v;
}

int otter_tool_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"keygen", otter_cmd_keygen}, {"pack", otter_cmd_pack},       {"sign", otter_cmd_sign},
        {"verify", otter_cmd_verify}, {"inspect", otter_cmd_inspect}, {"root", otter_cmd_root},
        {"delta", otter_cmd_delta},
    };
    opterr = 0; /* each command names a bad option itself (otter_cli_bad_option) */
    if (argc < 2) {
        fputs(otter_help_otter, stderr);
        return EXIT_TROUBLE;
    }
    if (otter_usage_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(otter_help_otter, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return otter_usage_version("otter");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        return otter_usage_error("otter", NULL, "unknown option \"%s\"", argv[1]);
    return otter_usage_error("otter", NULL, "unknown command \"%s\"", argv[1]);
}
