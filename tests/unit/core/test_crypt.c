/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encrypted images, the primitives (docs/package-format.md, "Encrypted
 * images"): a content key wrapped for X25519 and RSA-OAEP recipients comes
 * back unchanged only with the right private key; a chunk sealed under a
 * key opens only at its own index, image, chunk count and nonce prefix, and
 * a flipped bit anywhere fails its GCM tag.
 */
#include "otter_test.h"
#include "otter_crypt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

/* Writes a new key pair of type ("X25519", "RSA") to dir/name.key and .pub. */
static void make_pair(const char *dir, const char *name, const char *type, int bits)
{
    EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)bits)
                       : EVP_PKEY_Q_keygen(NULL, NULL, type);
    assert_non_null(k);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    EVP_PKEY_free(k);
}

static otter_crypt_pubkey *load_pub(const char *dir, const char *name)
{
    char path[PATH_MAX];
    otter_err err;
    otter_crypt_pubkey *pk = NULL;
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    assert_otter_ok(otter_crypt_pubkey_load_file(path, &pk, &err), err);
    return pk;
}

static otter_crypt_key *load_priv(const char *dir, const char *name)
{
    char path[PATH_MAX];
    otter_err err;
    otter_crypt_key *k = NULL;
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    assert_otter_ok(otter_crypt_key_load_file(path, &k, &err), err);
    return k;
}

/* Wraps a random key for `name`, unwraps it with its private key, then the refusals. */
static void round_trip(const char *dir, const char *name, otter_wrap_alg alg)
{
    otter_err err;
    uint8_t key[OTTER_CRYPT_KEY_LEN], back[OTTER_CRYPT_KEY_LEN];
    assert_otter_ok(otter_crypt_random(key, sizeof key, &err), err);
    otter_crypt_pubkey *pk = load_pub(dir, name);
    otter_crypt_key *k = load_priv(dir, name), *other = load_priv(dir, "other");
    assert_string_equal(otter_crypt_pubkey_id(pk), otter_crypt_key_id(k));
    otter_manifest_encryption *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->recipient_count = 1;
    assert_otter_ok(otter_crypt_wrap(pk, key, &e->recipients[0], &err), err);
    assert_int_equal(e->recipients[0].alg, alg);
    assert_string_equal(e->recipients[0].keyid, otter_crypt_key_id(k));
    assert_otter_ok(otter_crypt_unwrap(k, e, "rootfs", back, &err), err);
    assert_memory_equal(key, back, sizeof key);
    /* Not in the list: named as such, with the recipients and this key. */
    assert_otter_error(otter_crypt_unwrap(other, e, "rootfs", back, &err), err, OTTER_ESIG,
                       "image rootfs: not a recipient");
    char mine[17];
    snprintf(mine, sizeof mine, "%.16s", otter_crypt_key_id(other));
    assert_non_null(strstr(err.msg, mine));
    /* The entry altered: it does not open. */
    e->recipients[0].wrapped[7] ^= 1;
    assert_otter_error(otter_crypt_unwrap(k, e, "rootfs", back, &err), err, OTTER_ESIG,
                       "does not open");
    e->recipients[0].wrapped[7] ^= 1;
    if (alg == OTTER_WRAP_X25519) {
        e->recipients[0].epk[3] ^= 1;
        assert_otter_error(otter_crypt_unwrap(k, e, "rootfs", back, &err), err, OTTER_ESIG,
                           "does not open");
        e->recipients[0].epk[3] ^= 1;
    }
    /* Two wraps of one key differ (fresh ephemeral key or OAEP randomness). */
    otter_crypt_recipient again;
    assert_otter_ok(otter_crypt_wrap(pk, key, &again, &err), err);
    assert_true(memcmp(again.wrapped, e->recipients[0].wrapped, again.wrapped_len) != 0);
    free(e);
    otter_crypt_pubkey_free(pk);
    otter_crypt_key_free(k);
    otter_crypt_key_free(other);
}

static void test_wrap_x25519(void **state)
{
    (void)state;
    const char *dir = otter_test_dir("crypt-x25519");
    make_pair(dir, "dev", "X25519", 0);
    make_pair(dir, "other", "X25519", 0);
    round_trip(dir, "dev", OTTER_WRAP_X25519);
}

