/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command-line conventions every Otter program shares: `PROG --version`, and usage
 * errors as "PROG[ COMMAND]: what is wrong" plus "Try `PROG[ COMMAND] --help`." on stderr
 * with exit status 2. PROG is the program's own name, never argv[0]'s path.
 */
#ifndef OTTER_USAGE_H
#define OTTER_USAGE_H

enum { OTTER_USAGE_EXIT = 2 }; /* the exit status of a usage error, in every program */

/* The build's `git describe --always --dirty`, or the project version outside git. */
extern const char otter_build_describe[];

/* Prints "PROG VERSION" and, when it differs, "(git DESCRIBE)" on stdout; returns 0. */
int otter_usage_version(const char *prog);

/* Prints a usage error (cmd may be NULL) on stderr; returns OTTER_USAGE_EXIT. */
int otter_usage_error(const char *prog, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * For getopt_long's '?' (unknown option) and ':' (option without its value), with
 * opterr = 0 and an optstring that starts with ':': names the option from argv[optind - 1]
 * (or optopt for a short one) in a usage error; returns OTTER_USAGE_EXIT.
 */
int otter_usage_bad_option(const char *prog, const char *cmd, int c, char **argv);

/* 1 when arg is -h or --help. */
int otter_usage_is_help(const char *arg);

#endif
