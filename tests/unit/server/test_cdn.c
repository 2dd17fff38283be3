/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed artifact links (otter_cdn.h): the signature is the one nginx's
 * secure_link_md5 "$secure_link_expires$uri <secret>" computes (vectors
 * from the shell, see VECTOR), links name the path nginx will see, and the
 * server's own check refuses what nginx refuses: a changed path, expiry or
 * signature (403) and an expired link (410).
 */
#include "otter_test.h"
#include "otter_cdn.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SECRET "s3cr3t-For-the-test+/="
/*
 * VECTOR: printf '%s' "2000000004/cdn/$SHA $SECRET" | openssl md5 -binary | openssl base64
 * gives 8CR2FSH7/CnfyZpsVG82Lw== ; base64url without padding as nginx reads it:
 */
#define VECTOR "8CR2FSH7_CnfyZpsVG82Lw"

static void test_known_vector(void **state)
{
    (void)state;
    otter_err err;
    char sig[OTTER_CDN_SIG_LEN + 1];
    assert_otter_ok(otter_cdn_sign(SECRET, "/cdn/" SHA, 2000000004, sig, &err), err);
    assert_string_equal(sig, VECTOR);
    /* printf '%s' "1/x y" | openssl md5 -binary | openssl base64 -> pgA3z2Ubl5W8bWIhkV9RFg== */
    assert_otter_ok(otter_cdn_sign("y", "/x", 1, sig, &err), err);
    assert_string_equal(sig, "pgA3z2Ubl5W8bWIhkV9RFg");
}

/* A signer for base_url with SECRET in a file; cfg and cdn freed by the caller. */
static otter_cdn *signer(const char *base, const char *secret, otter_server_config **cfg)
{
    otter_err err;
    char path[PATH_MAX + 16], text[1024];
    snprintf(path, sizeof path, "%s/secret", otter_test_dir("cdn_secret"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", secret);
    fclose(f);
    snprintf(text, sizeof text, "[cdn]\nbase_url = %s\nsecret_file = %s\nlink_ttl = 1h\n", base,
             path);
    assert_otter_ok(otter_server_config_parse_mem(text, strlen(text), cfg, &err), err);
    otter_cdn *cdn = NULL;
    int ret = otter_cdn_new(*cfg, NULL, &cdn, &err);
    if (ret < 0) {
        otter_server_config_free(*cfg);
        *cfg = NULL;
        return NULL;
    }
    return cdn;
}

static void test_link_and_check(void **state)
{
    (void)state;
    otter_err err;
    otter_server_config *cfg = NULL;
    otter_cdn *cdn = signer("http://127.0.0.1:8081/cdn", SECRET, &cfg);
    assert_non_null(cdn);
    char link[1024];
    /* now + 1h = 2000000004: the vector above, under base_url's path /cdn. */
    assert_otter_ok(otter_cdn_link(cdn, SHA, 2000000004 - 3600, link, sizeof link, &err), err);
    assert_string_equal(link,
                        "http://127.0.0.1:8081/cdn/" SHA "?md5=" VECTOR "&expires=2000000004");
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, "2000000004", 2000000000), 0);
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, "2000000004", 2000000004), 0);
    /* Expired: signed right, but past its time (nginx: $secure_link "0", 410). */
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, "2000000004", 2000000005), 410);
    /* Tampered: expiry, path (another artifact), signature; missing or malformed parts. */
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, "2000000005", 2000000000), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA2, VECTOR, "2000000004", 2000000000), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA, "8CR2FSH7_CnfyZpsVG82Lx", "2000000004", 0), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA, NULL, "2000000004", 0), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, NULL, 0), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR, "+2000000004", 0), 403);
    assert_int_equal(otter_cdn_check(cdn, SHA, VECTOR "==", "2000000004", 0), 403);
    assert_otter_error(otter_cdn_link(cdn, "../etc/passwd", 0, link, sizeof link, &err), err,
                       OTTER_EUSAGE, "not a SHA-256");
    otter_cdn_free(cdn);
    otter_server_config_free(cfg);
}

static void test_secret_and_config(void **state)
{
    (void)state;
    otter_err err;
    otter_server_config *cfg = NULL;
    /* nginx would expand '$' in secure_link_md5; too short guesses too easily. */
    assert_null(signer("http://cdn.example", "has-a-$dollar-sign-in-it", &cfg));
    assert_null(signer("http://cdn.example", "short", &cfg));
    const char *alone = "[cdn]\nbase_url = http://cdn.example\n";
    assert_otter_error(otter_server_config_parse_mem(alone, strlen(alone), &cfg, &err), err,
                       OTTER_EFORMAT, "[cdn] base_url and secret_file go together");
    const char *slash = "[cdn]\nbase_url = http://cdn.example/\nsecret_file = /s\n";
    assert_otter_error(otter_server_config_parse_mem(slash, strlen(slash), &cfg, &err), err,
                       OTTER_EFORMAT, "[cdn] base_url: no trailing '/'");
    /* No [cdn]: no signer, the server's own links. */
    assert_otter_ok(otter_server_config_parse_mem("", 0, &cfg, &err), err);
    otter_cdn *cdn = (otter_cdn *)1;
    assert_otter_ok(otter_cdn_new(cfg, NULL, &cdn, &err), err);
    assert_null(cdn);
    assert_int_equal(cfg->storage_database, 0);
    assert_int_equal(cfg->cdn_link_ttl, 3600);
    otter_server_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_link_and_check),
        cmocka_unit_test(test_secret_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
