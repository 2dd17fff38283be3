/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_delta_make.h"
#include "otter_key.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char help[] =
    "usage: otter delta --from OLD.zip --to NEW.zip (--root root.json | --pubkey K.pub ...\n"
    "                   [--threshold N]) [--key K.key ...] [--level 1..19] [--threads N]\n"
    "                   -o delta.zip\n"
    "\n"
    "Makes a delta package: the update from release OLD to release NEW that\n"
    "ships only what changed. Devices running OLD install it and end up with\n"
    "exactly NEW's images; any other device refuses it before it writes a byte\n"
    "(its running slot is hashed against the base digest first).\n"
    "\n"
    "Both packages are first read and verified whole, as `otter verify` does\n"
    "(signatures against the trust root, every chunk and image digest); the\n"
    "delta is made only from verified bytes. Every image of NEW that has an\n"
    "image of the same name and target in OLD (raw or file handler) becomes a\n"
    "delta image; for each chunk of it the smallest of these is stored:\n"
    "  copy        the chunk's bytes are somewhere in OLD's image: nothing stored\n"
    "  zstd-patch  a zstd frame using a range of OLD's image as its dictionary\n"
    "  bsdiff      a suffix-array diff against a range of OLD's image, zstd'd\n"
    "  zstd        the chunk compressed on its own, as in a full package\n"
    "Other images (new in NEW, archive images) are stored in full. An image\n"
    "that did not change costs only its chunk table. The result is an ordinary\n"
    "format 2 package (docs/package-format.md, \"Delta images\"; docs/delta.md)\n"
    "with NEW's manifest plus delta_from, the base digest of each delta image,\n"
    "and each chunk's method: sign it with the release keys (--key, or `otter\n"
    "sign` later) like any package.\n"
    "\n"
    "  -f, --from FILE       the release devices run now (a full signed package)\n"
    "  -t, --to FILE         the release to update them to (a full signed package)\n"
    "  -r, --root FILE       trust root (root.json) both packages must satisfy\n"
    "  -p, --pubkey FILE     or: trusted public keys (PEM), repeatable ...\n"
    "  -n, --threshold N     ... of which N must have signed (default 1)\n"
    "  -k, --key FILE        sign the delta with this private key (repeatable)\n"
    "  -l, --level N         zstd level 1..19 for every frame written (default 19)\n"
    "  -T, --threads N       chunks encoded at once (default: one per core)\n"
    "  -o, --output FILE     delta package to write (replaced atomically)\n"
    "  -h, --help            show this help\n"
    "\n"
    "A delta is worth it when few bytes changed; when most of an image changed\n"
    "the tool falls back to zstd chunk by chunk, so a delta is never much larger\n"
    "than the full package (the chunk table's method keys aside). See\n"
    "docs/delta.md for when to ship the full package instead.\n"
    "\n"
    "Exit status: 0 written; 1 an input was refused (signature, digest, format);\n"
    "2 usage or I/O error.\n";

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
        fprintf(stderr, "otter delta: no image of %s has a base in the old release: %s is a "
                        "full package\n",
                full_path, out);
    otter_pkg_reader_free(r);
}

int otter_cmd_delta(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},    {"to", required_argument, NULL, 't'},
        {"root", required_argument, NULL, 'r'},    {"pubkey", required_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 'n'}, {"key", required_argument, NULL, 'k'},
        {"level", required_argument, NULL, 'l'},   {"threads", required_argument, NULL, 'T'},
        {"output", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0}, keys = {0};
    otter_delta_make_opts o = {.level = 19};
    const char *root_path = NULL, *out = NULL;
    long long n, threshold = 1;
    int c;
    while ((c = getopt_long(argc, argv, "f:t:r:p:n:k:l:T:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o.from = optarg; break;
        case 't': o.to = optarg; break;
        case 'r': root_path = optarg; break;
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
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return otter_cli_usage_error("delta", "bad option");
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
                        : otter_trust_from_pubkey_files(pubs.items, pubs.count,
                                                        (unsigned)threshold, &trust, &err);
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
