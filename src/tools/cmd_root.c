/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_file.h"
#include "otter_rootchain.h"
#include "otter_trust.h"
#include "otter_keysrc.h"
#include "otter_fmt.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int root_new(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pubkey", required_argument, NULL, 'p'},  {"threshold", required_argument, NULL, 't'},
        {"version", required_argument, NULL, 'V'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    otter_cli_list pubs = {0};
    long long threshold = 1, version = 1;
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":p:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (otter_cli_list_add(&pubs, "root new", "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 't':
            threshold = otter_cli_parse_int(optarg, 1, OTTER_TRUST_KEYS_MAX);
            if (threshold < 0)
                return otter_cli_usage_error("root new", "--threshold: \"%s\" is not 1..%d", optarg,
                                             OTTER_TRUST_KEYS_MAX);
            break;
        case 'V':
            version = otter_cli_parse_int(optarg, 1, INT32_MAX);
            if (version < 0)
                return otter_cli_usage_error("root new", "--version: \"%s\" is not valid", optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_root, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("root new", c, argv);
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
    int ret =
        otter_trust_from_pubkey_files(pubs.items, pubs.count, (unsigned)threshold, &trust, &err);
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

/* Reads a root and its signature list (an absent list is an empty one). */
static int read_signed_root(const char *path, const char *sig_path, char **bytes, size_t *len,
                            otter_sig_list **sigs, otter_err *err)
{
    int ret = otter_file_read_all(path, OTTER_TRUST_FILE_MAX, bytes, len, err);
    if (ret)
        return ret;
    char *sig_text = NULL;
    size_t sig_len = 0;
    if (access(sig_path, F_OK) != 0) {
        *sigs = otter_sig_list_new();
        return *sigs ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    ret = otter_file_read_all(sig_path, OTTER_SIG_FILE_MAX, &sig_text, &sig_len, err);
    if (!ret)
        ret = otter_sig_list_parse(sig_text, sig_len, sig_path, sigs, err);
    free(sig_text);
    return ret;
}

/* Adds each key's signature over the root's bytes to sigs (keys from files or tokens). */
static int sign_with_keys(const otter_keysrc *src, const otter_cli_list *keys, otter_sig_list *sigs,
                          const char *bytes, size_t len, otter_err *err)
{
    int ret = 0;
    for (size_t i = 0; !ret && i < keys->count; i++) {
        otter_key *key = NULL;
        ret = otter_keysrc_load(src, keys->items[i], &key, err);
        if (!ret)
            ret = otter_sig_list_sign(sigs, key, bytes, len, err);
        otter_key_free(key);
    }
    return ret;
}

static int root_sign_or_verify(int argc, char **argv, int sign)
{
    const char *cmd = sign ? "root sign" : "root verify";
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"sig", required_argument, NULL, 's'},
        {"trust", required_argument, NULL, 'r'},
        {"pin-file", required_argument, NULL, OTTER_KEYSRC_OPT_PIN_FILE},
        {"passphrase-file", required_argument, NULL, OTTER_KEYSRC_OPT_PASS_FILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_cli_list keys = {0};
    otter_keysrc src = {0};
    const char *sig_opt = NULL, *current = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":k:s:r:h", opts, NULL)) != -1) {
        if (otter_keysrc_option(&src, c, optarg))
            continue;
        switch (c) {
        case 'k':
            if (otter_cli_list_add(&keys, cmd, "keys", optarg) < 0)
                return EXIT_TROUBLE;
            break;
        case 's':
            sig_opt = optarg;
            break;
        case 'r':
            current = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_root, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind + 1 != argc)
        return otter_cli_usage_error(cmd, "expected exactly one root.json");
    if (sign ? keys.count == 0 || current : !current || keys.count)
        return otter_cli_usage_error(cmd, sign ? "--key is required" : "--trust is required");
    const char *path = argv[optind];
    char sig_path[4096];
    otter_err err;
    if (otter_fmt(sig_path, sizeof sig_path, &err, "signature file name", "%s%s",
                  sig_opt ? sig_opt : path, sig_opt ? "" : ".sig") < 0)
        return otter_cli_fail(&err);
    char *bytes = NULL, *out = NULL;
    size_t len = 0;
    otter_sig_list *sigs = NULL;
    otter_trust *parsed = NULL, *old = NULL;
    int ret = read_signed_root(path, sig_path, &bytes, &len, &sigs, &err);
    if (!ret && sign) {
        ret = otter_trust_parse(bytes, len, path, &parsed, &err);
        if (!ret)
            ret = sign_with_keys(&src, &keys, sigs, bytes, len, &err);
        if (!ret && !(out = otter_sig_list_serialize_new(sigs)))
            ret = otter_err_set(&err, OTTER_ENOMEM, "out of memory");
        if (!ret)
            ret = otter_file_write_atomic(sig_path, out, strlen(out), 0644, &err);
        if (!ret)
            printf("%s: %zu signature%s\n", sig_path, sigs->count, sigs->count == 1 ? "" : "s");
    } else if (!ret) {
        ret = otter_trust_load_file(current, &old, &err);
        if (!ret)
            ret = otter_trust_rotate(old, bytes, len, sigs, &parsed, &err);
        if (ret)
            otter_err_prefix(&err, "%s", path);
        else
            printf("%s: OK: version %lld may replace %s (version %lld)\n", path,
                   (long long)otter_trust_version(parsed), current,
                   (long long)otter_trust_version(old));
    }
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    free(bytes);
    free(out);
    otter_sig_list_free(sigs);
    otter_trust_free(parsed);
    otter_trust_free(old);
    return code;
}

/* Root i of a chain: its own threshold for the first, the TUF rule from its predecessor after. */
static int chain_link(otter_rootchain *chain, size_t i, otter_err *err)
{
    const otter_rootchain_entry *e = &chain->entries[i];
    otter_trust *prev = NULL, *next = NULL;
    int ret;
    if (i == 0) {
        ret = otter_trust_parse(e->root, e->root_len, "root", &next, err);
        if (!ret)
            ret = otter_trust_verify(next, e->root, e->root_len, e->sigs, NULL, err);
    } else {
        const otter_rootchain_entry *p = &chain->entries[i - 1];
        ret = otter_trust_parse(p->root, p->root_len, "root", &prev, err);
        if (!ret)
            ret = otter_trust_rotate(prev, e->root, e->root_len, e->sigs, &next, err);
    }
    otter_trust_free(prev);
    otter_trust_free(next);
    return ret;
}

/* otter root chain R1.json R2.json ... -o roots.json: what the server and SD cards carry. */
static int root_chain(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            fputs(otter_help_otter_root, stdout);
            return EXIT_OK;
        } else
            return otter_cli_bad_option("root chain", c, argv);
    }
    if (!out || optind == argc)
        return otter_cli_usage_error("root chain", "expected ROOT.json ... and -o");
    otter_err err;
    otter_rootchain *chain = otter_rootchain_new();
    char *json = NULL;
    int ret = chain ? 0 : otter_err_set(&err, OTTER_ENOMEM, "out of memory");
    for (int i = optind; !ret && i < argc; i++) {
        char sig_path[4096], *bytes = NULL, *sig_text = NULL;
        size_t len = 0, sig_len = 0;
        ret = otter_fmt(sig_path, sizeof sig_path, &err, "signature file name", "%s.sig", argv[i]);
        if (!ret)
            ret = otter_file_read_all(argv[i], OTTER_TRUST_FILE_MAX, &bytes, &len, &err);
        if (!ret)
            ret = otter_file_read_all(sig_path, OTTER_SIG_FILE_MAX, &sig_text, &sig_len, &err);
        if (!ret)
            ret = otter_rootchain_append(chain, bytes, len, sig_text, sig_len, &err);
        if (!ret)
            ret = chain_link(chain, chain->count - 1, &err);
        if (ret)
            otter_err_prefix(&err, "%s", argv[i]);
        free(bytes);
        free(sig_text);
    }
    if (!ret && !(json = otter_rootchain_serialize_new(chain)))
        ret = otter_err_set(&err, OTTER_ENOMEM, "out of memory");
    if (!ret)
        ret = otter_file_write_atomic(out, json, strlen(json), 0644, &err);
    if (!ret)
        printf("%s: %zu root%s, versions %lld..%lld\n", out, chain->count,
               chain->count == 1 ? "" : "s", (long long)chain->entries[0].version,
               (long long)chain->entries[chain->count - 1].version);
    free(json);
    otter_rootchain_free(chain);
    return ret ? otter_cli_fail(&err) : EXIT_OK;
}

int otter_cmd_root(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "chain") == 0)
        return root_chain(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "new") == 0)
        return root_new(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sign") == 0)
        return root_sign_or_verify(argc - 1, argv + 1, 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return root_sign_or_verify(argc - 1, argv + 1, 0);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(otter_help_otter_root, stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && argv[1][0] == '-')
        return otter_cli_usage_error("root", "unknown option \"%s\"", argv[1]);
    if (argc >= 2)
        return otter_cli_usage_error("root", "unknown command \"%s\" (new, sign, verify or chain)",
                                     argv[1]);
    return otter_cli_usage_error("root", "expected a command: new, sign, verify or chain");
}
