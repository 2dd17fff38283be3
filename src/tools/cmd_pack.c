/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_crypt.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_help_otter.h"
#include "otter_key.h"
#include "otter_keysrc.h"
#include "otter_manifest.h"
#include "otter_pkg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Storage for parsed --image specs; the strings point into dup'd argv copies. */
typedef struct image_specs {
    otter_pkg_input inputs[OTTER_IMAGES_MAX];
    char *copies[OTTER_IMAGES_MAX];
    size_t count;
} image_specs;

static int parse_image(image_specs *specs, const char *arg)
{
    if (specs->count == OTTER_IMAGES_MAX)
        return otter_cli_usage_error("pack", "more than %d images", OTTER_IMAGES_MAX);
    char *copy = strdup(arg);
    if (!copy)
        return otter_cli_usage_error("pack", "out of memory");
    specs->copies[specs->count] = copy;
    otter_pkg_input *in = &specs->inputs[specs->count++];
    in->compress = 1;
    char *eq = strchr(copy, '=');
    if (!eq || eq == copy || !eq[1])
        return otter_cli_usage_error("pack", "--image \"%s\": expected NAME=PATH", arg);
    *eq = '\0';
    in->name = copy;
    /* PATH[:key=value]...: a path with ':' in it is not supported. */
    char *save = NULL;
    in->path = strtok_r(eq + 1, ":", &save);
    for (char *opt = strtok_r(NULL, ":", &save); opt; opt = strtok_r(NULL, ":", &save)) {
        if (strncmp(opt, "handler=", 8) == 0)
            in->handler = opt + 8;
        else if (strncmp(opt, "target=", 7) == 0)
            in->target = opt + 7;
        else if (strcmp(opt, "compression=zstd") == 0)
            in->compress = 1;
        else if (strcmp(opt, "compression=none") == 0)
            in->compress = 0;
        else if (strncmp(opt, "verity=", 7) == 0) {
            if (!otter_is_lower_hex(opt + 7, OTTER_SHA256_HEX_LEN))
                return otter_cli_usage_error("pack",
                                             "--image %s: verity=: expected the root hash, 64 "
                                             "lower-case hex digits",
                                             in->name);
            in->verity_root_hash = opt + 7;
        } else
            return otter_cli_usage_error("pack", "--image %s: unknown option \"%s\"", in->name,
                                         opt);
    }
    if (!in->path)
        return otter_cli_usage_error("pack", "--image \"%s\": expected NAME=PATH", arg);
    /* Besides raw, archive and file: a custom handler the device names in agent.conf. */
    if (in->handler && !otter_ident_valid(in->handler))
        return otter_cli_usage_error("pack",
                                     "--image %s: handler \"%s\" is not raw, archive, file or "
                                     "a custom handler's name",
                                     in->name, in->handler);
    return 0;
}

