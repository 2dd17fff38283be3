/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_manifest.h"

static const char valid[] =
    "{\"format\": 1, \"product\": \"zx-gw-5g\", \"compatible\": [\"zx-gw-5g-a\", \"zx-gw-5g-b\"],\n"
    " \"version\": \"2.4.1\", \"security_version\": 7, \"created\": \"2026-11-25T10:00:00Z\",\n"
    " \"images\": [{\"name\": \"rootfs\", \"file\": \"rootfs.img.zst\", \"handler\": \"raw\",\n"
    "   \"target\": \"rootfs\", \"compression\": \"zstd\", \"size\": 268435456,\n"
    "   \"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\n"
    "   \"delta_base_sha256\": null}],\n"
    " \"hooks\": {\"pre_install\": null, \"post_install\": null}}";

/* Parses doc with the nth (from 1) occurrence of from replaced by to; expects code and a message
 * part. */
static void expect_in(const char *doc, const char *from, int nth, const char *to, int code,
                      const char *needle)
{
    const char *at = doc;
    for (int i = 0; i < nth; i++)
        if (!(at = strstr(i ? at + 1 : at, from)))
            fail_msg("fixture lacks occurrence %d of \"%s\"", nth, from);
    char buf[8192];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from));
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

static void expect(const char *from, const char *to, int code, const char *needle)
{
    expect_in(valid, from, 1, to, code, needle);
}

#define HOOK_SHA "\"sha256\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

/* Install hooks and partial packages (issue #14): signed file entries, "replaces". */
static void test_hooks_and_replaces(void **state)
{
    (void)state;
    const char *pre = "\"pre_install\": null";
    char buf[8192];
    snprintf(buf, sizeof buf,
             "%.*s\"pre_install\": {\"file\": \"pre.sh\", \"size\": 12, " HOOK_SHA "}%s",
             (int)(strstr(valid, pre) - valid), valid, strstr(valid, pre) + strlen(pre));
    char *tail = strrchr(buf, '}');
    snprintf(tail, sizeof buf - (size_t)(tail - buf), ", \"replaces\": [\"rootfs\"]}");
    otter_err err;
    otter_manifest *m = NULL;
    assert_otter_ok(otter_manifest_parse(buf, strlen(buf), "manifest.json", &m, &err), err);
    assert_string_equal(m->hooks[OTTER_HOOK_PRE].file, "pre.sh");
    assert_int_equal(m->hooks[OTTER_HOOK_PRE].size, 12);
    assert_string_equal(m->hooks[OTTER_HOOK_POST].file, "");
    assert_int_equal(m->replaces_count, 1);
    assert_true(otter_manifest_replaces(m, "rootfs"));
    assert_false(otter_manifest_replaces(m, "app"));
    char *text = otter_manifest_serialize_new(m);
    otter_manifest *again = NULL;
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    assert_string_equal(again->hooks[OTTER_HOOK_PRE].sha256, m->hooks[OTTER_HOOK_PRE].sha256);
    assert_string_equal(again->replaces[0], "rootfs");
    free(text);
    otter_manifest_free(again);
    otter_manifest_free(m);
    /* The old string form was never run: refused rather than ignored. */
    expect(pre, "\"pre_install\": \"echo hi\"", OTTER_EFORMAT,
           "hooks.pre_install: expected null or an object");
    expect(pre, "\"pre_install\": {\"file\": \"pre.sh\", \"size\": 0, " HOOK_SHA "}", OTTER_EFORMAT,
           "hooks.pre_install.size: 0 out of range");
    expect(pre, "\"pre_install\": {\"file\": \"../pre.sh\", \"size\": 1, " HOOK_SHA "}",
           OTTER_EFORMAT, "not a valid entry name");
    expect(pre, "\"pre_install\": {\"file\": \"rootfs.img.zst\", \"size\": 1, " HOOK_SHA "}",
           OTTER_EFORMAT, "is also image rootfs's file");
    expect(pre, "\"pre_install\": {\"file\": \"p\", \"size\": 1, \"sha256\": \"x\"}", OTTER_EFORMAT,
           "hooks.pre_install.sha256");
    expect(pre, "\"pre_install\": {\"file\": \"p\", \"size\": 1, " HOOK_SHA ", \"mode\": 1}",
           OTTER_EFORMAT, "unknown key \"mode\"");
    expect("\"post_install\": null}", "\"post_install\": null}, \"replaces\": [\"app\"]",
           OTTER_EFORMAT, "replaces[0]: no image for slot class \"app\"");
    expect("\"post_install\": null}", "\"post_install\": null}, \"replaces\": []", OTTER_EFORMAT,
           "replaces: expected 1..32 slot class names");
    expect("\"post_install\": null}",
           "\"post_install\": null}, \"replaces\": [\"rootfs\", "
           "\"rootfs\"]",
           OTTER_EFORMAT, "listed twice");
}

