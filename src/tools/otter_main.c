/* SPDX-License-Identifier: Apache-2.0 */
/* otter: build, sign, verify and inspect update.zip packages. */
#include "otter_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: otter COMMAND [OPTIONS]\n"
    "\n"
    "Build, sign, verify and inspect Otter update packages (update.zip).\n"
    "\n"
    "Commands:\n"
    "  keygen   create a signing key pair (ed25519, ecdsa-p256, rsa-3072)\n"
    "  pack     build a package from images, optionally signing it\n"
    "  sign     add signatures to a package (k-of-n signing, one key at a time)\n"
    "  verify   check signatures, hardware compatibility and every image digest\n"
    "  inspect  show a package's manifest, signers, sizes and compression ratios\n"
    "  root     create a trust root (root.json) for devices and servers\n"
    "\n"
    "Run `otter COMMAND --help` for a command's options.\n"
    "\n"
    "Exit status: 0 success; 1 the package, key or trust root was refused\n"
    "(signature, digest, format, model); 2 usage or I/O error.\n";

int otter_cli_fail(const otter_err *err)
{
    fprintf(stderr, "otter: %s\n", err->msg);
    return otter_err_is_refusal(err->code) || err->code == OTTER_ESIG ? EXIT_REFUSED
                                                                      : EXIT_TROUBLE;
}

int otter_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "otter %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry `otter %s --help`.\n", cmd);
    return EXIT_TROUBLE;
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

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"keygen", otter_cmd_keygen}, {"pack", otter_cmd_pack},       {"sign", otter_cmd_sign},
        {"verify", otter_cmd_verify}, {"inspect", otter_cmd_inspect}, {"root", otter_cmd_root},
        {"delta", otter_cmd_delta},
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_TROUBLE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("otter %s\n", OTTER_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "otter: unknown command \"%s\"\n\n%s", argv[1], usage);
    return EXIT_TROUBLE;
}
