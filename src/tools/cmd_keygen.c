/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_key.h"
#include "otter_keysrc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Makes the key and writes NAME.key (encrypted when asked) and NAME.pub. */
static int keygen(const char *type, const char *out, int encrypt, const char *pass_file,
                  otter_key **key, otter_err *err)
{
    char pass[1024];
    int n = 0;
    if (encrypt || pass_file) {
        char what[4200];
        snprintf(what, sizeof what, "%s.key", out);
        n = otter_keysrc_new_passphrase(pass_file, what, pass, sizeof pass, err);
        if (n < 0)
            return n;
    }
    int ret = otter_key_generate(type, key, err);
    if (!ret)
        ret = otter_key_save_pair_pass(*key, out, pass, (size_t)n, err);
    otter_keysrc_wipe(pass, sizeof pass);
    return ret;
}

int otter_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'}, {"out", required_argument, NULL, 'o'},
        {"encrypt", no_argument, NULL, 'e'},    {"passphrase-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *type = "ed25519", *out = NULL, *pass_file = NULL;
    int c, encrypt = 0;
    while ((c = getopt_long(argc, argv, ":t:o:eh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            type = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'e':
            encrypt = 1;
            break;
        case 'P':
            pass_file = optarg;
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
    if (keygen(type, out, encrypt, pass_file, &key, &err)) {
        otter_key_free(key);
        fprintf(stderr, "otter keygen: %s\n", err.msg);
        return EXIT_TROUBLE;
    }
    printf("%s\n", otter_key_id(key));
    otter_key_free(key);
    return EXIT_OK;
}
