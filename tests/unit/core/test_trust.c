/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_sig.h"
#include "otter_trust.h"
#include "pkg_fixture.h"

#include <sys/stat.h>

static const char msg[] = "{\"format\": 1}";

static void test_keygen_save_load_sign_verify(void **state)
{
    const char *types[] = {"ed25519", "ecdsa-p256", "rsa-3072"};
    const char *algs[] = {"ed25519", "ecdsa-p256-sha256", "rsa-pss-sha256"};
    const char *dir = otter_test_dir("keys");
    for (int i = 0; i < 3; i++) {
        otter_err err;
        otter_key *key = NULL, *priv = NULL, *pub = NULL;
        char name[PATH_MAX], path[PATH_MAX];
        snprintf(name, sizeof name, "%s/k%d", dir, i);
        assert_otter_ok(otter_key_generate(types[i], &key, &err), err);
        assert_string_equal(otter_key_alg(key), algs[i]);
        assert_otter_ok(otter_key_save_pair(key, name, &err), err);
        /* Never overwrite a key. */
        assert_otter_error(otter_key_save_pair(key, name, &err), err, OTTER_EUSAGE,
                           "cannot create");
        snprintf(path, sizeof path, "%s.key", name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_otter_ok(otter_key_load_private_file(path, &priv, &err), err);
        snprintf(path, sizeof path, "%s.pub", name);
        assert_otter_ok(otter_key_load_public_file(path, &pub, &err), err);
        assert_string_equal(otter_key_id(pub), otter_key_id(key));
        assert_false(otter_key_is_private(pub));
        uint8_t sig[OTTER_SIG_MAX];
        size_t sig_len = 0;
        assert_otter_ok(otter_key_sign(priv, msg, strlen(msg), sig, &sig_len, &err), err);
        assert_otter_ok(otter_key_verify(pub, msg, strlen(msg), sig, sig_len, &err), err);
        sig[sig_len / 2] ^= 1;
        assert_otter_error(otter_key_verify(pub, msg, strlen(msg), sig, sig_len, &err), err,
                           OTTER_ESIG, "does not verify");
        assert_otter_error(otter_key_sign(pub, msg, 1, sig, &sig_len, &err), err, OTTER_EUSAGE,
                           "is not a private key");
        otter_key_free(key);
        otter_key_free(priv);
        otter_key_free(pub);
    }
}

static void test_weak_keys_refused(void **state)
{
    const char *dir = otter_test_dir("weak");
    char cmd[PATH_MAX * 2], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rsa2048.pub", dir);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | "
             "openssl pkey -pubout -out %s",
             path);
    assert_int_equal(system(cmd), 0);
    otter_err err;
    otter_key *key = NULL;
    assert_otter_error(otter_key_load_public_file(path, &key, &err), err, OTTER_ESIG,
                       "RSA key of 2048 bits refused (at least 3072)");
    snprintf(path, sizeof path, "%s/p384.pub", dir);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 2>/dev/null | "
             "openssl pkey -pubout -out %s",
             path);
    assert_int_equal(system(cmd), 0);
    assert_otter_error(otter_key_load_public_file(path, &key, &err), err, OTTER_ESIG,
                       "EC key on curve secp384r1 refused (only P-256)");
    assert_otter_error(otter_key_load_public_pem("junk", 4, "x.pub", &key, &err), err,
                       OTTER_EFORMAT, "x.pub: not a PEM public key");
    assert_otter_error(otter_key_generate("dsa", &key, &err), err, OTTER_EUSAGE,
                       "unknown key type \"dsa\"");
}

