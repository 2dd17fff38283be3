/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_file.h"
#include "otter_trust.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: otter root new --pubkey K1.pub [--pubkey K2.pub ...] --threshold N -o root.json\n"
    "\n"
    "Creates a trust root: the release public keys a device (or server) accepts\n"
    "and how many of them must sign a package (k-of-n). Install root.json on the\n"
    "devices at manufacture; `otter verify --trust root.json` checks a package the\n"
    "way a device will.\n"
    "\n"
    "  -p, --pubkey FILE    public key (PEM); repeat for each key\n"
    "  -t, --threshold N    signatures required, 1..number of keys (default 1)\n"
    "      --version N      root version, raised by each rotation (default 1)\n"
    "  -o, --out FILE       where to write root.json (refuses to overwrite)\n"
    "  -h, --help           show this help\n";

static int root_new(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 't'},
        {"version", required_argument, NULL, 'V'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0};
    long long threshold = 1, version = 1;
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "p:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (otter_cli_list_add(&pubs, "root new", "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 't':
            threshold = otter_cli_parse_int(optarg, 1, OTTER_TRUST_KEYS_MAX);
            if (threshold < 0)
                return otter_cli_usage_error("root new", "--threshold: \"%s\" is not 1..%d",
                                             optarg, OTTER_TRUST_KEYS_MAX);
            break;
        case 'V':
            version = otter_cli_parse_int(optarg, 1, INT32_MAX);
            if (version < 0)
                return otter_cli_usage_error("root new", "--version: \"%s\" is not valid", optarg);
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return otter_cli_usage_error("root new", "bad option");
        }
    }
    if (optind != argc)
        return otter_cli_usage_error("root new", "unexpected argument \"%s\"", argv[optind]);
    if (!out || pubs.count == 0)
        return otter_cli_usage_error("root new", "--pubkey and -o are required");
    if ((size_t)threshold > pubs.count)
        return otter_cli_usage_error("root new", "threshold %lld exceeds the %zu keys", threshold,
                                     pubs.count);
    otter_err err;
    otter_trust *trust = NULL;
    char *json = NULL;
    int ret = otter_trust_new((unsigned)threshold, &trust, &err);
    for (size_t i = 0; !ret && i < pubs.count; i++) {
        otter_key *key = NULL;
        ret = otter_key_load_public_file(pubs.items[i], &key, &err);
        if (!ret)
            ret = otter_trust_add_key(trust, key, &err);
    }
    if (!ret)
        ret = otter_trust_set_version(trust, version, &err);
    if (!ret) {
        /* Round-trip through the parser so we never write a root devices refuse. */
        otter_trust *check = NULL;
        json = otter_trust_serialize_new(trust);
        ret = json ? otter_trust_parse(json, strlen(json), out, &check, &err)
                   : otter_err_set(&err, OTTER_ENOMEM, "out of memory");
        otter_trust_free(check);
    }
    if (!ret) {
        FILE *f = fopen(out, "wx");
        if (!f)
            ret = otter_err_sys(&err, OTTER_EIO, errno, "%s: cannot create", out);
        else if (fprintf(f, "%s\n", json) < 0 || fclose(f) != 0)
            ret = otter_err_set(&err, OTTER_EIO, "%s: write failed", out);
    }
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    if (!ret)
        printf("%s: %zu keys, threshold %lld\n", out, pubs.count, threshold);
    free(json);
    otter_trust_free(trust);
    return code;
}

int otter_cmd_root(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "new") == 0)
        return root_new(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    return otter_cli_usage_error("root", "expected the subcommand \"new\"");
}