/* Release notes (issue #17): an optional signed object, language tag to bounded text. */
static void test_notes(void **state)
{
    (void)state;
    const char *hooks = " \"hooks\":";
    otter_err err;
    otter_manifest *m = NULL;
    char buf[8192];
    snprintf(buf, sizeof buf,
             "%.*s \"notes\": {\"en\": \"Fixes\\nboot\", \"zh-Hans-CN\": \"\u4fee\"},%s",
             (int)(strstr(valid, hooks) - valid), valid, strstr(valid, hooks));
    assert_otter_ok(otter_manifest_parse(buf, strlen(buf), "manifest.json", &m, &err), err);
    assert_int_equal(m->notes.count, 2);
    assert_string_equal(otter_manifest_notes_get(&m->notes, "en"), "Fixes\nboot");
    char *text = otter_manifest_serialize_new(m);
    assert_non_null(strstr(text, "\"notes\""));
    otter_manifest *again = NULL;
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    assert_string_equal(otter_manifest_notes_get(&again->notes, "zh-Hans-CN"), "\xe4\xbf\xae");
    free(text);
    otter_manifest_free(again);
    otter_manifest_free(m);
    expect(hooks, " \"notes\": {}, \"hooks\":", OTTER_EFORMAT, "notes: expected an object");
    expect(hooks, " \"notes\": [\"x\"], \"hooks\":", OTTER_EFORMAT, "notes: expected an object");
    expect(hooks, " \"notes\": {\"en\": 5}, \"hooks\":", OTTER_EFORMAT,
           "notes: en: expected a string");
    expect(hooks, " \"notes\": {\"e_n\": \"x\"}, \"hooks\":", OTTER_EFORMAT,
           "is not a language tag");
    expect(hooks, " \"notes\": {\"en-\": \"x\"}, \"hooks\":", OTTER_EFORMAT,
           "is not a language tag");
    expect(hooks, " \"notes\": {\"en\": \"\"}, \"hooks\":", OTTER_EFORMAT, "1..8192 bytes");
    expect(hooks, " \"notes\": {\"en\": \"a\\u0000b\"}, \"hooks\":", OTTER_EFORMAT,
           "is not allowed");
    /* Bounds: a text one byte too long, one language too many. */
    char *big = malloc(OTTER_NOTES_TEXT_MAX + 64);
    snprintf(big, OTTER_NOTES_TEXT_MAX + 64,
             " \"notes\": {\"en\": \"%0*d\"}, \"hooks\":", OTTER_NOTES_TEXT_MAX + 1, 0);
    char *doc = malloc(strlen(valid) + strlen(big) + 1);
    sprintf(doc, "%.*s%s%s", (int)(strstr(valid, hooks) - valid), valid, big,
            strstr(valid, hooks) + strlen(hooks));
    assert_otter_error(otter_manifest_parse(doc, strlen(doc), "manifest.json", &m, &err), err,
                       OTTER_EFORMAT, "1..8192 bytes");
    free(doc);
    free(big);
    char many[2048] = " \"notes\": {";
    for (int i = 0; i <= OTTER_NOTES_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"l%c\": \"x\"", i ? ", " : "",
                 'a' + i);
    strcat(many, "}, \"hooks\":");
    expect(hooks, many, OTTER_EFORMAT, "more than 16 languages");
}

