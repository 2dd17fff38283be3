/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Encrypted images: what was checked without their key. */
static void print_encrypted(const char *path, const otter_manifest *m)
{
    for (size_t i = 0; i < m->image_count; i++)
        if (m->images[i].encryption)
            printf("%s: image %s is encrypted: signatures and every ciphertext chunk checked; "
                   "installed digests need a recipient's key (the device checks them)\n",
                   path, m->images[i].name);
}

/*
 * --source IMAGE=PATH (as `otter inspect`): the base a delta image is made
 * from, opened read-only and given to the reader, which checks its digest
 * before the image's first chunk and every chunk made from it. *fd is the
 * caller's to close (-1 when it did not open).
 */
static int add_source(otter_pkg_reader *r, const char *spec, int *fd, otter_err *err)
{
    char name[OTTER_IDENT_MAX + 1];
    const char *eq = strchr(spec, '=');
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    *fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", eq + 1);
    return otter_pkg_reader_set_source(r, name, *fd, err);
}

/* The --source given for image, or NULL. */
static const char *source_of(const otter_cli_list *sources, const char *image)
{
    size_t n = strlen(image);
    for (size_t k = 0; k < sources->count; k++)
        if (strncmp(sources->items[k], image, n) == 0 && sources->items[k][n] == '=')
            return sources->items[k] + n + 1;
    return NULL;
}

/* A delta image without --source cannot be checked: OTTER_EUSAGE naming the option. */
static int need_sources(const otter_manifest *m, const otter_cli_list *sources, otter_err *err)
{
    for (size_t i = 0; i < m->image_count; i++)
        if (otter_manifest_image_is_delta(&m->images[i]) && !source_of(sources, m->images[i].name))
            return otter_err_set(err, OTTER_EUSAGE,
                                 "image %s is a delta from %s: give its base with --source %s=PATH "
                                 "(the old release's image)",
                                 m->images[i].name, m->delta_from, m->images[i].name);
    return 0;
}

/* Delta images: what their bytes were checked against. */
static void print_delta(const char *path, const otter_manifest *m, const otter_cli_list *sources)
{
    for (size_t i = 0; i < m->image_count; i++)
        if (otter_manifest_image_is_delta(&m->images[i]))
            printf("%s: image %s is a delta from %s: checked against %s\n", path, m->images[i].name,
                   m->delta_from, source_of(sources, m->images[i].name));
}

/* Reads the whole package against trust (every digest); prints the verdict; the exit status. */
static int verify_package(const char *path, const otter_trust *trust, const char *model,
                          const char *product, const otter_cli_list *sources)
{
    int fds[64];
    size_t nfds = 0;
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
    if (!ret && (ret = need_sources(m, sources, &err)))
        otter_err_prefix(&err, "%s", path);
    for (size_t i = 0; !ret && i < sources->count; i++)
        ret = add_source(r, sources->items[i], &fds[nfds++], &err);
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
        print_delta(path, m, sources);
    }
    otter_pkg_reader_free(r);
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return code;
}

int otter_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pubkey", required_argument, NULL, 'p'},  {"threshold", required_argument, NULL, 't'},
        {"trust", required_argument, NULL, 'r'},   {"model", required_argument, NULL, 'm'},
        {"product", required_argument, NULL, 'P'}, {"source", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0}, sources = {0};
    long long threshold = 1;
    const char *root_path = NULL, *model = NULL, *product = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":p:t:r:m:P:s:h", opts, NULL)) != -1) {
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
        case 's':
            if (!strchr(optarg, '=') || optarg[0] == '=' ||
                otter_cli_list_add(&sources, "verify", "sources", optarg) < 0)
                return otter_cli_usage_error("verify", "--source: expected IMAGE=PATH");
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
    int code =
        ret ? otter_cli_fail(&err) : verify_package(argv[optind], trust, model, product, &sources);
    otter_trust_free(trust);
    return code;
}
