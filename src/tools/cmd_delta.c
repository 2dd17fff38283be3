/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_delta_make.h"
#include "otter_key.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* What was written: how many images are deltas, and the size against the full package. */
static void print_summary(const char *out, const char *full_path, size_t signatures)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    otter_err err;
    size_t deltas = 0;
    if (otter_pkg_reader_open_file(out, OTTER_PKG_UNVERIFIED, &r, &err) == 0 &&
        otter_pkg_read_manifest(r, NULL, &m, NULL, &err) == 0)
        for (size_t i = 0; i < m->image_count; i++)
            deltas += otter_manifest_image_is_delta(&m->images[i]);
    long long full = file_size(full_path), delta = file_size(out);
    printf("%s: %zu of %zu image%s as deltas from %s, %lld bytes; %s %lld bytes (%.1f%%); "
           "%zu signature%s\n",
           out, deltas, m ? m->image_count : 0, m && m->image_count == 1 ? "" : "s",
           m && m->delta_from[0] ? m->delta_from : "-", delta, full_path, full,
           full > 0 ? 100.0 * (double)delta / (double)full : 0.0, signatures,
           signatures == 1 ? "" : "s");
    if (m && !deltas)
        fprintf(stderr,
                "otter delta: no image of %s has a base in the old release: %s is a "
                "full package\n",
                full_path, out);
    otter_pkg_reader_free(r);
}

int otter_cmd_delta(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"root", required_argument, NULL, 'r'},
        {"pubkey", required_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 'n'},
        {"key", required_argument, NULL, 'k'},
        {"level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'T'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0}, keys = {0};
    otter_delta_make_opts o = {.level = 19};
    const char *root_path = NULL, *out = NULL;
    long long n, threshold = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":f:t:r:p:n:k:l:T:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.from = optarg;
            break;
        case 't':
            o.to = optarg;
            break;
        case 'r':
            root_path = optarg;
            break;
        case 'p':
            if (otter_cli_list_add(&pubs, "delta", "public keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 'n':
            if ((threshold = otter_cli_parse_int(optarg, 1, OTTER_TRUST_KEYS_MAX)) < 0)
                return otter_cli_usage_error("delta", "--threshold: \"%s\" is not 1..%d", optarg,
                                             OTTER_TRUST_KEYS_MAX);
            break;
        case 'k':
            if (otter_cli_list_add(&keys, "delta", "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 'l':
            if ((n = otter_cli_parse_int(optarg, 1, 19)) < 0)
                return otter_cli_usage_error("delta", "--level: \"%s\" is not 1..19", optarg);
            o.level = (int)n;
            break;
        case 'T':
            if ((n = otter_cli_parse_int(optarg, 1, 256)) < 0)
                return otter_cli_usage_error("delta", "--threads: \"%s\" is not 1..256", optarg);
            o.threads = (int)n;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_delta, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("delta", c, argv);
        }
    }
    if (optind != argc)
        return otter_cli_usage_error("delta", "unexpected argument \"%s\"", argv[optind]);
    if (!o.from || !o.to || !out)
        return otter_cli_usage_error("delta", "--from, --to and -o are required");
    if (!root_path == !pubs.count)
        return otter_cli_usage_error("delta", "give either --root or --pubkey (both packages "
                                              "are verified before anything is made)");
    otter_err err;
    otter_trust *trust = NULL;
    otter_key *loaded[64] = {0};
    int ret = root_path ? otter_trust_load_file(root_path, &trust, &err)
                        : otter_trust_from_pubkey_files(pubs.items, pubs.count, (unsigned)threshold,
                                                        &trust, &err);
    for (size_t i = 0; !ret && i < keys.count; i++)
        ret = otter_key_load_private_file(keys.items[i], &loaded[i], &err);
    o.trust = trust;
    o.keys = (const otter_key *const *)loaded;
    o.key_count = keys.count;
    if (!ret)
        ret = otter_delta_make(out, &o, &err);
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    if (!ret)
        print_summary(out, o.to, keys.count);
    for (size_t i = 0; i < keys.count; i++)
        otter_key_free(loaded[i]);
    otter_trust_free(trust);
    return code;
}
