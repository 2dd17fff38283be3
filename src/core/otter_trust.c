/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_trust.h"
#include "otter_file.h"
#include "otter_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct otter_trust {
    unsigned threshold;
    int64_t version;
    size_t count;
    otter_key *keys[OTTER_TRUST_KEYS_MAX];
};

int otter_trust_new(unsigned threshold, otter_trust **out, otter_err *err)
{
    if (threshold < 1 || threshold > OTTER_TRUST_KEYS_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "threshold %u out of range 1..%d", threshold,
                             OTTER_TRUST_KEYS_MAX);
    otter_trust *t = calloc(1, sizeof *t);
    if (!t)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    t->threshold = threshold;
    t->version = 1;
    *out = t;
    return 0;
}

static const otter_key *find_key(const otter_trust *t, const char *keyid)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(otter_key_id(t->keys[i]), keyid) == 0)
            return t->keys[i];
    return NULL;
}

int otter_trust_add_key(otter_trust *trust, otter_key *key, otter_err *err)
{
    if (find_key(trust, otter_key_id(key))) {
        otter_err_set(err, OTTER_EFORMAT, "key %.16s... listed twice", otter_key_id(key));
        otter_key_free(key);
        return OTTER_EFORMAT;
    }
    if (trust->count == OTTER_TRUST_KEYS_MAX) {
        otter_key_free(key);
        return otter_err_set(err, OTTER_EFORMAT, "more than %d keys", OTTER_TRUST_KEYS_MAX);
    }
    trust->keys[trust->count++] = key;
    return 0;
}

int otter_trust_from_pubkey_files(const char *const *paths, size_t n, unsigned threshold,
                                  otter_trust **out, otter_err *err)
{
    if (threshold > n)
        return otter_err_set(err, OTTER_EUSAGE, "threshold %u exceeds the %zu keys", threshold, n);
    otter_trust *t = NULL;
    int ret = otter_trust_new(threshold, &t, err);
    for (size_t i = 0; !ret && i < n; i++) {
        otter_key *key = NULL;
        ret = otter_key_load_public_file(paths[i], &key, err);
        if (!ret)
            ret = otter_trust_add_key(t, key, err);
    }
    if (ret) {
        otter_trust_free(t);
        return ret;
    }
    *out = t;
    return 0;
}

static int parse_key(json_t *item, const char *where, otter_trust *t, otter_err *err)
{
    static const char *const known[] = {"keyid", "alg", "public_key", NULL};
    const char *keyid = NULL, *alg = NULL, *pem = NULL;
    if (!json_is_object(item))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(item, known, where, err);
    if (!ret)
        ret = otter_json_get_string(item, "keyid", 0, OTTER_KEY_ID_LEN, where, &keyid, err);
    if (!ret)
        ret = otter_json_get_string(item, "alg", 0, 32, where, &alg, err);
    if (!ret)
        ret = otter_json_get_string(item, "public_key", 0, 16384, where, &pem, err);
    if (ret)
        return ret;
    otter_key *key = NULL;
    char what[160];
    snprintf(what, sizeof what, "%s.public_key", where);
    ret = otter_key_load_public_pem(pem, strlen(pem), what, &key, err);
    if (ret)
        return ret;
    if (strcmp(otter_key_id(key), keyid) != 0) {
        ret =
            otter_err_set(err, OTTER_EFORMAT, "%s.keyid: %.16s... does not match its key %.16s...",
                          where, keyid, otter_key_id(key));
        otter_key_free(key);
        return ret;
    }
    if (strcmp(otter_key_alg(key), alg) != 0) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s.alg: \"%s\" does not match its key (%s)", where,
                            alg, otter_key_alg(key));
        otter_key_free(key);
        return ret;
    }
    ret = otter_trust_add_key(t, key, err);
    return ret ? otter_err_prefix(err, "%s", where) : 0;
}

int otter_trust_parse(const char *buf, size_t len, const char *where, otter_trust **out,
                      otter_err *err)
{
    static const char *const known[] = {"type", "version", "threshold", "keys", NULL};
    json_t *root = NULL, *keys = NULL;
    otter_trust *t = NULL;
    const char *type = NULL;
    int64_t version = 0, threshold = 0;
    char top[300];
    snprintf(top, sizeof top, "%s:", where);
    int ret = otter_json_load(buf, len, OTTER_TRUST_FILE_MAX, where, &root, err);
    if (ret)
        return ret;
    if (!json_is_object(root)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON object", where);
        goto out;
    }
    ret = otter_json_known_keys(root, known, top, err);
    if (!ret)
        ret = otter_json_get_string(root, "type", 0, 32, top, &type, err);
    if (!ret && strcmp(type, "otter-root") != 0)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: type: expected \"otter-root\"", where);
    if (!ret)
        ret = otter_json_get_int(root, "version", 0, 1, INT32_MAX, top, &version, err);
    if (!ret)
        ret =
            otter_json_get_int(root, "threshold", 0, 1, OTTER_TRUST_KEYS_MAX, top, &threshold, err);
    if (!ret)
        ret = otter_json_get_array(root, "keys", 1, OTTER_TRUST_KEYS_MAX, top, &keys, err);
    if (!ret)
        ret = otter_trust_new((unsigned)threshold, &t, err);
    if (ret)
        goto out;
    t->version = version;
    size_t i;
    json_t *item;
    json_array_foreach(keys, i, item)
    {
        char path[128];
        snprintf(path, sizeof path, "%s: keys[%zu]", where, i);
        ret = parse_key(item, path, t, err);
        if (ret)
            goto out;
    }
    if (t->threshold > t->count) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: threshold %u exceeds the %zu keys", where,
                            t->threshold, t->count);
        goto out;
    }
    *out = t;
    t = NULL;
