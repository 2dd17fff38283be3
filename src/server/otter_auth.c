/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_auth.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int otter_auth_password_policy(const char *password, otter_err *err)
{
    size_t n = strlen(password);
    if (n < OTTER_AUTH_PASSWORD_MIN)
        return otter_err_set(err, OTTER_EFORMAT, "password shorter than %d characters",
                             OTTER_AUTH_PASSWORD_MIN);
    if (n > OTTER_AUTH_PASSWORD_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "password longer than %d bytes",
                             OTTER_AUTH_PASSWORD_MAX);
    return 0;
}

int otter_auth_password_hash(const char *password, char **hash, otter_err *err)
{
    int ret;
    char *salt = NULL;
    struct crypt_data *cd = NULL;

    *hash = NULL;
    if ((ret = otter_auth_password_policy(password, err)) < 0)
        goto out;
    ret = OTTER_EIO;
    /* NULL rbytes: libxcrypt draws the salt from the OS random source. */
    salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
    if (!salt) {
        otter_err_sys(err, OTTER_EIO, errno, "crypt_gensalt_ra(yescrypt)");
        goto out;
    }
    /* crypt_data is ~32 KiB: on the heap, not on a thread-pool stack. */
    cd = calloc(1, sizeof *cd);
    if (!cd) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    if (!crypt_rn(password, salt, cd, sizeof *cd) || cd->output[0] == '*') {
        otter_err_set(err, OTTER_EIO, "yescrypt hashing failed");
        goto out;
    }
    *hash = strdup(cd->output);
    if (!*hash) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    ret = 0;
out:
    free(salt);
    if (cd)
        OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return ret;
}

int otter_auth_password_verify(const char *password, const char *stored, int *match, otter_err *err)
{
    *match = 0;
    int usable = stored && strncmp(stored, "$y$", 3) == 0 && strlen(stored) < CRYPT_OUTPUT_SIZE;
    char *decoy = NULL;
    if (strlen(password) > OTTER_AUTH_PASSWORD_MAX) {
        usable = 0;
        password = "";
    }
    /* Unknown user or odd hash: hash anyway with a fresh salt so timing tells nothing. */
    if (!usable && !(decoy = crypt_gensalt_ra("$y$", 0, NULL, 0)))
        return otter_err_sys(err, OTTER_EIO, errno, "crypt_gensalt_ra(yescrypt)");
    const char *setting = usable ? stored : decoy;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd) {
        free(decoy);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    int ok = crypt_rn(password, setting, cd, sizeof *cd) != NULL && cd->output[0] != '*';
    size_t n = strlen(setting);
    if (ok && usable && strlen(cd->output) == n && CRYPTO_memcmp(cd->output, setting, n) == 0)
        *match = 1;
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    free(decoy);
    return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * SHA-256 fetched from the provider once: EVP_sha256() makes every digest
 * look the algorithm up again under OpenSSL 3's global lock, and each
 * device poll hashes its token.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int otter_auth_token_digest(const char *token, unsigned char md[32])
{
    unsigned int mdlen = 0;
    pthread_once(&sha256_once, sha256_fetch);
    if (!EVP_Digest(token, strlen(token), md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL) ||
        mdlen != 32)
        return OTTER_EIO;
    return 0;
}

void otter_auth_token_hash(const char *token, char sha[OTTER_AUTH_SHA256_HEX])
{
    unsigned char md[32];
    if (otter_auth_token_digest(token, md) < 0) {
        /* Cannot happen with a working libcrypto; an unmatchable value keeps us safe. */
        memset(sha, 'x', OTTER_AUTH_SHA256_HEX - 1);
        sha[OTTER_AUTH_SHA256_HEX - 1] = '\0';
        return;
    }
    to_hex(md, 32, sha);
}

int otter_auth_token_new(const char *prefix, char *token, size_t cap,
                         char sha[OTTER_AUTH_SHA256_HEX], otter_err *err)
{
    unsigned char raw[32];
    char hex[65];
    if (strlen(prefix) + 1 + 64 + 1 > cap)
        return otter_err_set(err, OTTER_EUSAGE, "token buffer too small");
    if (RAND_bytes(raw, sizeof raw) != 1)
        return otter_err_set(err, OTTER_EIO, "RAND_bytes failed");
    to_hex(raw, sizeof raw, hex);
    snprintf(token, cap, "%s_%s", prefix, hex);
    otter_auth_token_hash(token, sha);
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(hex, sizeof hex);
    return 0;
}

int otter_auth_password_generate(char *out, size_t cap, otter_err *err)
{
    /* No look-alike characters: the password is read off a terminal once. */
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const size_t len = 24, n = sizeof alphabet - 1;
    unsigned char raw[24];
    if (cap < len + 1)
        return otter_err_set(err, OTTER_EUSAGE, "password buffer too small");
    for (size_t i = 0; i < len;) {
        if (RAND_bytes(raw, sizeof raw) != 1)
            return otter_err_set(err, OTTER_EIO, "RAND_bytes failed");
        /* Rejection sampling keeps every character equally likely. */
        for (size_t j = 0; j < sizeof raw && i < len; j++)
            if (raw[j] < 256 - 256 % n)
                out[i++] = alphabet[raw[j] % n];
    }
    out[len] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}
