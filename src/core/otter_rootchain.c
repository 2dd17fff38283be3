/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_rootchain.h"
#include "otter_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

otter_rootchain *otter_rootchain_new(void)
{
    return calloc(1, sizeof(otter_rootchain));
}

void otter_rootchain_free(otter_rootchain *chain)
{
    if (!chain)
        return;
    for (size_t i = 0; i < chain->count; i++) {
        free(chain->entries[i].root);
        otter_sig_list_free(chain->entries[i].sigs);
    }
    free(chain);
}

/* Checks root bytes and their version, then takes a copy of both into the next entry. */
static int add_entry(otter_rootchain *chain, const char *root, size_t root_len,
                     otter_sig_list *sigs, int64_t want_version, const char *where, otter_err *err)
{
    otter_trust *t = NULL;
    int ret = otter_trust_parse(root, root_len, where, &t, err);
    if (ret)
        goto fail;
    int64_t v = otter_trust_version(t);
    otter_trust_free(t);
    if (want_version && v != want_version) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: version %lld, but its root says %lld", where,
                            (long long)want_version, (long long)v);
        goto fail;
    }
    if (chain->count == OTTER_ROOTCHAIN_ROOTS_MAX) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: more than %d roots", where,
                            OTTER_ROOTCHAIN_ROOTS_MAX);
        goto fail;
    }
    if (chain->count && v != chain->entries[chain->count - 1].version + 1) {
        ret =
            otter_err_set(err, OTTER_EFORMAT, "%s: version %lld follows %lld (must ascend by one)",
                          where, (long long)v, (long long)chain->entries[chain->count - 1].version);
        goto fail;
    }
    otter_rootchain_entry *e = &chain->entries[chain->count];
    e->root = malloc(root_len + 1);
    if (!e->root) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(e->root, root, root_len);
    e->root[root_len] = '\0';
    e->root_len = root_len;
    e->version = v;
    e->sigs = sigs;
    chain->count++;
    return 0;
fail:
    otter_sig_list_free(sigs);
    return ret;
}

int otter_rootchain_append(otter_rootchain *chain, const char *root, size_t root_len,
                           const char *sigs, size_t sigs_len, otter_err *err)
{
    otter_sig_list *list = NULL;
    int ret = otter_sig_list_parse(sigs, sigs_len, "root signatures", &list, err);
    return ret ? ret : add_entry(chain, root, root_len, list, 0, "root", err);
}

static int parse_item(json_t *item, const char *where, otter_rootchain *chain, otter_err *err)
{
    static const char *const known[] = {"version", "root", "signatures", NULL};
    const char *root = NULL, *sigs = NULL;
    int64_t version = 0;
    otter_sig_list *list = NULL;
    if (!json_is_object(item))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(item, known, where, err);
    if (!ret)
        ret = otter_json_get_int(item, "version", 0, 1, INT32_MAX, where, &version, err);
    if (!ret)
        ret = otter_json_get_string(item, "root", 0, OTTER_TRUST_FILE_MAX, where, &root, err);
    if (!ret)
        ret = otter_json_get_string(item, "signatures", 0, OTTER_SIG_FILE_MAX, where, &sigs, err);
    if (ret)
        return ret;
    char what[160];
    snprintf(what, sizeof what, "%s.signatures", where);
    ret = otter_sig_list_parse(sigs, strlen(sigs), what, &list, err);
    snprintf(what, sizeof what, "%s.root", where);
    return ret ? ret : add_entry(chain, root, strlen(root), list, version, what, err);
}

