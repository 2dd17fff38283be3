/* SPDX-License-Identifier: Apache-2.0 */
/* The `otter` command's subcommands: each parses its own options and returns an exit code. */
#ifndef OTTER_CLI_H
#define OTTER_CLI_H

#include "otter_err.h"

/* Exit codes: 0 ok, 1 the package (or key, or root) is refused, 2 usage or I/O error. */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_TROUBLE = 2 };

/* The whole tool: argv[0] is "otter", argv[1] the command. Returns the exit status. */
int otter_tool_main(int argc, char **argv);

int otter_cmd_keygen(int argc, char **argv);
int otter_cmd_pack(int argc, char **argv);
int otter_cmd_sign(int argc, char **argv);
int otter_cmd_verify(int argc, char **argv);
int otter_cmd_inspect(int argc, char **argv);
int otter_cmd_root(int argc, char **argv);
int otter_cmd_delta(int argc, char **argv);

/* Prints "otter: <message>" to stderr and maps the error code to an exit code. */
int otter_cli_fail(const otter_err *err);
/* Prints "otter <cmd>: <message>" and a hint to stderr; returns EXIT_TROUBLE. */
int otter_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For getopt_long's '?' or ':' (opterr is 0): "otter <cmd>: unknown option ..."; returns
   EXIT_TROUBLE. */
int otter_cli_bad_option(const char *cmd, int c, char **argv);

/* Keeps up to max strings from repeated options. */
typedef struct otter_cli_list {
    const char *items[64];
    size_t count;
} otter_cli_list;
int otter_cli_list_add(otter_cli_list *list, const char *cmd, const char *what, const char *value);

/* Parses a non-negative decimal integer within [min, max]; -1 when invalid. */
long long otter_cli_parse_int(const char *s, long long min, long long max);

#endif
