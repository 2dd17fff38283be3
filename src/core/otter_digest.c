/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_digest.h"
#include "otter_encode.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

struct otter_sha256 {
    EVP_MD_CTX *ctx;
};

otter_sha256 *otter_sha256_new(void)
{
    otter_sha256 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        otter_sha256_free(h);
        return NULL;
    }
    return h;
}

void otter_sha256_free(otter_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void otter_sha256_reset(otter_sha256 *h)
{
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void otter_sha256_update(otter_sha256 *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void otter_sha256_final(otter_sha256 *h, uint8_t out[OTTER_SHA256_LEN])
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, out, &n);
}

/*
 * Fetched once: with EVP_sha256() OpenSSL 3 looks the algorithm up again
 * under a global lock on every call, which showed in the server's polls
 * (each one hashes its answer for the ETag).
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void otter_sha256_buf(const void *data, size_t len, uint8_t out[OTTER_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    EVP_Digest(data, len, out, NULL, sha256_md ? sha256_md : EVP_sha256(), NULL);
}

void otter_sha256_hex(const void *data, size_t len, char out[OTTER_SHA256_HEX_LEN + 1])
{
    uint8_t md[OTTER_SHA256_LEN];
    otter_sha256_buf(data, len, md);
    otter_hex_encode(md, sizeof md, out);
}
