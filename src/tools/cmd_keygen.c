/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_key.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int otter_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *type = "ed25519", *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            type = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_keygen, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("keygen", c, argv);
        }
    }
    if (optind != argc)
        return otter_cli_usage_error("keygen", "unexpected argument \"%s\"", argv[optind]);
    if (!out)
        return otter_cli_usage_error("keygen", "--out NAME is required");
    otter_err err;
    otter_key *key = NULL;
    int ret = otter_key_generate(type, &key, &err);
    if (!ret)
        ret = otter_key_save_pair(key, out, &err);
    if (ret) {
        otter_key_free(key);
        fprintf(stderr, "otter keygen: %s\n", err.msg);
        return EXIT_TROUBLE;
    }
    printf("%s\n", otter_key_id(key));
    otter_key_free(key);
    return EXIT_OK;
}
