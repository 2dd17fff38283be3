/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_sig.h"
#include "otter_encode.h"
#include "otter_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

otter_sig_list *otter_sig_list_new(void)
{
    return calloc(1, sizeof(otter_sig_list));
}

void otter_sig_list_free(otter_sig_list *list)
{
    free(list);
}

static int parse_entry(json_t *item, const char *where, otter_sig_entry *e, otter_err *err)
{
    static const char *const known[] = {"keyid", "alg", "sig", NULL};
    if (!json_is_object(item))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(item, known, where, err);
    const char *keyid = NULL, *alg = NULL, *sig = NULL;
    if (!ret)
        ret = otter_json_get_string(item, "keyid", 0, OTTER_KEY_ID_LEN, where, &keyid, err);
    if (!ret)
        ret = otter_json_get_string(item, "alg", 0, sizeof e->alg - 1, where, &alg, err);
    if (!ret)
        ret = otter_json_get_string(item, "sig", 0, 4 * OTTER_SIG_MAX / 3 + 4, where, &sig, err);
    if (ret)
        return ret;
    if (!otter_is_lower_hex(keyid, OTTER_KEY_ID_LEN))
        return otter_err_set(err, OTTER_EFORMAT, "%s.keyid: expected 64 lower-case hex digits",
                             where);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ret = otter_base64_decode_new(sig, OTTER_SIG_MAX, &raw, &raw_len, err);
    if (ret)
        return otter_err_prefix(err, "%s.sig", where);
    memcpy(e->sig, raw, raw_len);
    e->sig_len = raw_len;
    free(raw);
    strcpy(e->keyid, keyid);
    strcpy(e->alg, alg);
    return 0;
}

int otter_sig_list_parse(const char *buf, size_t len, const char *where, otter_sig_list **out,
                         otter_err *err)
{
    json_t *root = NULL;
    otter_sig_list *list = NULL;
    int ret = otter_json_load(buf, len, OTTER_SIG_FILE_MAX, where, &root, err);
    if (ret)
        return ret;
    if (!json_is_array(root)) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON list of signatures", where);
        goto out;
    }
    if (json_array_size(root) > OTTER_SIG_ENTRIES_MAX) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: %zu signatures (limit %d)", where,
                            json_array_size(root), OTTER_SIG_ENTRIES_MAX);
        goto out;
    }
    list = otter_sig_list_new();
    if (!list) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(root, i, item)
    {
        char path[128];
        snprintf(path, sizeof path, "%s: [%zu]", where, i);
        ret = parse_entry(item, path, &list->entries[i], err);
        if (ret)
            goto out;
        list->count++;
    }
    *out = list;
    list = NULL;
out:
    otter_sig_list_free(list);
    json_decref(root);
    return ret;
}

int otter_sig_list_sign(otter_sig_list *list, const otter_key *key, const void *data, size_t len,
                        otter_err *err)
{
    size_t slot = list->count;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].keyid, otter_key_id(key)) == 0)
            slot = i;
    if (slot == OTTER_SIG_ENTRIES_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "too many signatures (limit %d)",
                             OTTER_SIG_ENTRIES_MAX);
    otter_sig_entry *e = &list->entries[slot];
    int ret = otter_key_sign(key, data, len, e->sig, &e->sig_len, err);
    if (ret)
        return ret;
    strcpy(e->keyid, otter_key_id(key));
    snprintf(e->alg, sizeof e->alg, "%s", otter_key_alg(key));
    if (slot == list->count)
        list->count++;
    return 0;
}

char *otter_sig_list_serialize_new(const otter_sig_list *list)
{
    json_t *root = json_array();
    char *out = NULL;
    if (!root)
        return NULL;
    for (size_t i = 0; i < list->count; i++) {
        const otter_sig_entry *e = &list->entries[i];
        char *b64 = otter_base64_encode_new(e->sig, e->sig_len);
        json_t *item =
            b64 ? json_pack("{s:s, s:s, s:s}", "keyid", e->keyid, "alg", e->alg, "sig", b64) : NULL;
        free(b64);
        if (!item || json_array_append_new(root, item) < 0)
            goto out;
    }
    out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
    json_decref(root);
    return out;
}
