/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encrypted private key files (otter_key_save_pair_pass,
 * otter_key_load_private_file_pass) and keys held elsewhere
 * (otter_key_from_private_pkey): the passphrase is asked only for an
 * encrypted key and once, a wrong one and a missing one are refused with
 * their reason, the callback's own error comes through, and the release
 * hook runs when the key is freed and when wrapping fails.
 */
#include "otter_test.h"
#include "otter_key.h"

#include <openssl/evp.h>

static const char msg[] = "{\"format\": 2}";

typedef struct pass_src {
    const char *pass;
    int calls;
} pass_src;

static int give_pass(void *arg, char *buf, size_t size, otter_err *err)
{
    pass_src *p = arg;
    p->calls++;
    if (!p->pass)
        return otter_err_set(err, OTTER_EUSAGE, "no terminal to ask on");
    size_t n = strlen(p->pass);
    assert_true(n <= size);
    memcpy(buf, p->pass, n);
    return (int)n;
}

static void test_encrypted_roundtrip(void **state)
{
    (void)state;
    const char *dir = otter_test_dir("key_pass");
    char name[PATH_MAX], path[PATH_MAX];
    snprintf(name, sizeof name, "%s/enc", dir);
    snprintf(path, sizeof path, "%s.key", name);
    otter_err err;
    otter_key *key = NULL, *loaded = NULL;
    assert_otter_ok(otter_key_generate("ecdsa-p256", &key, &err), err);
    assert_otter_ok(otter_key_save_pair_pass(key, name, "s3cret", 6, &err), err);
    char head[64] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_string_equal(head, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");

    pass_src right = {"s3cret", 0}, wrong = {"guess", 0}, none = {NULL, 0};
    assert_otter_error(otter_key_load_private_file_pass(path, give_pass, &wrong, &loaded, &err),
                       err, OTTER_EUSAGE, "wrong passphrase for the encrypted private key");
    assert_int_equal(wrong.calls, 1);
    assert_otter_error(otter_key_load_private_file_pass(path, give_pass, &none, &loaded, &err), err,
                       OTTER_EUSAGE, "enc.key: no terminal to ask on");
    assert_otter_error(otter_key_load_private_file(path, &loaded, &err), err, OTTER_EUSAGE,
                       "encrypted private key and no passphrase given");
    assert_otter_ok(otter_key_load_private_file_pass(path, give_pass, &right, &loaded, &err), err);
    assert_int_equal(right.calls, 1);
    assert_string_equal(otter_key_id(loaded), otter_key_id(key));
    uint8_t sig[OTTER_SIG_MAX];
    size_t sig_len = 0;
    assert_otter_ok(otter_key_sign(loaded, msg, strlen(msg), sig, &sig_len, &err), err);
    assert_otter_ok(otter_key_verify(key, msg, strlen(msg), sig, sig_len, &err), err);
    otter_key_free(loaded);

    /* A plain key never asks for a passphrase. */
    snprintf(name, sizeof name, "%s/plain", dir);
    snprintf(path, sizeof path, "%s.key", name);
    assert_otter_ok(otter_key_save_pair_pass(key, name, NULL, 0, &err), err);
    pass_src unused = {"x", 0};
    assert_otter_ok(otter_key_load_private_file_pass(path, give_pass, &unused, &loaded, &err), err);
    assert_int_equal(unused.calls, 0);
    otter_key_free(loaded);
    otter_key_free(key);
}

static void count_release(void *arg)
{
    (*(int *)arg)++;
}

static void test_from_private_pkey(void **state)
{
    (void)state;
    otter_err err;
    int released = 0;
    otter_key *key = NULL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pkey);
    assert_otter_ok(otter_key_from_private_pkey(pkey, count_release, &released, &key, &err), err);
    assert_true(otter_key_is_private(key));
    assert_string_equal(otter_key_alg(key), "ecdsa-p256-sha256");
    uint8_t sig[OTTER_SIG_MAX];
    size_t sig_len = 0;
    assert_otter_ok(otter_key_sign(key, msg, strlen(msg), sig, &sig_len, &err), err);
    assert_otter_ok(otter_key_verify(key, msg, strlen(msg), sig, sig_len, &err), err);
    assert_int_equal(released, 0);
    otter_key_free(key);
    assert_int_equal(released, 1);

    /* A refused key (RSA-2048) is freed and released all the same. */
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(pkey);
    key = NULL;
    assert_otter_error(otter_key_from_private_pkey(pkey, count_release, &released, &key, &err), err,
                       OTTER_ESIG, "RSA key of 2048 bits refused");
    assert_null(key);
    assert_int_equal(released, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encrypted_roundtrip),
        cmocka_unit_test(test_from_private_pkey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