static int split_models(otter_cli_list *models, char *arg)
{
    char *save = NULL;
    for (char *m = strtok_r(arg, ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (otter_cli_list_add(models, "pack", "compatible models", m) < 0)
            return -1;
    return 0;
}

/* "4MiB", "4M", "512KiB", "65536": a chunk span, or -1. */
static long long parse_size(const char *arg)
{
    char *end = NULL;
    long long n = strtoll(arg, &end, 10);
    if (end == arg || n <= 0)
        return -1;
    if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)
        n *= 1024;
    else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
        n *= 1024 * 1024;
    else if (*end)
        return -1;
    if (n < OTTER_CHUNK_SIZE_MIN || n > OTTER_CHUNK_SIZE_MAX || (n & (n - 1)))
        return -1;
    return n;
}

/* --notes LANG=FILE: the file's text as the release notes in LANG (signed with the manifest). */
static int add_notes(otter_manifest_notes *notes, const char *arg)
{
    char lang[OTTER_NOTES_LANG_MAX + 1], *text = NULL;
    size_t n = strcspn(arg, "="), len = 0;
    otter_err err;
    if (!arg[n] || n == 0 || n > OTTER_NOTES_LANG_MAX) {
        otter_cli_usage_error("pack", "--notes %s: expected LANG=FILE", arg);
        return -1;
    }
    snprintf(lang, sizeof lang, "%.*s", (int)n, arg);
    int ret = otter_file_read_all(arg + n + 1, OTTER_NOTES_TEXT_MAX + 1, &text, &len, &err);
    if (ret == 0)
        ret = otter_manifest_notes_add(notes, lang, text, len, &err);
    free(text);
    if (ret < 0) {
        otter_cli_usage_error("pack", "--notes %s: %s", arg, err.msg);
        return -1;
    }
    return 0;
}

/* What the command line says to pack. */
typedef struct pack_args {
    image_specs specs;
    otter_cli_list models, keys;
    otter_keysrc keysrc;
    otter_cli_list encrypt_for; /* --encrypt-for: recipients' public keys */
    otter_pkg_write_opts wo;
    const char *out;
    otter_manifest_notes notes; /* --notes LANG=FILE (issue #17) */
} pack_args;

/* One option into a: 0 taken, 1 help printed, -1 a usage error (printed). */
static int pack_option(int c, char **argv, pack_args *a)
{
    long long n;
    if (otter_keysrc_option(&a->keysrc, c, optarg))
        return 0;
    switch (c) {
    case 'p':
        a->wo.product = optarg;
        return 0;
    case 'c':
        return split_models(&a->models, optarg) < 0 ? -1 : 0;
    case 'V':
        a->wo.version = optarg;
        return 0;
    case 's':
        if ((n = otter_cli_parse_int(optarg, 0, OTTER_JSON_INT_MAX)) < 0) {
            otter_cli_usage_error("pack", "--security-version: \"%s\" is not a number", optarg);
            return -1;
        }
        a->wo.security_version = n;
        return 0;
    case 'i':
        return parse_image(&a->specs, optarg) != 0 ? -1 : 0;
    case 'k':
        return otter_cli_list_add(&a->keys, "pack", "keys", optarg) < 0 ? -1 : 0;
    case 'l':
        if ((n = otter_cli_parse_int(optarg, 1, 19)) < 0) {
            otter_cli_usage_error("pack", "--level: \"%s\" is not 1..19", optarg);
            return -1;
        }
        a->wo.level = (int)n;
        return 0;
    case 'T':
        if ((n = otter_cli_parse_int(optarg, 1, 256)) < 0) {
            otter_cli_usage_error("pack", "--threads: \"%s\" is not 1..256", optarg);
            return -1;
        }
        a->wo.threads = (int)n;
        return 0;
    case 'C':
        if ((n = parse_size(optarg)) < 0) {
            otter_cli_usage_error("pack",
                                  "--chunk-size: \"%s\" is not a power of two from "
                                  "64KiB to 8MiB",
                                  optarg);
            return -1;
        }
        a->wo.chunk_size = (uint32_t)n;
        return 0;
    case 'F':
        if ((n = otter_cli_parse_int(optarg, 1, 2)) < 0) {
            otter_cli_usage_error("pack", "--format: \"%s\" is not 1 or 2", optarg);
            return -1;
        }
        a->wo.format = (int)n;
        return 0;
    case 'o':
        a->out = optarg;
        return 0;
    case 'E':
        return otter_cli_list_add(&a->encrypt_for, "pack", "recipients", optarg) < 0 ? -1 : 0;
    case 'N':
        return add_notes(&a->notes, optarg);
    case 'P':
        a->wo.hooks[OTTER_HOOK_PRE] = optarg;
        return 0;
    case 'Q':
        a->wo.hooks[OTTER_HOOK_POST] = optarg;
        return 0;
    case 'R':
        a->wo.partial = 1;
        return 0;
    case 'h':
        fputs(otter_help_otter_pack, stdout);
        return 1;
    default:
        otter_cli_bad_option("pack", c, argv);
        return -1;
    }
}

/* --encrypt-for: the recipients' public keys (PEM) into pk[]. */
static int load_recipients(const pack_args *a, otter_crypt_pubkey **pk, otter_err *err)
{
    for (size_t i = 0; i < a->encrypt_for.count; i++) {
        int ret = otter_crypt_pubkey_load_file(a->encrypt_for.items[i], &pk[i], err);
        if (ret)
            return otter_err_prefix(err, "--encrypt-for %s", a->encrypt_for.items[i]);
    }
    return 0;
}

/* Loads the signing keys and writes the package; the exit status. */
static int pack_write(pack_args *a)
{
    otter_key *loaded[64] = {0};
    otter_crypt_pubkey *recipients[64] = {0};
    otter_err err;
    int ret = load_recipients(a, recipients, &err), code;
    a->wo.recipients = (const otter_crypt_pubkey *const *)recipients;
    a->wo.recipient_count = a->encrypt_for.count;
    for (size_t i = 0; !ret && i < a->keys.count; i++)
        ret = otter_keysrc_load(&a->keysrc, a->keys.items[i], &loaded[i], &err);
    a->wo.compatible = a->models.items;
    a->wo.compatible_count = a->models.count;
    a->wo.keys = (const otter_key *const *)loaded;
    a->wo.key_count = a->keys.count;
    if (!ret)
        ret = otter_pkg_write(a->out, &a->wo, a->specs.inputs, a->specs.count, &err);
    if (ret) {
        code = otter_cli_fail(&err);
    } else {
        printf("%s: %s %s, %zu image%s, %zu signature%s\n", a->out, a->wo.product, a->wo.version,
               a->specs.count, a->specs.count == 1 ? "" : "s", a->keys.count,
               a->keys.count == 1 ? "" : "s");
        code = EXIT_OK;
    }
    for (size_t i = 0; i < a->keys.count; i++)
        otter_key_free(loaded[i]);
    for (size_t i = 0; i < a->encrypt_for.count; i++)
        otter_crypt_pubkey_free(recipients[i]);
    return code;
}

int otter_cmd_pack(int argc, char **argv)
{
    static const struct option opts[] = {
        {"product", required_argument, NULL, 'p'},
        {"compatible", required_argument, NULL, 'c'},
        {"version", required_argument, NULL, 'V'},
        {"security-version", required_argument, NULL, 's'},
        {"image", required_argument, NULL, 'i'},
        {"key", required_argument, NULL, 'k'},
        OTTER_KEYSRC_OPTIONS,
        {"level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'T'},
        {"chunk-size", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'},
        {"encrypt-for", required_argument, NULL, 'E'},
        {"notes", required_argument, NULL, 'N'},
        {"pre-install", required_argument, NULL, 'P'},
        {"post-install", required_argument, NULL, 'Q'},
        {"partial", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pack_args a = {.wo = {.level = 3, .security_version = -1}};
    int code = EXIT_TROUBLE, c, r = 0;
    while (r == 0 && (c = getopt_long(argc, argv, ":p:c:V:s:i:k:l:T:C:F:o:E:h", opts, NULL)) != -1)
        r = pack_option(c, argv, &a);
    if (r != 0)
        code = r > 0 ? EXIT_OK : EXIT_TROUBLE;
    else if (optind != argc)
        otter_cli_usage_error("pack", "unexpected argument \"%s\"", argv[optind]);
    else if (!a.wo.product || !a.wo.version || a.wo.security_version < 0 || a.models.count == 0 ||
             a.specs.count == 0 || !a.out)
        otter_cli_usage_error("pack", "--product, --compatible, --version, --security-version, "
                                      "--image and -o are required");
    else {
        a.wo.notes = &a.notes;
        code = pack_write(&a);
    }
    otter_manifest_notes_clear(&a.notes);
    for (size_t i = 0; i < a.specs.count; i++)
        free(a.specs.copies[i]);
    return code;
}
