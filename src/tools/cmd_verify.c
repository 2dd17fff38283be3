/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Encrypted images: what was checked without their key. */
static void print_encrypted(const char *path, const otter_manifest *m)
{
    for (size_t i = 0; i < m->image_count; i++)
        if (m->images[i].encryption)
            printf("%s: image %s is encrypted: signatures and every ciphertext chunk checked; "
                   "installed digests need a recipient's key (the device checks them)\n",
                   path, m->images[i].name);
}

/* Reads the whole package against trust (every digest); prints the verdict; the exit status. */
static int verify_package(const char *path, const otter_trust *trust, const char *model,
                          const char *product)
{
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    otter_trust_result res;
    /* Encrypted images are checked as ciphertext: no key is needed, none is read. */
    unsigned flags = OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST | OTTER_PKG_CIPHERTEXT;
    int ret = otter_pkg_reader_open_file(path, flags, &r, &err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, &res, &err);
    if (!ret && (model || product) &&
        (ret = otter_manifest_check_device(m, product, model ? model : m->compatible[0], &err)))
        otter_err_prefix(&err, "%s", path);
    while (!ret && (ret = otter_pkg_next_image(r, &img, &err)) == 1) {
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(r, &data, &len, &err)) == 1)
            ;
    }
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    if (!ret) {
        printf("%s: OK: %s %s (security version %lld), %zu image%s, signed by %zu of %u required:",
               path, m->product, m->version, (long long)m->security_version, m->image_count,
               m->image_count == 1 ? "" : "s", res.valid, otter_trust_threshold(trust));
        for (size_t i = 0; i < res.valid; i++)
            printf(" %.16s", res.signers[i]);
        printf("\n");
        print_encrypted(path, m);
    }
    otter_pkg_reader_free(r);
    return code;
}

int otter_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 't'},
        {"trust", required_argument, NULL, 'r'},
        {"model", required_argument, NULL, 'm'},
        {"product", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0};
    long long threshold = 1;
    const char *root_path = NULL, *model = NULL, *product = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":p:t:r:m:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (otter_cli_list_add(&pubs, "verify", "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 't':
            threshold = otter_cli_parse_int(optarg, 1, OTTER_TRUST_KEYS_MAX);
            if (threshold < 0)
                return otter_cli_usage_error("verify", "--threshold: \"%s\" is not 1..%d", optarg,
                                             OTTER_TRUST_KEYS_MAX);
            break;
        case 'r':
            root_path = optarg;
            break;
        case 'm':
            model = optarg;
            break;
        case 'P':
            product = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_verify, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("verify", c, argv);
        }
    }
    if (optind + 1 != argc)
        return otter_cli_usage_error("verify", "expected exactly one package");
    if (!root_path == !pubs.count)
        return otter_cli_usage_error("verify", "give either --pubkey or --trust");
    otter_trust *trust = NULL;
    otter_err err;
    int ret = root_path ? otter_trust_load_file(root_path, &trust, &err)
                        : otter_trust_from_pubkey_files(pubs.items, pubs.count, (unsigned)threshold,
                                                        &trust, &err);
    int code = ret ? otter_cli_fail(&err) : verify_package(argv[optind], trust, model, product);
    otter_trust_free(trust);
    return code;
}
