/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_key.h"
#include "otter_encode.h"
#include "otter_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PEM files we read are small; anything larger is not a key. */
#define KEY_FILE_MAX (64 * 1024)
/* Passphrases for encrypted key files: at most this long; stretched over this many rounds. */
#define PASS_MAX 1024
#define PBKDF2_ITER 600000

enum scheme { SCHEME_ED25519, SCHEME_ECDSA_P256, SCHEME_RSA_PSS };

struct otter_key {
    EVP_PKEY *pkey; /* signs: a file key, or a token's key whose operations libp11 routes */
    EVP_PKEY *pub;  /* the public half as a plain key: verifies, names the scheme and id */
    enum scheme scheme;
    int is_private;
    void (*release)(void *); /* called after pkey is freed: e.g. closes the token session */
    void *release_arg;
    char id[OTTER_KEY_ID_LEN + 1];
};

static const char *const scheme_names[] = {
    [SCHEME_ED25519] = "ed25519",
    [SCHEME_ECDSA_P256] = "ecdsa-p256-sha256",
    [SCHEME_RSA_PSS] = "rsa-pss-sha256",
};

static int openssl_error(otter_err *err, int code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return otter_err_set(err, code, "%s (%s)", what, buf);
}

/* Decides the scheme from the key material and refuses anything weak or unknown. */
static int classify(EVP_PKEY *pkey, enum scheme *out, otter_err *err)
{
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *out = SCHEME_ED25519;
        return 0;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t n = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &n) != 1 ||
            strcmp(group, "prime256v1") != 0)
            return otter_err_set(err, OTTER_ESIG, "EC key on curve %s refused (only P-256)",
                                 group[0] ? group : "?");
        *out = SCHEME_ECDSA_P256;
        return 0;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < 3072)
            return otter_err_set(err, OTTER_ESIG, "RSA key of %d bits refused (at least 3072)",
                                 bits);
        *out = SCHEME_RSA_PSS;
        return 0;
    }
    return otter_err_set(err, OTTER_ESIG, "key type %s refused (ed25519, P-256 or RSA >= 3072)",
                         EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
}

/*
 * The public half as a plain provider key, decoded from its DER: a token's key
 * (libp11 gives a legacy key with a foreign method) is then classified and
 * verified by the same code as a file key.
 */
static int public_half(EVP_PKEY *pkey, EVP_PKEY **pub, char id[OTTER_KEY_ID_LEN + 1],
                       otter_err *err)
{
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(pkey, &der);
    if (der_len <= 0)
        return openssl_error(err, OTTER_ESIG, "cannot encode public key");
    const unsigned char *p = der;
    *pub = d2i_PUBKEY(NULL, &p, der_len);
    otter_sha256_hex(der, (size_t)der_len, id);
    OPENSSL_free(der);
    return *pub ? 0 : openssl_error(err, OTTER_ESIG, "cannot decode public key");
}

static int wrap_owned(EVP_PKEY *pkey, int is_private, void (*release)(void *), void *arg,
                      otter_key **out, otter_err *err)
{
    otter_key *key = calloc(1, sizeof *key);
    int ret = key ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret)
        ret = public_half(pkey, &key->pub, key->id, err);
    if (!ret)
        ret = classify(key->pub, &key->scheme, err);
    if (ret) {
        if (key)
            EVP_PKEY_free(key->pub);
        free(key);
        EVP_PKEY_free(pkey);
        if (release)
            release(arg);
        return ret;
    }
    key->pkey = pkey;
    key->is_private = is_private;
    key->release = release;
    key->release_arg = arg;
    *out = key;
    return 0;
}

static int wrap(EVP_PKEY *pkey, int is_private, otter_key **out, otter_err *err)
{
    return wrap_owned(pkey, is_private, NULL, NULL, out, err);
}

int otter_key_from_private_pkey(struct evp_pkey_st *pkey, void (*release)(void *), void *arg,
                                otter_key **out, otter_err *err)
{
    return wrap_owned(pkey, 1, release, arg, out, err);
}

