/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package reader's contract: the verified manifest before any payload
 * byte, exact sizes and digests, and a precise refusal for every malformed
 * or hostile package. Built twice: PKG_FORMAT 1 (one stream per image) and
 * 2 (chunk table, 64 KiB chunks so images span many); where the formats
 * refuse the same damage at different points, V1V2 names both messages.
 */
#include "otter_test.h"
#include "pkg_fixture.h"

#include "otter_sig.h"

#ifndef PKG_FORMAT
#define PKG_FORMAT 1
#endif
#if PKG_FORMAT == 1
#define V1V2(v1, v2) v1
#else
#define V1V2(v1, v2) v2
#endif

enum { ED0, ED1, ED2, EC, RSA, NKEYS };

static otter_key *keys[NKEYS];
static char dir[PATH_MAX], base[PATH_MAX], bad[PATH_MAX];
static otter_trust *trust_ed0;

static int setup(void **state)
{
    otter_err err;
    const char *types[NKEYS] = {"ed25519", "ed25519", "ed25519", "ecdsa-p256", "rsa-3072"};
    for (int i = 0; i < NKEYS; i++)
        if (otter_key_generate(types[i], &keys[i], &err) != 0)
            return -1;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("pkg"));
    snprintf(base, sizeof base, "%s/base.zip", dir);
    snprintf(bad, sizeof bad, "%s/bad.zip", dir);
    fx_format = PKG_FORMAT;
    fx_chunk_size = 64 * 1024;
    fx_pack(base, dir, 3 * 1024 * 1024 + 17, &keys[ED0], 1);
    trust_ed0 = fx_trust(&keys[ED0], 1, 1);
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < NKEYS; i++)
        otter_key_free(keys[i]);
    otter_trust_free(trust_ed0);
    return 0;
}

/* The base package's entries, to be changed and zipped again. */
static size_t base_entries(fx_entry *e)
{
    return fx_unzip(base, e, 8);
}

/* Replaces manifest.json (entry 0) and signs the new bytes with key into entry 1. */
static void set_manifest(fx_entry *e, const char *json, const otter_key *key)
{
    free((void *)e[0].data);
    e[0].data = strdup(json);
    e[0].len = strlen(json);
    otter_sig_list *sigs = otter_sig_list_new();
    otter_err err;
    assert_otter_ok(otter_sig_list_sign(sigs, key, e[0].data, e[0].len, &err), err);
    free((void *)e[1].data);
    e[1].data = otter_sig_list_serialize_new(sigs);
    e[1].len = strlen(e[1].data);
    otter_sig_list_free(sigs);
}

/* The base manifest with one substring replaced. */
static char *manifest_with(const fx_entry *e, const char *from, const char *to)
{
    const char *text = e[0].data;
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void expect_refusal(int want_code, const char *needle)
{
    otter_err err;
    assert_otter_error(fx_read_all(bad, trust_ed0, NULL, &err), err, want_code, needle);
    assert_true(strncmp(err.msg, bad, strlen(bad)) == 0); /* says where */
}

/* ---- round trips ---- */

static void roundtrip_with(int k)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rt-%d.zip", dir, k);
    fx_pack(path, dir, 200000, &keys[k], 1);
    otter_trust *t = fx_trust(&keys[k], 1, 1);
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    otter_trust_result res;
    assert_otter_ok(otter_pkg_reader_open_file(path, OTTER_PKG_HASH_THREAD, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, t, &m, &res, &err), err);
    assert_int_equal(res.valid, 1);
    assert_string_equal(res.signers[0], otter_key_id(keys[k]));
    assert_string_equal(m->product, "gw");
    assert_string_equal(m->version, "1.2.3");
    assert_int_equal(m->security_version, 5);
    assert_int_equal(m->image_count, 2);
    /* The installed bytes are exactly the input file's. */
    char rootfs[PATH_MAX];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs.img", dir);
    size_t want_len = 0;
    uint8_t *want = fx_slurp(rootfs, &want_len);
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 1);
    assert_string_equal(img->name, "rootfs");
    size_t off = 0;
    const void *data;
    size_t len;
    int rc;
    while ((rc = otter_pkg_read_chunk(r, &data, &len, &err)) == 1) {
        assert_true(off + len <= want_len);
        assert_memory_equal(data, want + off, len);
        off += len;
    }
    assert_otter_ok(rc, err);
    assert_int_equal(off, want_len);
    free(want);
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 1);
    assert_string_equal(img->name, "app");
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 0);
    otter_pkg_reader_free(r);
    otter_trust_free(t);
}

