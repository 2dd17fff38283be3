/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest_crypt.h"
#include "otter_encode.h"
#include "otter_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A base64 field decoded into exactly (min..max) bytes of out. */
static int get_b64(const json_t *obj, const char *key, const char *where, size_t min, size_t max,
                   uint8_t *out, size_t *out_len, otter_err *err)
{
    const char *s = NULL;
    uint8_t *raw = NULL;
    size_t n = 0;
    int ret = otter_json_get_string(obj, key, 0, (max + 2) / 3 * 4, where, &s, err);
    if (!ret && otter_base64_decode_new(s, max, &raw, &n, err) != 0)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s.%s: not base64 of at most %zu bytes", where,
                            key, max);
    if (!ret && (n < min || n > max))
        ret = min == max ? otter_err_set(err, OTTER_EFORMAT, "%s.%s: %zu bytes, expected %zu",
                                         where, key, n, min)
                         : otter_err_set(err, OTTER_EFORMAT, "%s.%s: %zu bytes, expected %zu..%zu",
                                         where, key, n, min, max);
    if (!ret) {
        memcpy(out, raw, n);
        *out_len = n;
    }
    free(raw);
    return ret;
}

static int parse_recipient(const json_t *obj, const char *where, otter_crypt_recipient *rc,
                           otter_err *err)
{
    static const char *const x_keys[] = {"keyid", "alg", "epk", "wrapped_key", NULL};
    static const char *const rsa_keys[] = {"keyid", "alg", "wrapped_key", NULL};
    const char *keyid = NULL, *alg = NULL;
    if (!json_is_object(obj))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_get_string(obj, "alg", 0, 64, where, &alg, err);
    if (!ret && !(rc->alg = otter_wrap_alg_from_name(alg)))
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "%s.alg: \"%.64s\" is not x25519-hkdf-sha256-a256gcm or "
                            "rsa-oaep-sha256",
                            where, alg);
    int x = rc->alg == OTTER_WRAP_X25519;
    if (!ret)
        ret = otter_json_known_keys(obj, x ? x_keys : rsa_keys, where, err);
    if (!ret)
        ret = otter_json_get_string(obj, "keyid", 0, OTTER_SHA256_HEX_LEN, where, &keyid, err);
    if (!ret && !otter_is_lower_hex(keyid, OTTER_SHA256_HEX_LEN))
        ret =
            otter_err_set(err, OTTER_EFORMAT, "%s.keyid: expected 64 lower-case hex digits", where);
    if (ret)
        return ret;
    snprintf(rc->keyid, sizeof rc->keyid, "%s", keyid);
    size_t n = 0;
    if (x && (ret = get_b64(obj, "epk", where, OTTER_CRYPT_EPK_LEN, OTTER_CRYPT_EPK_LEN, rc->epk,
                            &n, err)) != 0)
        return ret;
    return get_b64(obj, "wrapped_key", where,
                   x ? OTTER_CRYPT_X25519_WRAPPED_LEN : OTTER_CRYPT_RSA_WRAPPED_MIN,
                   x ? OTTER_CRYPT_X25519_WRAPPED_LEN : OTTER_CRYPT_RSA_WRAPPED_MAX, rc->wrapped,
                   &rc->wrapped_len, err);
}

static int parse_object(const json_t *enc, const char *at, otter_manifest_encryption *e,
                        otter_err *err)
{
    static const char *const keys[] = {"alg", "nonce_prefix", "recipients", NULL};
    const char *alg = NULL, *prefix = NULL;
    json_t *arr = NULL;
    if (!json_is_object(enc))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", at);
    int ret = otter_json_known_keys(enc, keys, at, err);
    if (!ret)
        ret = otter_json_get_string(enc, "alg", 0, 64, at, &alg, err);
    if (!ret && strcmp(alg, "aes-256-gcm") != 0)
        ret =
            otter_err_set(err, OTTER_EFORMAT, "%s.alg: \"%.64s\" is not \"aes-256-gcm\"", at, alg);
    if (!ret)
        ret = otter_json_get_string(enc, "nonce_prefix", 0, 2 * OTTER_CRYPT_PREFIX_LEN, at, &prefix,
                                    err);
    if (!ret && !otter_is_lower_hex(prefix, 2 * OTTER_CRYPT_PREFIX_LEN))
        ret =
            otter_err_set(err, OTTER_EFORMAT, "%s.nonce_prefix: expected %d lower-case hex digits",
                          at, 2 * OTTER_CRYPT_PREFIX_LEN);
    if (!ret)
        ret = otter_hex_decode(prefix, e->nonce_prefix, OTTER_CRYPT_PREFIX_LEN, err);
    if (!ret)
        ret = otter_json_get_array(enc, "recipients", 1, OTTER_CRYPT_RECIPIENTS_MAX, at, &arr, err);
    size_t i;
    json_t *item;
    json_array_foreach(ret ? NULL : arr, i, item)
    {
        char where[360];
        snprintf(where, sizeof where, "%s.recipients[%zu]", at, i);
        if ((ret = parse_recipient(item, where, &e->recipients[i], err)) != 0)
            return ret;
        e->recipient_count = i + 1;
    }
    return ret;
}