static void test_threshold_verification(void **state)
{
    otter_key *keys[4];
    otter_err err;
    for (int i = 0; i < 4; i++)
        assert_otter_ok(otter_key_generate("ed25519", &keys[i], &err), err);
    otter_trust *t = fx_trust(keys, 3, 2);
    otter_sig_list *sigs = otter_sig_list_new();
    otter_trust_result res;
    assert_otter_error(otter_trust_verify(t, msg, strlen(msg), sigs, &res, &err), err, OTTER_ESIG,
                       "not signed (2 signatures required)");
    assert_otter_ok(otter_sig_list_sign(sigs, keys[3], msg, strlen(msg), &err), err);
    assert_otter_ok(otter_sig_list_sign(sigs, keys[0], msg, strlen(msg), &err), err);
    assert_otter_error(otter_trust_verify(t, msg, strlen(msg), sigs, &res, &err), err, OTTER_ESIG,
                       "1 of 2 required signatures valid: key");
    assert_otter_ok(otter_sig_list_sign(sigs, keys[0], msg, strlen(msg), &err), err);
    assert_int_equal(sigs->count, 2); /* replaced, not added */
    assert_otter_ok(otter_sig_list_sign(sigs, keys[2], msg, strlen(msg), &err), err);
    assert_otter_ok(otter_trust_verify(t, msg, strlen(msg), sigs, &res, &err), err);
    assert_int_equal(res.valid, 2);
    /* Serialize, parse back: same verdict. */
    char *json = otter_sig_list_serialize_new(sigs);
    otter_sig_list *back = NULL;
    assert_otter_ok(otter_sig_list_parse(json, strlen(json), "manifest.sig", &back, &err), err);
    assert_otter_ok(otter_trust_verify(t, msg, strlen(msg), back, NULL, &err), err);
    /* The same bytes, one changed: nobody's signature holds. */
    assert_otter_error(otter_trust_verify(t, "{\"format\": 2}", 13, back, NULL, &err), err,
                       OTTER_ESIG, "0 of 2 required signatures valid");
    free(json);
    otter_sig_list_free(back);
    otter_sig_list_free(sigs);
    otter_trust_free(t);
    for (int i = 0; i < 4; i++)
        otter_key_free(keys[i]);
}

static void test_root_json_round_trip_and_refusals(void **state)
{
    otter_key *keys[2];
    otter_err err;
    assert_otter_ok(otter_key_generate("ecdsa-p256", &keys[0], &err), err);
    assert_otter_ok(otter_key_generate("ed25519", &keys[1], &err), err);
    otter_trust *t = fx_trust(keys, 2, 2);
    assert_otter_ok(otter_trust_set_version(t, 4, &err), err);
    char *json = otter_trust_serialize_new(t);
    otter_trust *back = NULL;
    assert_otter_ok(otter_trust_parse(json, strlen(json), "root.json", &back, &err), err);
    assert_int_equal(otter_trust_threshold(back), 2);
    assert_int_equal(otter_trust_version(back), 4);
    assert_int_equal(otter_trust_key_count(back), 2);
    otter_trust_free(back);

    struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"threshold\": 2", "\"threshold\": 3", "root.json: threshold 3 exceeds the 2 keys"},
        {"\"threshold\": 2", "\"threshold\": 0", "root.json: threshold: 0 out of range"},
        {"\"type\": \"otter-root\"", "\"type\": \"x\"", "root.json: type: expected \"otter-root\""},
        {"\"version\": 4", "\"version\": 4, \"extra\": true", "root.json: unknown key \"extra\""},
        {"\"alg\": \"ecdsa-p256-sha256\"", "\"alg\": \"ed25519\"",
         "root.json: keys[0].alg: \"ed25519\" does not match its key (ecdsa-p256-sha256)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(json, cases[i].from);
        assert_non_null(at);
        char buf[8192];
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - json), json, cases[i].to,
                 at + strlen(cases[i].from));
        assert_otter_error(otter_trust_parse(buf, strlen(buf), "root.json", &back, &err), err,
                           OTTER_EFORMAT, cases[i].needle);
    }
    /* A keyid that is not its key's. */
    char *bad = strdup(json);
    char *id = strstr(bad, otter_key_id(keys[0]));
    assert_non_null(id);
    id[0] = id[0] == 'a' ? 'b' : 'a';
    assert_otter_error(otter_trust_parse(bad, strlen(bad), "root.json", &back, &err), err,
                       OTTER_EFORMAT, "does not match its key");
    free(bad);
    free(json);
    otter_trust_free(t);
    otter_key_free(keys[0]);
    otter_key_free(keys[1]);
}

