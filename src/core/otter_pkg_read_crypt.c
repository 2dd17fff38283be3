/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encrypted images on the read side (docs/package-format.md, "Encrypted
 * images"): the content keys are unwrapped as soon as the manifest is
 * verified (a device that is not a recipient is refused before it writes
 * anything), and each encrypted image's chunks are opened by the chunk
 * queue under its key. Without a key, only a verifier that asked for it
 * (OTTER_PKG_CIPHERTEXT) reads them, as checked ciphertext.
 */
#include "otter_pkg_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void otter_pkg_reader_set_decryption_key(otter_pkg_reader *r, const struct otter_crypt_key *key)
{
    r->crypt_key = key;
}

/* The recipients' key ids, shortened, for a refusal's message. */
static void list_recipients(const otter_manifest_encryption *e, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < e->recipient_count; i++) {
        size_t n = strlen(out);
        if (n + 24 >= size)
            break;
        snprintf(out + n, size - n, "%s%.16s", i ? ", " : "", e->recipients[i].keyid);
    }
}

int otter_pkg_crypt_unwrap_all(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest *m = r->manifest;
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        if (!img->encryption)
            continue;
        if (!r->crypt_key) {
            if (r->flags & OTTER_PKG_CIPHERTEXT)
                continue;
            char ids[512];
            list_recipients(img->encryption, ids, sizeof ids);
            return otter_pkg_rd_fail(r, err, OTTER_ESIG,
                                     "image %s is encrypted (for %s) and no decryption key is "
                                     "configured",
                                     img->name, ids);
        }
        if (!r->crypt && !(r->crypt = calloc(OTTER_IMAGES_MAX, sizeof *r->crypt)))
            return otter_pkg_rd_fail(r, err, OTTER_ENOMEM, "out of memory");
        otter_crypt_image *ci = &r->crypt[i];
        otter_err e;
        if (otter_crypt_unwrap(r->crypt_key, img->encryption, img->name, ci->key, &e) != 0)
            return otter_pkg_rd_fail(r, err, e.code, "%s", e.msg);
        memcpy(ci->nonce_prefix, img->encryption->nonce_prefix, sizeof ci->nonce_prefix);
        snprintf(ci->name, sizeof ci->name, "%s", img->name);
        ci->chunk_count = (uint32_t)img->chunk_count;
    }
    return 0;
}

int otter_pkg_crypt_start_image(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    size_t index = (size_t)(img - r->manifest->images);
    r->cipher_only = 0;
    if (!img->encryption) {
        otter_chunkq_set_crypt(r->cq, NULL, 0);
        return 0;
    }
    if (r->crypt) {
        otter_chunkq_set_crypt(r->cq, &r->crypt[index], 0);
        return 0;
    }
    if (!(r->flags & OTTER_PKG_CIPHERTEXT)) /* unwrap_all refused it already */
        return otter_pkg_rd_fail(r, err, OTTER_ESTATE, "image %s: no content key", img->name);
    r->cipher_only = 1;
    otter_chunkq_set_crypt(r->cq, NULL, 1);
    return 0;
}

void otter_pkg_crypt_free(otter_pkg_reader *r)
{
    if (!r->crypt)
        return;
    OPENSSL_cleanse(r->crypt, OTTER_IMAGES_MAX * sizeof *r->crypt);
    free(r->crypt);
    r->crypt = NULL;
}