out:
    otter_trust_free(t);
    json_decref(root);
    return ret;
}

int otter_trust_load_file(const char *path, otter_trust **out, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, OTTER_TRUST_FILE_MAX, &buf, &len, err);
    if (ret)
        return ret;
    ret = otter_trust_parse(buf, len, path, out, err);
    free(buf);
    return ret;
}

char *otter_trust_serialize_new(const otter_trust *trust)
{
    if (trust->count == 0 || trust->threshold > trust->count)
        return NULL;
    json_t *keys = json_array();
    json_t *root = json_pack("{s:s, s:I, s:I, s:o}", "type", "otter-root", "version",
                             (json_int_t)trust->version, "threshold", (json_int_t)trust->threshold,
                             "keys", keys);
    char *out = NULL;
    if (!root)
        return NULL;
    for (size_t i = 0; i < trust->count; i++) {
        char *pem = otter_key_public_pem_new(trust->keys[i]);
        json_t *item = pem ? json_pack("{s:s, s:s, s:s}", "keyid", otter_key_id(trust->keys[i]),
                                       "alg", otter_key_alg(trust->keys[i]), "public_key", pem)
                           : NULL;
        free(pem);
        if (!item || json_array_append_new(keys, item) < 0)
            goto out;
    }
    out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
    json_decref(root);
    return out;
}

int otter_trust_set_version(otter_trust *trust, int64_t version, otter_err *err)
{
    if (version < 1 || version > INT32_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "version %lld out of range 1..%d",
                             (long long)version, INT32_MAX);
    trust->version = version;
    return 0;
}

unsigned otter_trust_threshold(const otter_trust *trust)
{
    return trust->threshold;
}

int64_t otter_trust_version(const otter_trust *trust)
{
    return trust->version;
}

size_t otter_trust_key_count(const otter_trust *trust)
{
    return trust->count;
}

const otter_key *otter_trust_key(const otter_trust *trust, size_t i)
{
    return i < trust->count ? trust->keys[i] : NULL;
}

int otter_trust_verify(const otter_trust *trust, const void *data, size_t len,
                       const otter_sig_list *sigs, otter_trust_result *res, otter_err *err)
{
    otter_trust_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    /* The first reason a signature did not count explains a refusal best. */
    otter_err why;
    otter_err_clear(&why);
    for (size_t i = 0; i < sigs->count; i++) {
        const otter_sig_entry *e = &sigs->entries[i];
        const otter_key *key = find_key(trust, e->keyid);
        int seen = 0;
        for (size_t j = 0; j < res->valid; j++)
            if (strcmp(res->signers[j], e->keyid) == 0)
                seen = 1;
        if (seen)
            continue;
        if (!key) {
            if (!why.code)
                otter_err_set(&why, OTTER_ESIG, "key %.16s... is not in the trust root", e->keyid);
            continue;
        }
        if (strcmp(e->alg, otter_key_alg(key)) != 0) {
            if (!why.code)
                otter_err_set(&why, OTTER_ESIG,
                              "signature by key %.16s... claims alg \"%s\", key is %s", e->keyid,
                              e->alg, otter_key_alg(key));
            continue;
        }
        otter_err verr;
        if (otter_key_verify(key, data, len, e->sig, e->sig_len, &verr) != 0) {
            if (!why.code)
                otter_err_set(&why, OTTER_ESIG, "signature by key %.16s... does not verify",
                              e->keyid);
            continue;
        }
        strcpy(res->signers[res->valid++], e->keyid);
    }
    if (res->valid >= trust->threshold)
        return 0;
    if (sigs->count == 0)
        return otter_err_set(err, OTTER_ESIG, "not signed (%u signature%s required)",
                             trust->threshold, trust->threshold == 1 ? "" : "s");
    return otter_err_set(err, OTTER_ESIG, "%zu of %u required signatures valid%s%s", res->valid,
                         trust->threshold, why.code ? ": " : "", why.msg);
}

int otter_trust_rotate(const otter_trust *old, const char *new_bytes, size_t len,
                       const otter_sig_list *sigs, otter_trust **out, otter_err *err)
{
    otter_trust *next = NULL;
    int ret = otter_trust_parse(new_bytes, len, "new root", &next, err);
    if (ret)
        return ret;
    if (next->version != old->version + 1) {
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "new root has version %lld, expected %lld (one more than the current)",
                            (long long)next->version, (long long)old->version + 1);
        goto out;
    }
    ret = otter_trust_verify(old, new_bytes, len, sigs, NULL, err);
    if (ret) {
        otter_err_prefix(err, "new root: signatures by the current root's keys");
        goto out;
    }
    ret = otter_trust_verify(next, new_bytes, len, sigs, NULL, err);
    if (ret) {
        otter_err_prefix(err, "new root: signatures by its own keys");
        goto out;
    }
    *out = next;
    next = NULL;
out:
    otter_trust_free(next);
    return ret;
}

void otter_trust_free(otter_trust *trust)
{
    if (!trust)
        return;
    for (size_t i = 0; i < trust->count; i++)
        otter_key_free(trust->keys[i]);
    free(trust);
}
