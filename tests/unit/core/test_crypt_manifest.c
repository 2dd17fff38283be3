/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "encryption" object of a format 2 image (docs/package-format.md,
 * "Encrypted images"): parsed strictly, written back unchanged, and every
 * malformed field refused with a message that names it.
 */
#include "otter_test.h"
#include "otter_crypt.h"
#include "otter_manifest.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define B32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define B48 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define B384                                                                                       \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const char valid[] =
    "{\"format\": 2, \"product\": \"p\", \"compatible\": [\"m\"], \"version\": \"2.0\",\n"
    " \"security_version\": 1, \"created\": \"2026-12-07T08:51:42Z\",\n"
    " \"images\": [{\"name\": \"rootfs\", \"file\": \"rootfs.img.zst.enc\", \"handler\": \"raw\",\n"
    "   \"target\": \"rootfs\", \"compression\": \"zstd\", \"size\": 70000, \"sha256\": \"" H64
    "\",\n"
    "   \"delta_base_sha256\": null,\n"
    "   \"encryption\": {\"alg\": \"aes-256-gcm\", \"nonce_prefix\": \"0011223344556677\",\n"
    "    \"recipients\": [\n"
    "     {\"keyid\": \"" K1 "\", \"alg\": \"x25519-hkdf-sha256-a256gcm\", \"epk\": \"" B32 "\",\n"
    "      \"wrapped_key\": \"" B48 "\"},\n"
    "     {\"keyid\": \"" K2 "\", \"alg\": \"rsa-oaep-sha256\", \"wrapped_key\": \"" B384 "\"}]},\n"
    "   \"chunk_size\": 65536, \"chunks\": [\n"
    "    {\"size\": 65536, \"sha256\": \"" H64 "\", \"stored_offset\": 0, \"stored_size\": 116,\n"
    "     \"stored_sha256\": \"" H64 "\"},\n"
    "    {\"size\": 4464, \"sha256\": \"" H64 "\", \"stored_offset\": 116, \"stored_size\": 50,\n"
    "     \"stored_sha256\": \"" H64 "\"}]},\n"
    "  {\"name\": \"app\", \"file\": \"app.bin.enc\", \"handler\": \"file\", \"target\": \"app\",\n"
    "   \"compression\": \"none\", \"size\": 10, \"sha256\": \"" H64 "\",\n"
    "   \"delta_base_sha256\": null,\n"
    "   \"encryption\": {\"alg\": \"aes-256-gcm\", \"nonce_prefix\": \"8899aabbccddeeff\",\n"
    "    \"recipients\": [{\"keyid\": \"" K2 "\", \"alg\": \"rsa-oaep-sha256\",\n"
    "     \"wrapped_key\": \"" B384 "\"}]},\n"
    "   \"chunk_size\": 65536, \"chunks\": [{\"size\": 10, \"sha256\": \"" H64 "\",\n"
    "    \"stored_offset\": 0, \"stored_size\": 26, \"stored_sha256\": \"" H64 "\"}]}],\n"
    " \"hooks\": null}";

/* Parses valid with the first occurrence of from replaced by to; expects needle (or success). */
static void expect(const char *from, const char *to, const char *needle)
{
    const char *at = strstr(valid, from);
    if (!at)
        fail_msg("fixture lacks \"%s\"", from);
    static char buf[16384];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - valid), valid, to, at + strlen(from));
    otter_err err;
    otter_manifest *m = NULL;
    int ret = otter_manifest_parse(buf, strlen(buf), "manifest.json", &m, &err);
    if (!needle) {
        assert_otter_ok(ret, err);
        otter_manifest_free(m);
        return;
    }
    assert_otter_error(ret, err, OTTER_EFORMAT, needle);
    assert_null(m);
}

