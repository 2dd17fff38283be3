/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta keys of a format 2 manifest (docs/package-format.md, "Delta
 * images"): parsed strictly, written back unchanged, and every rule refused
 * with a message that names the field.
 */
#include "otter_test.h"
#include "otter_manifest.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define S64 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char valid[] =
    "{\"format\": 2, \"product\": \"p\", \"compatible\": [\"m\"], \"version\": \"2.0\",\n"
    " \"security_version\": 1, \"created\": \"2026-12-07T08:51:42Z\", \"delta_from\": \"1.0\",\n"
    " \"images\": [{\"name\": \"rootfs\", \"file\": \"rootfs.img.zst\", \"handler\": \"raw\",\n"
    "   \"target\": \"rootfs\", \"compression\": \"zstd\", \"size\": 200000, \"sha256\": \"" H64
    "\",\n"
    "   \"delta_base_sha256\": \"" S64 "\", \"delta_base_size\": 300000, \"chunk_size\": 65536,\n"
    "   \"chunks\": [\n"
    "    {\"size\": 65536, \"sha256\": \"" H64 "\", \"stored_offset\": 0, \"stored_size\": 0,\n"
    "     \"method\": \"copy\", \"source\": {\"offset\": 1000, \"size\": 65536}},\n"
    "    {\"size\": 65536, \"sha256\": \"" H64 "\", \"stored_offset\": 0, \"stored_size\": 100,\n"
    "     \"stored_sha256\": \"" S64 "\", \"method\": \"zstd-patch\",\n"
    "     \"source\": {\"offset\": 0, \"size\": 262144}},\n"
    "    {\"size\": 65536, \"sha256\": \"" H64 "\", \"stored_offset\": 100, \"stored_size\": 50,\n"
    "     \"stored_sha256\": \"" S64 "\", \"method\": \"bsdiff\",\n"
    "     \"source\": {\"offset\": 37856, \"size\": 262144}},\n"
    "    {\"size\": 3392, \"sha256\": \"" H64 "\", \"stored_offset\": 150, \"stored_size\": 70,\n"
    "     \"stored_sha256\": \"" S64 "\"}]},\n"
    "  {\"name\": \"app\", \"file\": \"app.bin\", \"handler\": \"file\", \"target\": \"app\",\n"
    "   \"compression\": \"none\", \"size\": 10, \"sha256\": \"" H64 "\",\n"
    "   \"delta_base_sha256\": null, \"chunk_size\": 65536,\n"
    "   \"chunks\": [{\"size\": 10, \"sha256\": \"" H64 "\", \"stored_offset\": 0,\n"
    "    \"stored_size\": 10}]}],\n"
    " \"hooks\": null}";

/* Parses valid with the nth (from 1) occurrence of from replaced by to; expects code and needle. */
static void expect_nth(const char *from, int nth, const char *to, int code, const char *needle)
{
    const char *at = valid;
    for (int i = 0; i < nth; i++)
        if (!(at = strstr(i ? at + 1 : at, from)))
            fail_msg("fixture lacks occurrence %d of \"%s\"", nth, from);
    char buf[8192];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - valid), valid, to, at + strlen(from));
    otter_err err;
    otter_manifest *m = NULL;
    int ret = otter_manifest_parse(buf, strlen(buf), "manifest.json", &m, &err);
    if (code == 0) {
        assert_otter_ok(ret, err);
        otter_manifest_free(m);
        return;
    }
    assert_otter_error(ret, err, code, needle);
    assert_null(m);
}

static void expect(const char *from, const char *to, const char *needle)
{
    expect_nth(from, 1, to, OTTER_EFORMAT, needle);
}

static void test_delta_parses_and_round_trips(void **state)
{
    otter_err err;
    otter_manifest *m = NULL, *again = NULL;
    assert_otter_ok(otter_manifest_parse(valid, strlen(valid), "manifest.json", &m, &err), err);
    assert_string_equal(m->delta_from, "1.0");
    const otter_manifest_image *img = &m->images[0];
    assert_true(otter_manifest_image_is_delta(img));
    assert_false(otter_manifest_image_is_delta(&m->images[1]));
    assert_int_equal(img->delta_base_size, 300000);
    assert_int_equal(img->chunks[0].method, OTTER_METHOD_COPY);
    assert_int_equal(img->chunks[0].source_offset, 1000);
    assert_int_equal(img->chunks[0].source_size, 65536);
    assert_int_equal(img->chunks[0].stored_size, 0);
    assert_int_equal(img->chunks[1].method, OTTER_METHOD_ZSTD_PATCH);
    assert_int_equal(img->chunks[2].method, OTTER_METHOD_BSDIFF);
    assert_int_equal(img->chunks[2].source_offset, 37856);
    assert_int_equal(img->chunks[3].method, OTTER_METHOD_ZSTD);
    char *text = otter_manifest_serialize_new(m);
    assert_non_null(text);
    assert_null(strstr(text, "\"method\": \"zstd\"")); /* the default is not written */
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    char *text2 = otter_manifest_serialize_new(again);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    otter_manifest_free(again);
    otter_manifest_free(m);
}

