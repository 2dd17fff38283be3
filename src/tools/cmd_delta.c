/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_delta_make.h"
#include "otter_key.h"
#include "otter_keysrc.h"
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

/* What the command line says. */
typedef struct delta_args {
    otter_cli_list pubs, keys;
    otter_keysrc keysrc;
    otter_delta_make_opts o;
    const char *root_path, *out;
    long long threshold;
} delta_args;

/* One option into a: 0 taken, 1 help printed, -1 a usage error (printed). */
static int delta_option(int c, char **argv, delta_args *a)
{
    long long n;
    if (otter_keysrc_option(&a->keysrc, c, optarg))
        return 0;
    switch (c) {
    case 'f':
        a->o.from = optarg;
        return 0;
    case 't':
        a->o.to = optarg;
        return 0;
    case 'r':
        a->root_path = optarg;
        return 0;
    case 'p':
        return otter_cli_list_add(&a->pubs, "delta", "public keys", optarg) < 0 ? -1 : 0;
    case 'n':
        if ((a->threshold = otter_cli_parse_int(optarg, 1, OTTER_TRUST_KEYS_MAX)) < 0) {
            otter_cli_usage_error("delta", "--threshold: \"%s\" is not 1..%d", optarg,
                                  OTTER_TRUST_KEYS_MAX);
            return -1;
        }
        return 0;
    case 'k':
        return otter_cli_list_add(&a->keys, "delta", "keys", optarg) < 0 ? -1 : 0;
    case 'l':
        if ((n = otter_cli_parse_int(optarg, 1, 19)) < 0) {
            otter_cli_usage_error("delta", "--level: \"%s\" is not 1..19", optarg);
            return -1;
        }
        a->o.level = (int)n;
        return 0;
    case 'T':
        if ((n = otter_cli_parse_int(optarg, 1, 256)) < 0) {
            otter_cli_usage_error("delta", "--threads: \"%s\" is not 1..256", optarg);
            return -1;
        }
        a->o.threads = (int)n;
        return 0;
    case 'M': {
        otter_err e;
        if (otter_delta_methods_parse(optarg, &a->o.methods, &e) != 0) {
            otter_cli_usage_error("delta", "--%s", e.msg);
            return -1;
        }
        return 0;
    }
    case 'o':
        a->out = optarg;
        return 0;
    case 'h':
        fputs(otter_help_otter_delta, stdout);
        return 1;
    default:
        otter_cli_bad_option("delta", c, argv);
        return -1;
    }
}

/* Loads the trust and the signing keys, makes the delta; the exit status. */
static int delta_run(delta_args *a)
{
    otter_err err;
    otter_trust *trust = NULL;
    otter_key *loaded[64] = {0};
    int ret = a->root_path ? otter_trust_load_file(a->root_path, &trust, &err)
                           : otter_trust_from_pubkey_files(a->pubs.items, a->pubs.count,
                                                           (unsigned)a->threshold, &trust, &err);
    for (size_t i = 0; !ret && i < a->keys.count; i++)
        ret = otter_keysrc_load(&a->keysrc, a->keys.items[i], &loaded[i], &err);
    a->o.trust = trust;
    a->o.keys = (const otter_key *const *)loaded;
    a->o.key_count = a->keys.count;
    if (!ret)
        ret = otter_delta_make(a->out, &a->o, &err);
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    if (!ret)
        print_summary(a->out, a->o.to, a->keys.count);
    for (size_t i = 0; i < a->keys.count; i++)
        otter_key_free(loaded[i]);
    otter_trust_free(trust);
    return code;
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
        OTTER_KEYSRC_OPTIONS,
        {"level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'T'},
        {"methods", required_argument, NULL, 'M'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    delta_args a = {.o = {.level = 19}, .threshold = 1};
    int c, r = 0;
    while (r == 0 && (c = getopt_long(argc, argv, ":f:t:r:p:n:k:l:T:M:o:h", opts, NULL)) != -1)
        r = delta_option(c, argv, &a);
    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_TROUBLE;
    if (optind != argc)
        return otter_cli_usage_error("delta", "unexpected argument \"%s\"", argv[optind]);
    if (!a.o.from || !a.o.to || !a.out)
        return otter_cli_usage_error("delta", "--from, --to and -o are required");
    if (!a.root_path == !a.pubs.count)
        return otter_cli_usage_error("delta", "give either --root or --pubkey (both packages "
                                              "are verified before anything is made)");
    return delta_run(&a);
}