static void test_roundtrip_ed25519(void **state)
{
    roundtrip_with(ED0);
}

static void test_roundtrip_ecdsa_p256(void **state)
{
    roundtrip_with(EC);
}

static void test_roundtrip_rsa_3072(void **state)
{
    roundtrip_with(RSA);
}

static void test_two_of_three_mixed_key_types(void **state)
{
    otter_key *signers[3] = {keys[ED0], keys[EC], keys[RSA]};
    otter_trust *t = fx_trust(signers, 3, 2);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/k2.zip", dir);
    fx_pack(path, dir, 5000, &keys[EC], 1);
    otter_err err;
    assert_otter_error(fx_read_all(path, t, NULL, &err), err, OTTER_ESIG,
                       "manifest.sig: 1 of 2 required signatures valid");
    /* A second signer, on another day with another key: now 2 of 3. */
    const otter_key *second[] = {keys[RSA]};
    assert_otter_ok(otter_pkg_sign(path, second, 1, &err), err);
    assert_otter_ok(fx_read_all(path, t, "model-b", &err), err);
    /* Signing again with the same key replaces, never adds. */
    assert_otter_ok(otter_pkg_sign(path, second, 1, &err), err);
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    assert_otter_ok(otter_pkg_reader_open_file(path, OTTER_PKG_UNVERIFIED, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, NULL, &m, NULL, &err), err);
    assert_int_equal(otter_pkg_signatures(r)->count, 2);
    otter_pkg_reader_free(r);
    otter_trust_free(t);
}

static void test_duplicate_signature_counts_once(void **state)
{
    otter_key *signers[3] = {keys[ED0], keys[ED1], keys[ED2]};
    otter_trust *t = fx_trust(signers, 3, 2);
    fx_entry e[8];
    size_t n = base_entries(e);
    otter_sig_list *sigs = otter_sig_list_new();
    otter_err err;
    assert_otter_ok(otter_sig_list_sign(sigs, keys[ED0], e[0].data, e[0].len, &err), err);
    sigs->entries[1] = sigs->entries[0];
    sigs->count = 2;
    free((void *)e[1].data);
    e[1].data = otter_sig_list_serialize_new(sigs);
    e[1].len = strlen(e[1].data);
    fx_zip(bad, e, n);
    assert_otter_error(fx_read_all(bad, t, NULL, &err), err, OTTER_ESIG,
                       "1 of 2 required signatures valid");
    otter_sig_list_free(sigs);
    fx_entries_free(e, n);
    otter_trust_free(t);
}

/* ---- refusals: signatures ---- */

static void test_unsigned_refused(void **state)
{
    fx_pack(bad, dir, 1000, NULL, 0);
    expect_refusal(OTTER_ESIG, "manifest.sig: not signed (1 signature required)");
}

static void test_unknown_key_refused(void **state)
{
    fx_pack(bad, dir, 1000, &keys[ED1], 1);
    char want[128];
    snprintf(want, sizeof want,
             "0 of 1 required signatures valid: key %.16s... is not in the trust root",
             otter_key_id(keys[ED1]));
    expect_refusal(OTTER_ESIG, want);
}

static void test_tampered_manifest_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    char *m = manifest_with(e, "\"security_version\": 5", "\"security_version\": 9");
    free((void *)e[0].data);
    e[0].data = m;
    e[0].len = strlen(m);
    fx_zip(bad, e, n);
    char want[128];
    snprintf(want, sizeof want, "signature by key %.16s... does not verify",
             otter_key_id(keys[ED0]));
    expect_refusal(OTTER_ESIG, want);
    fx_entries_free(e, n);
}

/* ---- refusals: payload bytes ---- */

static void test_tampered_payload_byte_refused(void **state)
{
    /* A byte flipped in transit: zip's CRC or zstd or the digest catches it. */
    size_t len = 0;
    uint8_t *buf = fx_slurp(base, &len);
    buf[len / 2] ^= 0x01;
    fx_spit(bad, buf, len);
    free(buf);
    otter_err err;
    int ret = fx_read_all(bad, trust_ed0, NULL, &err);
    assert_true(otter_err_is_refusal(ret));
    assert_non_null(strstr(err.msg, "image rootfs: "));
}

