/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_key.h"
#include "otter_keysrc.h"
#include "otter_pkg.h"

#include <getopt.h>
#include <stdio.h>

int otter_cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        OTTER_KEYSRC_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list keys = {0};
    otter_keysrc src = {0};
    int c;
    while ((c = getopt_long(argc, argv, ":k:h", opts, NULL)) != -1) {
        if (otter_keysrc_option(&src, c, optarg))
            continue;
        switch (c) {
        case 'k':
            if (otter_cli_list_add(&keys, "sign", "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 'h':
            fputs(otter_help_otter_sign, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("sign", c, argv);
        }
    }
    if (optind + 1 != argc)
        return otter_cli_usage_error("sign", "expected exactly one package");
    if (keys.count == 0)
        return otter_cli_usage_error("sign", "at least one --key is required");
    const char *path = argv[optind];
    otter_key *loaded[64] = {0};
    otter_err err;
    int ret = 0;
    for (size_t i = 0; !ret && i < keys.count; i++)
        ret = otter_keysrc_load(&src, keys.items[i], &loaded[i], &err);
    if (!ret)
        ret = otter_pkg_sign(path, (const otter_key *const *)loaded, keys.count, &err);
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    if (!ret)
        for (size_t i = 0; i < keys.count; i++)
            printf("%s: signed by %s (%s)\n", path, otter_key_id(loaded[i]),
                   otter_key_alg(loaded[i]));
    for (size_t i = 0; i < keys.count; i++)
        otter_key_free(loaded[i]);
    return code;
}