#define ROOT_HASH "48f5e240768e2aa4e3add2585a06048641105469dda1fbc37a7b723e2e73b663"

/* The dm-verity root hash of an image (issue #14, Secure Boot): optional, signed, kept. */
static void test_verity_root_hash(void **state)
{
    (void)state;
    const char *at = "\"delta_base_sha256\": null";
    otter_err err;
    otter_manifest *m = NULL;
    char buf[8192];
    snprintf(buf, sizeof buf, "%.*s\"verity_root_hash\": \"" ROOT_HASH "\", %s",
             (int)(strstr(valid, at) - valid), valid, strstr(valid, at));
    assert_otter_ok(otter_manifest_parse(buf, strlen(buf), "manifest.json", &m, &err), err);
    assert_string_equal(m->images[0].verity_root_hash, ROOT_HASH);
    char *text = otter_manifest_serialize_new(m);
    assert_non_null(strstr(text, "\"verity_root_hash\": \"" ROOT_HASH "\""));
    otter_manifest *again = NULL;
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    assert_string_equal(again->images[0].verity_root_hash, ROOT_HASH);
    free(text);
    otter_manifest_free(again);
    otter_manifest_free(m);
    /* Without it: nothing in the struct, nothing serialized. */
    assert_otter_ok(otter_manifest_parse(valid, strlen(valid), "manifest.json", &m, &err), err);
    assert_string_equal(m->images[0].verity_root_hash, "");
    text = otter_manifest_serialize_new(m);
    assert_null(strstr(text, "verity_root_hash"));
    free(text);
    otter_manifest_free(m);
    const char *want = "images[0].verity_root_hash: expected 64 lower-case hex digits";
    expect(at, "\"verity_root_hash\": \"" ROOT_HASH "0\", \"delta_base_sha256\": null",
           OTTER_EFORMAT, want);
    expect(at,
           "\"verity_root_hash\": "
           "\"48F5E240768e2aa4e3add2585a06048641105469dda1fbc37a7b723e2e73b663\", "
           "\"delta_base_sha256\": null",
           OTTER_EFORMAT, want);
    expect(at, "\"verity_root_hash\": null, \"delta_base_sha256\": null", OTTER_EFORMAT, want);
    expect(at, "\"verity_root_hash\": 7, \"delta_base_sha256\": null", OTTER_EFORMAT, want);
}

static void test_valid_parses_and_round_trips(void **state)
{
    otter_err err;
    otter_manifest *m = NULL;
    assert_otter_ok(otter_manifest_parse(valid, strlen(valid), "manifest.json", &m, &err), err);
    assert_string_equal(m->product, "zx-gw-5g");
    assert_int_equal(m->compatible_count, 2);
    assert_string_equal(m->compatible[1], "zx-gw-5g-b");
    assert_int_equal(m->security_version, 7);
    assert_int_equal(m->images[0].size, 268435456);
    assert_int_equal(m->images[0].compression, OTTER_COMPRESSION_ZSTD);
    assert_string_equal(m->images[0].delta_base_sha256, "");
    char *text = otter_manifest_serialize_new(m);
    otter_manifest *again = NULL;
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    char *text2 = otter_manifest_serialize_new(again);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    otter_manifest_free(again);
    assert_non_null(otter_manifest_find_image(m, "rootfs"));
    assert_null(otter_manifest_find_image(m, "kernel"));
    otter_manifest_free(m);
}

static void test_syntax_errors_say_where(void **state)
{
    expect("\"format\": 1,", "\"format\": 1,,", OTTER_EFORMAT, "manifest.json: line 1 column");
    expect("\"product\": \"zx-gw-5g\"", "\"product\": \"zx-gw-5g\", \"product\": \"x\"",
           OTTER_EFORMAT, "duplicate object key");
    expect("}}", "}} trailing", OTTER_EFORMAT, "end of file expected");
    expect("\"zx-gw-5g\"", "\"zx\\u0000gw\"", OTTER_EFORMAT, "\\u0000 is not allowed");
}