static void test_tampered_payload_with_fixed_crc_refused(void **state)
{
    /* An attacker who rewrites the zip (valid CRC) still cannot match SHA-256. */
    fx_entry e[8];
    size_t n = base_entries(e);
    ((uint8_t *)e[3].data)[10] ^= 0x20;
    fx_zip(bad, e, n);
    expect_refusal(OTTER_EDIGEST, V1V2("image app: sha256 mismatch (expected ",
                                       "image app: chunk 0: sha256 mismatch"));
    fx_entries_free(e, n);
}

static void test_payload_larger_than_declared_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    char *m = manifest_with(e, "\"size\": 1000", "\"size\": 999");
    set_manifest(e, m, keys[ED0]);
    free(m);
    fx_zip(bad, e, n);
    expect_refusal(V1V2(OTTER_EDIGEST, OTTER_EFORMAT),
                   V1V2("image app: larger than the declared 999 bytes",
                        "manifest.json: images[1].chunks[0].size: 1000, expected 999"));
    fx_entries_free(e, n);
}

static void test_payload_smaller_than_declared_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    char *m = manifest_with(e, "\"size\": 1000", "\"size\": 1001");
    set_manifest(e, m, keys[ED0]);
    free(m);
    fx_zip(bad, e, n);
    expect_refusal(V1V2(OTTER_EDIGEST, OTTER_EFORMAT),
                   V1V2("image app: size mismatch (expected 1001 bytes, got 1000)",
                        "manifest.json: images[1].chunks[0].size: 1000, expected 1001"));
    fx_entries_free(e, n);
}

static void test_decompression_bomb_stops_at_declared_size(void **state)
{
    /* 64 MiB of zeros compress to a few KiB; the manifest claims 4096 bytes. */
    char zeros[PATH_MAX], app[PATH_MAX];
    snprintf(zeros, sizeof zeros, "%s/zeros.img", dir);
    snprintf(app, sizeof app, "%s/app.bin", dir);
    FILE *f = fopen(zeros, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 64 << 20), 0);
    fclose(f);
    const char *models[] = {"model-a"};
    otter_pkg_input in[] = {{.name = "rootfs", .path = zeros, .compress = 1},
                            {.name = "app", .path = app, .handler = "file", .compress = 0}};
    otter_pkg_write_opts o = {.product = "gw",
                              .compatible = models,
                              .compatible_count = 1,
                              .version = "1",
                              .level = 19,
                              .threads = 1,
                              .format = PKG_FORMAT,
                              .chunk_size = 8 << 20};
    otter_err err;
    assert_otter_ok(otter_pkg_write(bad, &o, in, 2, &err), err);
    fx_entry e[8];
    size_t n = fx_unzip(bad, e, 8);
    char *m = manifest_with(e, "\"size\": 67108864", "\"size\": 4096");
    set_manifest(e, m, keys[ED0]);
    free(m);
    fx_zip(bad, e, n);
    /* Format 2 states each chunk's size too: the table no longer adds up. */
    expect_refusal(V1V2(OTTER_EDIGEST, OTTER_EFORMAT),
                   V1V2("image rootfs: larger than the declared 4096 bytes",
                        "images[0].chunks: 8 chunks, but 4096 bytes in 8388608-byte chunks"));
    fx_entries_free(e, n);
}

/* ---- refusals: structure ---- */

static void test_truncated_everywhere_refused(void **state)
{
    size_t len = 0;
    uint8_t *buf = fx_slurp(base, &len);
    int cuts = 0;
    for (size_t cut = 0; cut < len; cut += cut < 4096 ? 61 : 1999) {
        fx_spit(bad, buf, cut);
        otter_err err;
        int ret = fx_read_all(bad, trust_ed0, NULL, &err);
        if (!otter_err_is_refusal(ret))
            fail_msg("cut at %zu of %zu: got %d: %s", cut, len, ret, err.msg);
        cuts++;
    }
    /* The last bytes are the central directory's end record. */
    for (size_t back = 1; back <= 200; back += 7) {
        fx_spit(bad, buf, len - back);
        otter_err err;
        assert_otter_error(fx_read_all(bad, trust_ed0, NULL, &err), err, OTTER_EFORMAT,
                           "no end of central directory record at the end (truncated?)");
        cuts++;
    }
    fx_spit(bad, buf, len / 2);
    expect_refusal(OTTER_EFORMAT, "image rootfs: truncated or damaged zip");
    free(buf);
    assert_true(cuts > 200);
}

