/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_auth.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_digest.h"
#include "otter_encode.h"

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

/* SHA-256 is libotter's (otter_digest.h), which fetches the algorithm from the provider once. */
int otter_auth_token_digest(const char *token, unsigned char md[32])
{
    otter_sha256_buf(token, strlen(token), md);
    return 0;
}

void otter_auth_token_hash(const char *token, char sha[OTTER_AUTH_SHA256_HEX])
{
    otter_sha256_hex(token, strlen(token), sha);
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
    otter_hex_encode(raw, sizeof raw, hex);
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