static void test_root_rotation(void **state)
{
    otter_key *old_keys[2], *new_keys[2];
    otter_err err;
    for (int i = 0; i < 2; i++) {
        assert_otter_ok(otter_key_generate("ed25519", &old_keys[i], &err), err);
        assert_otter_ok(otter_key_generate("ecdsa-p256", &new_keys[i], &err), err);
    }
    otter_trust *old = fx_trust(old_keys, 2, 2), *next = fx_trust(new_keys, 2, 1), *got = NULL;
    assert_otter_ok(otter_trust_set_version(next, 2, &err), err);
    char *json = otter_trust_serialize_new(next);
    size_t len = strlen(json);
    otter_sig_list *sigs = otter_sig_list_new();
    assert_otter_ok(otter_sig_list_sign(sigs, new_keys[0], json, len, &err), err);
    assert_otter_error(otter_trust_rotate(old, json, len, sigs, &got, &err), err, OTTER_ESIG,
                       "new root: signatures by the current root's keys: 0 of 2");
    assert_otter_ok(otter_sig_list_sign(sigs, old_keys[0], json, len, &err), err);
    assert_otter_error(otter_trust_rotate(old, json, len, sigs, &got, &err), err, OTTER_ESIG,
                       "1 of 2 required");
    assert_otter_ok(otter_sig_list_sign(sigs, old_keys[1], json, len, &err), err);
    assert_otter_ok(otter_trust_rotate(old, json, len, sigs, &got, &err), err);
    assert_int_equal(otter_trust_version(got), 2);
    otter_trust_free(got);
    /* Old keys alone cannot hand the devices to keys that never signed. */
    otter_sig_list *old_only = otter_sig_list_new();
    assert_otter_ok(otter_sig_list_sign(old_only, old_keys[0], json, len, &err), err);
    assert_otter_ok(otter_sig_list_sign(old_only, old_keys[1], json, len, &err), err);
    assert_otter_error(otter_trust_rotate(old, json, len, old_only, &got, &err), err, OTTER_ESIG,
                       "new root: signatures by its own keys: 0 of 1 required");
    /* Replaying the same root as its own successor fails on the version. */
    assert_otter_error(otter_trust_rotate(next, json, len, sigs, &got, &err), err, OTTER_EFORMAT,
                       "new root has version 2, expected 3");
    free(json);
    otter_sig_list_free(sigs);
    otter_sig_list_free(old_only);
    otter_trust_free(old);
    otter_trust_free(next);
    for (int i = 0; i < 2; i++) {
        otter_key_free(old_keys[i]);
        otter_key_free(new_keys[i]);
    }
}

static void test_sig_list_refusals(void **state)
{
    otter_err err;
    otter_sig_list *l = NULL;
    assert_otter_error(otter_sig_list_parse("{}", 2, "manifest.sig", &l, &err), err, OTTER_EFORMAT,
                       "manifest.sig: expected a JSON list of signatures");
    const char *bad_hex = "[{\"keyid\": \"XY\", \"alg\": \"ed25519\", \"sig\": \"AAAA\"}]";
    assert_otter_error(otter_sig_list_parse(bad_hex, strlen(bad_hex), "manifest.sig", &l, &err),
                       err, OTTER_EFORMAT, "manifest.sig: [0].keyid: expected 64 lower-case hex");
    char big[200];
    snprintf(big, sizeof big, "[{\"keyid\": \"%064d\", \"alg\": \"ed25519\", \"sig\": \"A===\"}]",
             0);
    assert_otter_error(otter_sig_list_parse(big, strlen(big), "manifest.sig", &l, &err), err,
                       OTTER_EFORMAT, "manifest.sig: [0].sig: invalid base64");
}

static void test_encoding(void **state)
{
    uint8_t raw[3] = {0xde, 0xad, 0x01}, back[3];
    char hex[7];
    otter_hex_encode(raw, 3, hex);
    assert_string_equal(hex, "dead01");
    otter_err err;
    assert_otter_ok(otter_hex_decode("DEAD01", back, 3, &err), err);
    assert_memory_equal(raw, back, 3);
    assert_otter_error(otter_hex_decode("de", back, 3, &err), err, OTTER_EFORMAT, "expected 6");
    char *b64 = otter_base64_encode_new(raw, 3);
    assert_string_equal(b64, "3q0B");
    uint8_t *dec = NULL;
    size_t n = 0;
    assert_otter_ok(otter_base64_decode_new("3q0=", 10, &dec, &n, &err), err);
    assert_int_equal(n, 2);
    assert_memory_equal(dec, raw, 2);
    free(dec);
    free(b64);
    assert_otter_error(otter_base64_decode_new("3q 0", 10, &dec, &n, &err), err, OTTER_EFORMAT,
                       "invalid base64 character at offset 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_save_load_sign_verify),
        cmocka_unit_test(test_weak_keys_refused),
        cmocka_unit_test(test_threshold_verification),
        cmocka_unit_test(test_root_json_round_trip_and_refusals),
        cmocka_unit_test(test_root_rotation),
        cmocka_unit_test(test_sig_list_refusals),
        cmocka_unit_test(test_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