static void test_extra_entry_refused(void **state)
{
    fx_entry e[9];
    size_t n = base_entries(e);
    e[n] = (fx_entry){.name = "extra.bin", .data = "x", .len = 1};
    fx_zip(bad, e, n + 1);
    expect_refusal(OTTER_EFORMAT, "unexpected entry \"extra.bin\" (not in the manifest)");
    /* ... and before the images. */
    fx_entry mid[9] = {e[0], e[1], e[n], e[2], e[3]};
    fx_zip(bad, mid, 5);
    expect_refusal(OTTER_EFORMAT, "unexpected entry \"extra.bin\" (not in the manifest)");
    fx_entries_free(e, n);
}

static void test_duplicate_entry_refused(void **state)
{
    fx_entry e[9];
    size_t n = base_entries(e);
    e[n] = (fx_entry){.name = "app.biX", .data = "x", .len = 1};
    fx_zip(bad, e, n + 1);
    assert_int_equal(fx_patch_all(bad, "app.biX", "app.bin"), 2); /* local + central header */
    expect_refusal(OTTER_EFORMAT, "duplicate entry \"app.bin\"");
    fx_entries_free(e, n);
}

static void test_reordered_entries_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    fx_entry swapped[4] = {e[0], e[1], e[3], e[2]};
    fx_zip(bad, swapped, 4);
    expect_refusal(OTTER_EFORMAT, "entry \"app.bin\" out of order (expected \"rootfs.img.zst\")");
    fx_entry sig_first[4] = {e[1], e[0], e[2], e[3]};
    fx_zip(bad, sig_first, 4);
    expect_refusal(OTTER_EFORMAT, "first entry is \"manifest.sig\", expected manifest.json");
    fx_entries_free(e, n);
}

static void test_missing_entry_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    fx_zip(bad, e, 3);
    expect_refusal(OTTER_EFORMAT, "missing entry \"app.bin\" for image app (truncated?)");
    fx_zip(bad, e, 1);
    expect_refusal(OTTER_EFORMAT, "no second entry: expected manifest.sig");
    fx_entries_free(e, n);
}

static void test_path_names_refused(void **state)
{
    fx_entry e[9];
    size_t n = base_entries(e);
    const char *names[] = {"../evil", "dir/app.bin", "..", "a..b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fx_entry hostile[4] = {e[0], e[1], {.name = names[i], .data = "x", .len = 1}, e[2]};
        fx_zip(bad, hostile, 4);
        char want[128];
        snprintf(want, sizeof want, "entry name \"%s\" refused", names[i]);
        expect_refusal(OTTER_EFORMAT, want);
    }
    fx_entries_free(e, n);
}

static void test_oversized_manifest_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    char *big = malloc(OTTER_MANIFEST_MAX + 2);
    memset(big, ' ', OTTER_MANIFEST_MAX + 1);
    big[OTTER_MANIFEST_MAX + 1] = '\0';
    free((void *)e[0].data);
    e[0].data = big;
    e[0].len = OTTER_MANIFEST_MAX + 1;
    fx_zip(bad, e, n);
    expect_refusal(OTTER_EFORMAT, "manifest.json: too large (1048577 bytes, limit 1048576)");
    fx_entries_free(e, n);
}

static void test_data_descriptor_refused(void **state)
{
    /* The first local header, rewritten as a streaming writer would: flag
     * bit 3 set, CRC and sizes zero (they would follow the data). */
    size_t len = 0;
    uint8_t *buf = fx_slurp(base, &len);
    assert_memory_equal(buf, "PK\3\4", 4);
    buf[6] |= 0x08;
    memset(buf + 14, 0, 12);
    fx_spit(bad, buf, len);
    free(buf);
    expect_refusal(OTTER_EFORMAT,
                   "entry \"manifest.json\" has no size in its local header (data descriptor)");
}