int otter_key_generate(const char *type, otter_key **out, otter_err *err)
{
    EVP_PKEY *pkey = NULL;
    if (strcmp(type, "ed25519") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (strcmp(type, "ecdsa-p256") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(type, "rsa-3072") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    else
        return otter_err_set(err, OTTER_EUSAGE,
                             "unknown key type \"%s\" (ed25519, ecdsa-p256 or rsa-3072)", type);
    if (!pkey)
        return openssl_error(err, OTTER_EIO, "key generation failed");
    return wrap(pkey, 1, out, err);
}

/* What the PEM passphrase callback needs: asked once, the answer kept for retries. */
typedef struct pass_ctx {
    otter_key_pass_fn fn;
    void *arg;
    otter_err *err;
    int asked, failed;
    char buf[1024];
    int len;
} pass_ctx;

/* OpenSSL calls this only for an encrypted key; never prompts by itself. */
static int pem_pass(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    pass_ctx *pc = u;
    if (!pc || !pc->fn)
        return -1;
    if (!pc->asked) {
        pc->asked = 1;
        pc->len = pc->fn(pc->arg, pc->buf, sizeof pc->buf, pc->err);
        pc->failed = pc->len < 0;
    }
    if (pc->failed || pc->len > size)
        return -1;
    memcpy(buf, pc->buf, (size_t)pc->len);
    return pc->len;
}

/* Why a private key PEM did not load, in words a signer can act on. */
static int load_error(const char *pem, const pass_ctx *pc, otter_err *err)
{
    /* PKCS#8 or a traditional PEM with a DEK-Info header. */
    int encrypted = strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
                    strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL;
    if (pc->failed) {
        ERR_clear_error();
        return err ? err->code : OTTER_EUSAGE;
    }
    if (encrypted && !pc->fn) {
        ERR_clear_error();
        return otter_err_set(err, OTTER_EUSAGE, "encrypted private key and no passphrase given");
    }
    if (encrypted) {
        ERR_clear_error();
        return otter_err_set(err, OTTER_EUSAGE, "wrong passphrase for the encrypted private key");
    }
    return openssl_error(err, OTTER_EFORMAT, "not a PEM private key");
}

int otter_key_load_private_file_pass(const char *path, otter_key_pass_fn pass, void *arg,
                                     otter_key **out, otter_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, KEY_FILE_MAX, &pem, &len, err);
    if (ret)
        return ret;
    pass_ctx pc = {.fn = pass, .arg = arg, .err = err};
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, pem_pass, &pc) : NULL;
    BIO_free(bio);
    ret = pkey ? wrap(pkey, 1, out, err) : load_error(pem, &pc, err);
    OPENSSL_cleanse(pc.buf, sizeof pc.buf);
    OPENSSL_cleanse(pem, len);
    free(pem);
    if (ret)
        otter_err_prefix(err, "%s", path);
    return ret;
}

int otter_key_load_private_file(const char *path, otter_key **out, otter_err *err)
{
    return otter_key_load_private_file_pass(path, NULL, NULL, out, err);
}

/* Public keys are never encrypted: no passphrase callback. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int otter_key_load_public_pem(const char *pem, size_t len, const char *where, otter_key **out,
                              otter_err *err)
{
    if (len > KEY_FILE_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%s: public key too large", where);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    if (!pkey) {
        openssl_error(err, OTTER_EFORMAT, "not a PEM public key");
        return otter_err_prefix(err, "%s", where);
    }
    int ret = wrap(pkey, 0, out, err);
    if (ret)
        otter_err_prefix(err, "%s", where);
    return ret;
}

int otter_key_load_public_file(const char *path, otter_key **out, otter_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, KEY_FILE_MAX, &pem, &len, err);
    if (ret)
        return ret;
    ret = otter_key_load_public_pem(pem, len, path, out, err);
    free(pem);
    return ret;
}

static int write_new_file(const char *path, mode_t mode, const char *data, size_t len,
                          otter_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return otter_err_sys(err, errno == EEXIST ? OTTER_EUSAGE : OTTER_EIO, errno,
                             "%s: cannot create", path);
    int ret = otter_file_write_full(fd, data, len, path, err);
    if (ret == 0 && fsync(fd) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", path);
    close(fd);
    if (ret)
        unlink(path);
    return ret;
}

static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

char *otter_key_public_pem_new(const otter_key *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio && PEM_write_bio_PUBKEY(bio, key->pub) == 1)
        s = bio_to_string(bio);
    BIO_free(bio);
    return s;
}

/*
 * PKCS#8 PEM; with a passphrase, encrypted: PBES2 with PBKDF2-HMAC-SHA256 over
 * PBKDF2_ITER rounds (OpenSSL's default of 2048 is cheap to guess against for
 * a stolen key file) and AES-256-CBC.
 */