int otter_rootchain_parse(const char *buf, size_t len, const char *where, otter_rootchain **out,
                          otter_err *err)
{
    static const char *const known[] = {"type", "roots", NULL};
    json_t *doc = NULL, *roots = NULL;
    const char *type = NULL;
    char top[300];
    snprintf(top, sizeof top, "%s:", where);
    otter_rootchain *chain = otter_rootchain_new();
    if (!chain)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_json_load(buf, len, OTTER_ROOTCHAIN_MAX, where, &doc, err);
    if (ret)
        goto out;
    if (!json_is_object(doc)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON object", where);
        goto out;
    }
    ret = otter_json_known_keys(doc, known, top, err);
    if (!ret)
        ret = otter_json_get_string(doc, "type", 0, 32, top, &type, err);
    if (!ret && strcmp(type, "otter-root-chain") != 0)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: type: expected \"otter-root-chain\"", where);
    if (!ret)
        ret = otter_json_get_array(doc, "roots", 0, OTTER_ROOTCHAIN_ROOTS_MAX, top, &roots, err);
    size_t i;
    json_t *item;
    json_array_foreach(roots, i, item)
    {
        if (ret)
            break;
        char path[128];
        snprintf(path, sizeof path, "%s: roots[%zu]", where, i);
        ret = parse_item(item, path, chain, err);
    }
out:
    json_decref(doc);
    if (ret) {
        otter_rootchain_free(chain);
        return ret;
    }
    *out = chain;
    return 0;
}

char *otter_rootchain_serialize_new(const otter_rootchain *chain)
{
    json_t *roots = json_array();
    json_t *doc = json_pack("{s:s, s:o}", "type", "otter-root-chain", "roots", roots);
    char *out = NULL;
    if (!doc)
        return NULL;
    for (size_t i = 0; i < chain->count; i++) {
        const otter_rootchain_entry *e = &chain->entries[i];
        char *sigs = otter_sig_list_serialize_new(e->sigs);
        json_t *item = sigs ? json_pack("{s:I, s:s%, s:s}", "version", (json_int_t)e->version,
                                        "root", e->root, e->root_len, "signatures", sigs)
                            : NULL;
        free(sigs);
        if (!item || json_array_append_new(roots, item) < 0)
            goto out;
    }
    out = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
out:
    json_decref(doc);
    return out;
}

/* Same keys and threshold: the canonical texts match (key order included). */
static int same_root(const otter_trust *a, const otter_trust *b)
{
    char *ta = otter_trust_serialize_new(a), *tb = otter_trust_serialize_new(b);
    int same = ta && tb && strcmp(ta, tb) == 0;
    free(ta);
    free(tb);
    return same;
}

static int check_same(const otter_trust *current, const otter_rootchain_entry *e, otter_err *err)
{
    otter_trust *t = NULL;
    int ret = otter_trust_parse(e->root, e->root_len, "root", &t, err);
    if (!ret && !same_root(current, t))
        ret = otter_err_set(err, OTTER_ESIG,
                            "root version %lld offered differs from the trusted root of that "
                            "version: refused",
                            (long long)e->version);
    otter_trust_free(t);
    return ret;
}

int otter_rootchain_walk(const otter_trust *current, const otter_rootchain *chain,
                         otter_trust **out, size_t *out_index, otter_err *err)
{
    *out = NULL;
    *out_index = 0;
    int64_t have = otter_trust_version(current);
    if (chain->count && chain->entries[chain->count - 1].version < have)
        return otter_err_set(err, OTTER_ESIG,
                             "newest root offered is version %lld, this device trusts version "
                             "%lld: stale root refused",
                             (long long)chain->entries[chain->count - 1].version, (long long)have);
    const otter_trust *from = current;
    int ret = 0;
    for (size_t i = 0; i < chain->count && !ret; i++) {
        const otter_rootchain_entry *e = &chain->entries[i];
        if (e->version < have)
            continue;
        if (e->version == have) {
            ret = check_same(current, e, err);
            continue;
        }
        otter_trust *next = NULL;
        ret = otter_trust_rotate(from, e->root, e->root_len, e->sigs, &next, err);
        if (ret) {
            otter_err_prefix(err, "root version %lld", (long long)e->version);
            break;
        }
        otter_trust_free(*out);
        *out = next;
        *out_index = i;
        from = next;
    }
    return ret;
}