static void test_compressed_entry_refused(void **state)
{
    fx_entry e[8];
    size_t n = base_entries(e);
    e[2].deflate = 1;
    fx_zip(bad, e, n);
    expect_refusal(OTTER_EFORMAT, "entry \"rootfs.img.zst\" is compressed (ZIP 2.0 (deflation))");
    fx_entries_free(e, n);
}

static void test_not_a_zip_refused(void **state)
{
    fx_spit(bad, "this is not a zip file at all, just text", 40);
    otter_err err;
    otter_pkg_reader *r = NULL;
    assert_otter_error(otter_pkg_reader_open_file(bad, 0, &r, &err), err, OTTER_EFORMAT,
                       "not a zip package");
    assert_null(r);
}

static void test_wrong_model_refused(void **state)
{
    otter_err err;
    assert_otter_ok(fx_read_all(base, trust_ed0, "model-a", &err), err);
    assert_otter_error(fx_read_all(base, trust_ed0, "model-x", &err), err, OTTER_ECOMPAT,
                       "model \"model-x\" is not in compatible (model-a, ...)");
}

static void test_api_misuse_is_an_error(void **state)
{
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    assert_otter_ok(otter_pkg_reader_open_file(base, 0, &r, &err), err);
    assert_otter_error(otter_pkg_next_image(r, &img, &err), err, OTTER_ESTATE,
                       "read the manifest first");
    assert_otter_error(otter_pkg_read_manifest(r, NULL, &m, NULL, &err), err, OTTER_EUSAGE,
                       "no trust root to verify against");
    otter_pkg_reader_free(r);
}

typedef struct trickle {
    const uint8_t *data;
    size_t len, pos;
    unsigned step;
} trickle;

/* Hands out 1..13 bytes per call, like a slow network would. */
static ssize_t trickle_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    trickle *t = ctx;
    t->step = t->step % 13 + 1;
    size_t n = t->len - t->pos < t->step ? t->len - t->pos : t->step;
    n = n < len ? n : len;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return (ssize_t)n;
}

static void test_trickling_source_reads_whole_package(void **state)
{
    size_t len = 0;
    uint8_t *buf = fx_slurp(base, &len);
    trickle t = {.data = buf, .len = len};
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    assert_otter_ok(otter_pkg_reader_new(trickle_read, &t, "net", 0, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust_ed0, &m, NULL, &err), err);
    int images = 0, rc;
    /* next_image drains and checks each image even when the caller skips it. */
    while ((rc = otter_pkg_next_image(r, &img, &err)) == 1)
        images++;
    assert_otter_ok(rc, err);
    assert_int_equal(images, 2);
    assert_int_equal(otter_pkg_bytes_in(r), len);
    otter_pkg_reader_free(r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_ed25519),
        cmocka_unit_test(test_roundtrip_ecdsa_p256),
        cmocka_unit_test(test_roundtrip_rsa_3072),
        cmocka_unit_test(test_two_of_three_mixed_key_types),
        cmocka_unit_test(test_duplicate_signature_counts_once),
        cmocka_unit_test(test_unsigned_refused),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_tampered_manifest_refused),
        cmocka_unit_test(test_tampered_payload_byte_refused),
        cmocka_unit_test(test_tampered_payload_with_fixed_crc_refused),
        cmocka_unit_test(test_payload_larger_than_declared_refused),
        cmocka_unit_test(test_payload_smaller_than_declared_refused),
        cmocka_unit_test(test_decompression_bomb_stops_at_declared_size),
        cmocka_unit_test(test_truncated_everywhere_refused),
        cmocka_unit_test(test_extra_entry_refused),
        cmocka_unit_test(test_duplicate_entry_refused),
        cmocka_unit_test(test_reordered_entries_refused),
        cmocka_unit_test(test_missing_entry_refused),
        cmocka_unit_test(test_path_names_refused),
        cmocka_unit_test(test_oversized_manifest_refused),
        cmocka_unit_test(test_data_descriptor_refused),
        cmocka_unit_test(test_compressed_entry_refused),
        cmocka_unit_test(test_not_a_zip_refused),
        cmocka_unit_test(test_wrong_model_refused),
        cmocka_unit_test(test_api_misuse_is_an_error),
        cmocka_unit_test(test_trickling_source_reads_whole_package),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