static void test_unknown_keys_refused(void **state)
{
    expect("\"format\": 1,", "\"format\": 1, \"extra\": 1,", OTTER_EFORMAT,
           "manifest.json: unknown key \"extra\"");
    expect("\"handler\": \"raw\"", "\"handler\": \"raw\", \"mode\": \"x\"", OTTER_EFORMAT,
           "manifest.json: images[0]: unknown key \"mode\"");
    expect("\"pre_install\": null", "\"pre_install\": null, \"x\": 1", OTTER_EFORMAT,
           "manifest.json: hooks: unknown key \"x\"");
}

static void test_fields_checked(void **state)
{
    expect("\"format\": 1", "\"format\": 3", OTTER_EFORMAT,
           "format 3 is not supported (this reader knows 1 and 2)");
    /* Format 2 images need their chunk table; format 1 images may not have one. */
    expect("\"format\": 1", "\"format\": 2", OTTER_EFORMAT,
           "manifest.json: images[0]: missing \"chunk_size\"");
    expect("\"delta_base_sha256\": null", "\"delta_base_sha256\": null, \"chunk_size\": 65536",
           OTTER_EFORMAT, "manifest.json: images[0]: unknown key \"chunk_size\"");
    expect("\"product\": \"zx-gw-5g\", ", "", OTTER_EFORMAT, "manifest.json: missing \"product\"");
    expect("\"security_version\": 7", "\"security_version\": \"7\"", OTTER_EFORMAT,
           "manifest.json: security_version: expected an integer, got a string");
    expect("\"security_version\": 7", "\"security_version\": -1", OTTER_EFORMAT,
           "security_version: -1 out of range");
    expect("\"size\": 268435456", "\"size\": 1.5", OTTER_EFORMAT,
           "images[0].size: expected an integer, got a number");
    expect("\"sha256\": \"0123", "\"sha256\": \"X123", OTTER_EFORMAT,
           "images[0].sha256: expected 64 lower-case hex digits");
    expect("\"compression\": \"zstd\"", "\"compression\": \"xz\"", OTTER_EFORMAT,
           "images[0].compression: \"xz\" is not \"zstd\" or \"none\"");
    /* Any other valid name is a custom handler (agent.conf [handler.NAME]); a bad name is not. */
    expect("\"handler\": \"raw\"", "\"handler\": \"mo dem\"", OTTER_EFORMAT,
           "images[0].handler: \"mo dem\" is not raw, archive, file or a handler name");
    expect("\"created\": \"2026-11-25T10:00:00Z\"", "\"created\": \"yesterday\"", OTTER_EFORMAT,
           "created: \"yesterday\" is not a UTC time");
    expect("\"created\": \"2026-11-25T10:00:00Z\"", "\"created\": \"2026-13-25T10:00:00Z\"",
           OTTER_EFORMAT, "created: \"2026-13-25T10:00:00Z\" is not a UTC time");
    expect("\"version\": \"2.4.1\"", "\"version\": \"2.4.1; rm -rf /\"", OTTER_EFORMAT,
           "version: \"2.4.1; rm -rf /\" is not a valid version");
    expect("\"delta_base_sha256\": null", "\"delta_base_sha256\": 5", OTTER_EFORMAT,
           "delta_base_sha256: expected null or 64 lower-case hex digits");
    expect("\"compatible\": [\"zx-gw-5g-a\", \"zx-gw-5g-b\"]", "\"compatible\": []", OTTER_EFORMAT,
           "compatible: 0 entries, allowed 1..256");
    expect("\"zx-gw-5g-b\"]", "\"zx-gw-5g-a\"]", OTTER_EFORMAT,
           "compatible[1]: \"zx-gw-5g-a\" listed twice");
    expect("\"hooks\": {\"pre_install\": null, \"post_install\": null}", "\"hooks\": null", 0, "");
}