static int encode_private(BIO *bio, EVP_PKEY *pkey, const char *pass, size_t pass_len)
{
    if (pass_len == 0)
        return PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    X509_SIG *enc = p8 ? PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), pass, (int)pass_len, NULL, 0,
                                          PBKDF2_ITER, p8, NULL, NULL)
                       : NULL;
    int ok = enc && PEM_write_bio_PKCS8(bio, enc) == 1;
    X509_SIG_free(enc);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return ok ? 0 : -1;
}

int otter_key_save_pair(const otter_key *key, const char *name, otter_err *err)
{
    return otter_key_save_pair_pass(key, name, NULL, 0, err);
}

int otter_key_save_pair_pass(const otter_key *key, const char *name, const char *pass,
                             size_t pass_len, otter_err *err)
{
    if (!key->is_private)
        return otter_err_set(err, OTTER_EUSAGE, "not a private key");
    char priv_path[4096], pub_path[4096];
    if ((size_t)snprintf(priv_path, sizeof priv_path, "%s.key", name) >= sizeof priv_path ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s.pub", name) >= sizeof pub_path)
        return otter_err_set(err, OTTER_EUSAGE, "%s: name too long", name);
    int ret = OTTER_ENOMEM;
    char *priv = NULL, *pub = NULL;
    if (pass_len > PASS_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "passphrase longer than %d bytes", PASS_MAX);
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || encode_private(bio, key->pkey, pass, pass_len) < 0) {
        ret = openssl_error(err, OTTER_EIO, "cannot encode private key");
        goto out;
    }
    priv = bio_to_string(bio);
    pub = otter_key_public_pem_new(key);
    if (!priv || !pub) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    ret = write_new_file(priv_path, 0600, priv, strlen(priv), err);
    if (ret)
        goto out;
    ret = write_new_file(pub_path, 0644, pub, strlen(pub), err);
    if (ret)
        unlink(priv_path);
out:
    if (priv) {
        OPENSSL_cleanse(priv, strlen(priv));
        free(priv);
    }
    free(pub);
    BIO_free(bio);
    return ret;
}

const char *otter_key_id(const otter_key *key)
{
    return key->id;
}

const char *otter_key_alg(const otter_key *key)
{
    return scheme_names[key->scheme];
}

int otter_key_is_private(const otter_key *key)
{
    return key->is_private;
}

/* Sets up ctx for this key's scheme, for signing or for verifying. */
static int init_ctx(const otter_key *key, EVP_MD_CTX *ctx, int sign)
{
    const EVP_MD *md = key->scheme == SCHEME_ED25519 ? NULL : EVP_sha256();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key->pkey)
                  : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pub);
    if (ok != 1)
        return -1;
    if (key->scheme == SCHEME_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        return -1;
    return 0;
}

int otter_key_sign(const otter_key *key, const void *data, size_t len, uint8_t sig[OTTER_SIG_MAX],
                   size_t *sig_len, otter_err *err)
{
    if (!key->is_private)
        return otter_err_set(err, OTTER_EUSAGE, "key %.16s is not a private key", key->id);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    int ret = 0;
    if (!ctx || init_ctx(key, ctx, 1) < 0 || EVP_DigestSign(ctx, NULL, &n, data, len) != 1 ||
        n > OTTER_SIG_MAX || EVP_DigestSign(ctx, sig, &n, data, len) != 1)
        ret = openssl_error(err, OTTER_EIO, "signing failed");
    else
        *sig_len = n;
    EVP_MD_CTX_free(ctx);
    return ret;
}

int otter_key_verify(const otter_key *key, const void *data, size_t len, const uint8_t *sig,
                     size_t sig_len, otter_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ret = 0;
    if (!ctx || init_ctx(key, ctx, 0) < 0) {
        ret = openssl_error(err, OTTER_ENOMEM, "cannot set up verification");
    } else if (EVP_DigestVerify(ctx, sig, sig_len, data, len) != 1) {
        ERR_clear_error();
        ret = otter_err_set(err, OTTER_ESIG, "signature by key %.16s does not verify", key->id);
    }
    EVP_MD_CTX_free(ctx);
    return ret;
}

void otter_key_free(otter_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    EVP_PKEY_free(key->pub);
    if (key->release)
        key->release(key->release_arg);
    free(key);
}