static void test_wrap_rsa_oaep(void **state)
{
    (void)state;
    const char *dir = otter_test_dir("crypt-rsa");
    make_pair(dir, "dev", "RSA", 3072);
    make_pair(dir, "other", "X25519", 0);
    round_trip(dir, "dev", OTTER_WRAP_RSA_OAEP);
}

static void test_weak_or_other_keys_refused(void **state)
{
    (void)state;
    const char *dir = otter_test_dir("crypt-weak");
    make_pair(dir, "rsa2048", "RSA", 2048);
    make_pair(dir, "ed", "ED25519", 0);
    otter_err err;
    otter_crypt_pubkey *pk = NULL;
    otter_crypt_key *k = NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rsa2048.pub", dir);
    assert_otter_error(otter_crypt_pubkey_load_file(path, &pk, &err), err, OTTER_EUSAGE,
                       "X25519 or RSA of 3072..8192 bits");
    snprintf(path, sizeof path, "%s/ed.key", dir);
    assert_otter_error(otter_crypt_key_load_file(path, &k, &err), err, OTTER_EUSAGE,
                       "X25519 or RSA");
    snprintf(path, sizeof path, "%s/missing.pub", dir);
    assert_int_equal(otter_crypt_pubkey_load_file(path, &pk, &err), OTTER_EIO);
}

static void test_chunk_seal_open(void **state)
{
    (void)state;
    otter_err err;
    otter_crypt_image ci = {.chunk_count = 4};
    snprintf(ci.name, sizeof ci.name, "rootfs");
    assert_otter_ok(otter_crypt_random(ci.key, sizeof ci.key, &err), err);
    assert_otter_ok(otter_crypt_random(ci.nonce_prefix, sizeof ci.nonce_prefix, &err), err);
    enum { N = 5000 };
    uint8_t clear[N], buf[N + OTTER_CRYPT_TAG_LEN], work[sizeof buf];
    for (size_t i = 0; i < N; i++)
        clear[i] = (uint8_t)(i * 7);
    memcpy(buf, clear, N);
    assert_otter_ok(otter_crypt_chunk_seal(&ci, 2, buf, N, &err), err);
    assert_true(memcmp(buf, clear, N) != 0);
    memcpy(work, buf, sizeof buf);
    assert_otter_ok(otter_crypt_chunk_open(&ci, 2, work, sizeof work, &err), err);
    assert_memory_equal(work, clear, N);
    /* Another index, image, count, prefix or key; a flipped ciphertext or tag bit. */
    otter_crypt_image bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = ci;
    bad[0].name[0] = 'R';
    bad[1].chunk_count = 3;
    bad[2].nonce_prefix[0] ^= 1;
    bad[3].key[31] ^= 1;
    for (int i = 0; i < 5; i++) {
        memcpy(work, buf, sizeof buf);
        uint32_t index = i == 4 ? 1 : 2;
        assert_otter_error(otter_crypt_chunk_open(&bad[i], index, work, sizeof work, &err), err,
                           OTTER_EDIGEST, "GCM tag mismatch");
    }
    for (size_t at = 0; at < sizeof buf; at += 1001) {
        memcpy(work, buf, sizeof buf);
        work[at] ^= 0x80;
        assert_otter_error(otter_crypt_chunk_open(&ci, 2, work, sizeof work, &err), err,
                           OTTER_EDIGEST, "GCM tag mismatch");
    }
    memcpy(work, buf, sizeof buf);
    work[sizeof buf - 1] ^= 1; /* the tag itself */
    assert_otter_error(otter_crypt_chunk_open(&ci, 2, work, sizeof work, &err), err, OTTER_EDIGEST,
                       "GCM tag mismatch");
    assert_otter_error(otter_crypt_chunk_open(&ci, 2, work, 15, &err), err, OTTER_EFORMAT,
                       "cannot hold a GCM tag");
    /* Same bytes at two indexes: two different ciphertexts (the nonce differs). */
    uint8_t other[N + OTTER_CRYPT_TAG_LEN];
    memcpy(other, clear, N);
    assert_otter_ok(otter_crypt_chunk_seal(&ci, 3, other, N, &err), err);
    assert_true(memcmp(other, buf, N) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_x25519),
        cmocka_unit_test(test_wrap_rsa_oaep),
        cmocka_unit_test(test_weak_or_other_keys_refused),
        cmocka_unit_test(test_chunk_seal_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