static void test_image_rules(void **state)
{
    expect("\"delta_base_size\": 300000", "\"delta_base_size\": 0",
           "images[0].delta_base_size: 0 out of range 1..");
    expect(", \"delta_base_size\": 300000", "", "images[0]: missing \"delta_base_size\"");
    expect("\"delta_base_size\": 300000", "\"delta_base_size\": \"1\"",
           "images[0].delta_base_size");
    expect("\"delta_base_sha256\": null, \"chunk_size\"",
           "\"delta_base_sha256\": null, \"delta_base_size\": 5, \"chunk_size\"",
           "images[1].delta_base_size: only a delta image");
    expect("\"handler\": \"raw\"", "\"handler\": \"archive\"",
           "images[0].handler: \"archive\" cannot be a delta");
    expect("\"delta_base_sha256\": \"" S64 "\"", "\"delta_base_sha256\": \"" H64 "X\"",
           "delta_base_sha256");
}

static void test_top_level_rules(void **state)
{
    expect(" \"delta_from\": \"1.0\",", "", "delta_from: missing");
    expect("\"delta_from\": \"1.0\"", "\"delta_from\": \"../x\"",
           "delta_from: not a valid version");
    expect("\"delta_from\": \"1.0\"", "\"delta_from\": 1", "delta_from");
    expect("\"format\": 2", "\"format\": 1", "delta");
}

static void test_chunk_rules(void **state)
{
    /* a method from a newer release: its own code, on which an agent falls back */
    expect_nth("\"method\": \"copy\"", 1, "\"method\": \"xdelta\"", OTTER_EMETHOD,
               "images[0].chunks[0].method: \"xdelta\" is not zstd, copy, zstd-patch, bsdiff or "
               "bsdiff-lzma");
    expect("\"method\": \"copy\"", "\"method\": 3", "images[0].chunks[0]");
    /* copy: nothing stored, the whole chunk from the source */
    expect("\"stored_offset\": 0, \"stored_size\": 0", "\"stored_offset\": 0, \"stored_size\": 1",
           "images[0].chunks[0].stored_size: 1 out of range 0..0");
    expect("\"stored_size\": 0,\n", "\"stored_size\": 0, \"stored_sha256\": \"" S64 "\",\n",
           "images[0].chunks[0].stored_sha256: not allowed with method copy");
    expect("\"source\": {\"offset\": 1000, \"size\": 65536}",
           "\"source\": {\"offset\": 1000, \"size\": 65535}",
           "images[0].chunks[0].source.size: 65535, a copy takes the chunk's size 65536");
    expect(", \"source\": {\"offset\": 1000, \"size\": 65536}", "",
           "images[0].chunks[0].source: required with method copy");
    /* ranges inside the source and at most 4 x chunk_size */
    expect("\"offset\": 1000", "\"offset\": 234465",
           "images[0].chunks[0].source: 234465 + 65536 bytes pass the end of the source "
           "(delta_base_size 300000)");
    expect("\"offset\": 37856, \"size\": 262144", "\"offset\": 37856, \"size\": 262145",
           "images[0].chunks[2].source.size: 262145 out of range 1..262144");
    expect("\"offset\": 0, \"size\": 262144", "\"offset\": 0, \"size\": 0",
           "images[0].chunks[1].source.size: 0 out of range");
    expect("\"offset\": 1000,", "\"offset\": 1000, \"sha256\": 1,",
           "images[0].chunks[0].source: unknown key \"sha256\"");
    expect("\"offset\": 1000,", "\"offset\": -1,",
           "images[0].chunks[0].source.offset: -1 out of range");
    /* patch methods store a frame: stored_size >= 1 and its digest */
    expect("\"stored_size\": 100,\n     \"stored_sha256\": \"" S64 "\", ",
           "\"stored_size\": 100,\n     ", "images[0].chunks[1]: missing \"stored_sha256\"");
    expect("\"stored_offset\": 100, \"stored_size\": 50",
           "\"stored_offset\": 100, \"stored_size\": 0",
           "images[0].chunks[2].stored_size: 0 out of range 1..");
    /* a zstd chunk has no source */
    expect("\"stored_sha256\": \"" S64 "\"}]}",
           "\"stored_sha256\": \"" S64 "\", \"source\": {\"offset\": 0, \"size\": 1}}]}",
           "images[0].chunks[3].source: not allowed with method zstd");
    /* method and source only in delta images */
    expect("\"stored_size\": 10}", "\"stored_size\": 10, \"method\": \"copy\"}",
           "images[1].chunks[0]: unknown key \"method\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_parses_and_round_trips),
        cmocka_unit_test(test_image_rules),
        cmocka_unit_test(test_top_level_rules),
        cmocka_unit_test(test_chunk_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