static void test_parses_and_round_trips(void **state)
{
    (void)state;
    otter_err err;
    otter_manifest *m = NULL, *again = NULL;
    assert_otter_ok(otter_manifest_parse(valid, strlen(valid), "manifest.json", &m, &err), err);
    const otter_manifest_encryption *e = m->images[0].encryption;
    assert_non_null(e);
    assert_int_equal(e->recipient_count, 2);
    assert_int_equal(e->nonce_prefix[1], 0x11);
    assert_int_equal(e->recipients[0].alg, OTTER_WRAP_X25519);
    assert_int_equal(e->recipients[0].wrapped_len, 48);
    assert_int_equal(e->recipients[1].alg, OTTER_WRAP_RSA_OAEP);
    assert_int_equal(e->recipients[1].wrapped_len, 384);
    assert_string_equal(e->recipients[1].keyid, K2);
    assert_int_equal(m->images[1].chunks[0].stored_size, 26);
    char *text = otter_manifest_serialize_new(m);
    assert_non_null(text);
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    char *text2 = otter_manifest_serialize_new(again);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    otter_manifest_free(again);
    otter_manifest_free(m);
}

static void test_object_rules(void **state)
{
    (void)state;
    expect("\"alg\": \"aes-256-gcm\"", "\"alg\": \"aes-128-gcm\"",
           "images[0].encryption.alg: \"aes-128-gcm\" is not \"aes-256-gcm\"");
    expect("\"0011223344556677\"", "\"001122334455667\"", "images[0].encryption.nonce_prefix");
    expect("\"0011223344556677\"", "\"001122334455667G\"", "images[0].encryption.nonce_prefix");
    expect("\"0011223344556677\"", "\"00112233445566AA\"", "images[0].encryption.nonce_prefix");
    expect("\"nonce_prefix\": \"0011223344556677\",", "", "nonce_prefix");
    expect("\"alg\": \"aes-256-gcm\",", "\"alg\": \"aes-256-gcm\", \"key\": \"x\",",
           "images[0].encryption: unknown key \"key\"");
    expect("\"recipients\": [{", "\"recipients\": [], \"x\": [{",
           "images[1].encryption: unknown key \"x\"");
}

static void test_recipient_rules(void **state)
{
    (void)state;
    expect("\"keyid\": \"" K1 "\"", "\"keyid\": \"" K1 "0\"", "recipients[0].keyid");
    expect("\"keyid\": \"" K1 "\"", "\"keyid\": \"" K2 "\"", "recipients[1].keyid: listed twice");
    expect("\"x25519-hkdf-sha256-a256gcm\"", "\"x448\"", "recipients[0].alg: \"x448\"");
    expect("\"epk\": \"" B32 "\",", "", "recipients[0]: missing \"epk\"");
    expect("\"epk\": \"" B32 "\"", "\"epk\": \"AAAA\"", "recipients[0].epk: 3 bytes, expected 32");
    expect("\"epk\": \"" B32 "\"", "\"epk\": \"!!!!\"", "recipients[0].epk: not base64");
    expect("\"wrapped_key\": \"" B48 "\"", "\"wrapped_key\": \"AAAA\"",
           "recipients[0].wrapped_key: 3 bytes, expected 48");
    expect("\"alg\": \"rsa-oaep-sha256\", \"wrapped_key\"",
           "\"alg\": \"rsa-oaep-sha256\", \"epk\": \"" B32 "\", \"wrapped_key\"", "recipients[1]");
    expect("\"wrapped_key\": \"" B384 "\"}]}", "\"wrapped_key\": \"" B48 "\"}]}",
           "recipients[1].wrapped_key: 48 bytes, expected 384..1024");
}

static void test_chunks_and_placement(void **state)
{
    (void)state;
    /* Ciphertext digests are required for clear compression "none" too. */
    expect(", \"stored_sha256\": \"" H64 "\"}]}],", "}]}],",
           "chunks[0]: missing \"stored_sha256\"");
    /* The tag: stored_size is the clear size + 16. */
    expect("\"stored_size\": 26", "\"stored_size\": 10",
           "images[1].chunks[0].stored_size: 10 out of range 26..26");
    expect("\"stored_size\": 50", "\"stored_size\": 16",
           "images[0].chunks[1].stored_size: 16 out of range 17..");
    /* Not with deltas, not in format 1. */
    expect("\"delta_base_sha256\": null,\n   \"encryption\"",
           "\"delta_base_sha256\": \"" H64 "\", \"delta_base_size\": 5,\n   \"encryption\"",
           "cannot be encrypted");
    expect("\"format\": 2", "\"format\": 1", "images[0]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_and_round_trips),
        cmocka_unit_test(test_object_rules),
        cmocka_unit_test(test_recipient_rules),
        cmocka_unit_test(test_chunks_and_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