int otter_manifest_crypt_parse(const json_t *obj, const char *where, otter_manifest_image *img,
                               otter_err *err)
{
    const json_t *enc = json_object_get(obj, "encryption");
    free(img->encryption);
    img->encryption = NULL;
    if (!enc)
        return 0;
    char at[320];
    snprintf(at, sizeof at, "%s.encryption", where);
    img->encryption = calloc(1, sizeof *img->encryption);
    if (!img->encryption)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    return parse_object(enc, at, img->encryption, err);
}

int otter_manifest_crypt_validate(const otter_manifest *m, size_t index, otter_err *err)
{
    const otter_manifest_image *img = &m->images[index];
    const otter_manifest_encryption *e = img->encryption;
    if (!e)
        return 0;
    if (m->format != 2)
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].encryption: needs format 2", index);
    if (img->delta_base_sha256[0])
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].encryption: a delta image cannot be encrypted (not "
                             "supported yet)",
                             index);
    if (e->recipient_count < 1 || e->recipient_count > OTTER_CRYPT_RECIPIENTS_MAX)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].encryption.recipients: %zu, allowed 1..%d", index,
                             e->recipient_count, OTTER_CRYPT_RECIPIENTS_MAX);
    for (size_t i = 0; i < e->recipient_count; i++) {
        const otter_crypt_recipient *rc = &e->recipients[i];
        int x = rc->alg == OTTER_WRAP_X25519;
        if (!x && rc->alg != OTTER_WRAP_RSA_OAEP)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].encryption.recipients[%zu].alg: unknown", index, i);
        if (!otter_is_lower_hex(rc->keyid, OTTER_SHA256_HEX_LEN))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].encryption.recipients[%zu].keyid: expected 64 "
                                 "lower-case hex digits",
                                 index, i);
        if (x ? rc->wrapped_len != OTTER_CRYPT_X25519_WRAPPED_LEN
              : rc->wrapped_len < OTTER_CRYPT_RSA_WRAPPED_MIN ||
                    rc->wrapped_len > OTTER_CRYPT_RSA_WRAPPED_MAX)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].encryption.recipients[%zu].wrapped_key: %zu bytes "
                                 "is wrong for %s",
                                 index, i, rc->wrapped_len, otter_wrap_alg_name(rc->alg));
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->recipients[j].keyid, rc->keyid) == 0)
                return otter_err_set(err, OTTER_EFORMAT,
                                     "images[%zu].encryption.recipients[%zu].keyid: listed twice",
                                     index, i);
    }
    return 0;
}

static json_t *b64_json(const uint8_t *raw, size_t n)
{
    char *s = otter_base64_encode_new(raw, n);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

int otter_manifest_crypt_to_json(const otter_manifest_image *img, json_t *obj)
{
    const otter_manifest_encryption *e = img->encryption;
    if (!e)
        return 0;
    char prefix[2 * OTTER_CRYPT_PREFIX_LEN + 1];
    otter_hex_encode(e->nonce_prefix, OTTER_CRYPT_PREFIX_LEN, prefix);
    json_t *arr = json_array();
    json_t *enc = json_pack("{s:s, s:s, s:o}", "alg", "aes-256-gcm", "nonce_prefix", prefix,
                            "recipients", arr);
    if (!enc || json_object_set_new(obj, "encryption", enc) < 0)
        return -1;
    for (size_t i = 0; i < e->recipient_count; i++) {
        const otter_crypt_recipient *rc = &e->recipients[i];
        json_t *r =
            json_pack("{s:s, s:s}", "keyid", rc->keyid, "alg", otter_wrap_alg_name(rc->alg));
        if (r && rc->alg == OTTER_WRAP_X25519 &&
            json_object_set_new(r, "epk", b64_json(rc->epk, sizeof rc->epk)) < 0) {
            json_decref(r);
            r = NULL;
        }
        if (!r ||
            json_object_set_new(r, "wrapped_key", b64_json(rc->wrapped, rc->wrapped_len)) < 0 ||
            json_array_append_new(arr, r) < 0)
            return -1;
    }
    return 0;
}

uint32_t otter_manifest_crypt_overhead(const otter_manifest_image *img)
{
    return img->encryption ? OTTER_CRYPT_TAG_LEN : 0;
}