/* A format-2 manifest: 3 chunks of 64 KiB over 150000 bytes. */
#define D64(c)                                                                                     \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c
static const char valid_v2[] =
    "{\"format\": 2, \"product\": \"gw\", \"compatible\": [\"gw-a\"], \"version\": \"2\",\n"
    " \"security_version\": 1, \"created\": \"2026-11-25T10:00:00Z\",\n"
    " \"images\": [{\"name\": \"rootfs\", \"file\": \"rootfs.img.zst\", \"handler\": \"raw\",\n"
    "   \"target\": \"rootfs\", \"compression\": \"zstd\", \"size\": 150000,\n"
    "   \"sha256\": \"" D64(
        "a") "\", \"delta_base_sha256\": null, \"chunk_size\": 65536,\n"
             "   \"chunks\": [\n"
             "    {\"size\": 65536, \"sha256\": \"" D64(
                 "b") "\", \"stored_offset\": 0, \"stored_size\": 100,"
                      " \"stored_sha256\": \"" D64(
                          "c") "\"},\n"
                               "    {\"size\": 65536, \"sha256\": \"" D64(
                                   "d") "\", \"stored_offset\": 100, \"stored_size\": 200,"
                                        " \"stored_sha256\": \"" D64(
                                            "e") "\"},\n"
                                                 "    {\"size\": 18928, \"sha256\": \"" D64(
                                                     "f") "\", \"stored_offset\": 300, "
                                                          "\"stored_size\": 50,"
                                                          " \"stored_sha256\": \"" D64(
                                                              "0") "\"}]}],\n"
                                                                   " \"hooks\": null}";

static void expect_v2(const char *from, int nth, const char *to, int code, const char *needle)
{
    expect_in(valid_v2, from, nth, to, code, needle);
}

static void test_chunk_table(void **state)
{
    otter_err err;
    otter_manifest *m = NULL;
    assert_otter_ok(otter_manifest_parse(valid_v2, strlen(valid_v2), "m", &m, &err), err);
    assert_int_equal(m->format, 2);
    assert_int_equal(m->images[0].chunk_size, 65536);
    assert_int_equal(m->images[0].chunk_count, 3);
    assert_int_equal(m->images[0].chunks[2].size, 18928);
    assert_int_equal(m->images[0].chunks[2].stored_offset, 300);
    assert_int_equal(m->images[0].chunks[1].sha256[0], 0xdd);
    assert_int_equal(m->images[0].chunks[1].stored_sha256[31], 0xee);
    /* It round-trips through the writer's serializer. */
    char *text = otter_manifest_serialize_new(m);
    otter_manifest *again = NULL;
    assert_otter_ok(otter_manifest_parse(text, strlen(text), "again", &again, &err), err);
    char *text2 = otter_manifest_serialize_new(again);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    otter_manifest_free(again);
    otter_manifest_free(m);

    expect_v2("\"chunk_size\": 65536", 1, "\"chunk_size\": 65537", OTTER_EFORMAT,
              "images[0].chunk_size: 65537 is not a power of two from 65536 to 8388608");
    expect_v2("\"chunk_size\": 65536", 1, "\"chunk_size\": 32768", OTTER_EFORMAT,
              "images[0].chunk_size: 32768 out of range 65536..8388608");
    expect_v2("\"size\": 150000", 1, "\"size\": 200000", OTTER_EFORMAT,
              "images[0].chunks: 3 chunks, but 200000 bytes in 65536-byte chunks make 4");
    expect_v2("\"size\": 18928", 1, "\"size\": 18927", OTTER_EFORMAT,
              "images[0].chunks[2].size: 18927, expected 18928");
    expect_v2("\"size\": 65536", 2, "\"size\": 65535", OTTER_EFORMAT,
              "images[0].chunks[1].size: 65535, expected 65536");
    expect_v2("\"stored_offset\": 100", 1, "\"stored_offset\": 99", OTTER_EFORMAT,
              "images[0].chunks[1].stored_offset: 99, expected 100 (chunks are contiguous)");
    expect_v2("\"stored_size\": 100", 1, "\"stored_size\": 0", OTTER_EFORMAT,
              "images[0].chunks[0].stored_size: 0 out of range");
    expect_v2("\"stored_size\": 100", 1, "\"stored_size\": 70000", OTTER_EFORMAT,
              "images[0].chunks[0].stored_size: 70000 out of range 1..");
    expect_v2(", \"stored_sha256\": \"" D64("c") "\"", 1, "", OTTER_EFORMAT,
              "images[0].chunks[0]: missing \"stored_sha256\"");
    expect_v2("\"sha256\": \"" D64("b") "\"", 1, "\"sha256\": \"" D64("B") "\"", OTTER_EFORMAT,
              "images[0].chunks[0].sha256: expected 64 lower-case hex digits");
    expect_v2("\"stored_size\": 100,", 1, "\"stored_size\": 100, \"method\": \"copy\",",
              OTTER_EFORMAT, "images[0].chunks[0]: unknown key \"method\"");
    expect_v2("{\"size\": 65536", 1, "[", OTTER_EFORMAT, "manifest.json: line");
    /* Uncompressed chunks: stored bytes are the installed bytes, no second digest. */
    expect_v2("\"compression\": \"zstd\"", 1, "\"compression\": \"none\"", OTTER_EFORMAT,
              "images[0].chunks[0]: unknown key \"stored_sha256\"");
}

static void test_entry_names_refused(void **state)
{
    const char *bad[] = {"../rootfs", "a/b", "..", ".hidden", "manifest.sig", "x..y", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"file\": \"%s\"", bad[i]);
        expect("\"file\": \"rootfs.img.zst\"", to, OTTER_EFORMAT, "images[0].file");
    }
}

static void test_images_unique(void **state)
{
    const char *img =
        "{\"name\": \"rootfs\", \"file\": \"rootfs.img.zst\", \"handler\": \"raw\","
        " \"target\": \"rootfs\", \"compression\": \"zstd\", \"size\": 1,"
        " \"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}";
    char twice[1024];
    snprintf(twice, sizeof twice, "\"images\": [%s, %s, ", img, img);
    expect("\"images\": [", twice, OTTER_EFORMAT, "images[1].name: \"rootfs\" used twice");
}

static void test_limits(void **state)
{
    otter_err err;
    otter_manifest *m = NULL;
    char *big = malloc(OTTER_MANIFEST_MAX + 10);
    memset(big, ' ', OTTER_MANIFEST_MAX + 10);
    assert_otter_error(otter_manifest_parse(big, OTTER_MANIFEST_MAX + 1, "m.json", &m, &err), err,
                       OTTER_EFORMAT, "m.json: too large (1048577 bytes, limit 1048576)");
    /* Deep nesting is refused by the parser, not by our stack. */
    size_t depth = 100000;
    for (size_t i = 0; i < depth; i++)
        big[i] = '[';
    assert_otter_error(otter_manifest_parse(big, depth, "m.json", &m, &err), err, OTTER_EFORMAT,
                       "m.json: line 1");
    free(big);
    char name[100];
    memset(name, 'a', 65);
    name[65] = '\0';
    char to[128];
    snprintf(to, sizeof to, "\"product\": \"%s\"", name);
    expect("\"product\": \"zx-gw-5g\"", to, OTTER_EFORMAT, "product: length 65 out of range 1..64");
}

static void test_check_device(void **state)
{
    otter_err err;
    otter_manifest *m = NULL;
    assert_otter_ok(otter_manifest_parse(valid, strlen(valid), "manifest.json", &m, &err), err);
    assert_otter_ok(otter_manifest_check_device(m, "zx-gw-5g", "zx-gw-5g-b", &err), err);
    assert_otter_error(otter_manifest_check_device(m, "other", "zx-gw-5g-b", &err), err,
                       OTTER_ECOMPAT, "built for product \"zx-gw-5g\", device is \"other\"");
    assert_otter_error(otter_manifest_check_device(m, NULL, "zx-gw-4g", &err), err, OTTER_ECOMPAT,
                       "model \"zx-gw-4g\" is not in compatible (zx-gw-5g-a, ...)");
    otter_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_parses_and_round_trips),
        cmocka_unit_test(test_syntax_errors_say_where),
        cmocka_unit_test(test_unknown_keys_refused),
        cmocka_unit_test(test_fields_checked),
        cmocka_unit_test(test_chunk_table),
        cmocka_unit_test(test_entry_names_refused),
        cmocka_unit_test(test_images_unique),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_check_device),
        cmocka_unit_test(test_notes),
        cmocka_unit_test(test_verity_root_hash),
        cmocka_unit_test(test_hooks_and_replaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
