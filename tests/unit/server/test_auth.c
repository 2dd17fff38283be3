/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_auth.h"
#include "otter_rbac.h"

static void test_password_roundtrip(void **state)
{
    otter_err err;
    char *hash = NULL, *hash2 = NULL;
    int match = -1;
    assert_otter_ok(otter_auth_password_hash("correct horse", &hash, &err), err);
    assert_int_equal(strncmp(hash, "$y$", 3), 0);
    assert_otter_ok(otter_auth_password_verify("correct horse", hash, &match, &err), err);
    assert_int_equal(match, 1);
    assert_otter_ok(otter_auth_password_verify("correct hors", hash, &match, &err), err);
    assert_int_equal(match, 0);
    assert_otter_ok(otter_auth_password_verify("correct horsee", hash, &match, &err), err);
    assert_int_equal(match, 0);
    /* Fresh salt each time. */
    assert_otter_ok(otter_auth_password_hash("correct horse", &hash2, &err), err);
    assert_string_not_equal(hash, hash2);
    free(hash);
    free(hash2);
}

static void test_password_policy_and_bad_hashes(void **state)
{
    otter_err err;
    char *hash = NULL;
    int match = -1;
    assert_otter_error(otter_auth_password_hash("short", &hash, &err), err, OTTER_EFORMAT,
                       "shorter than 8");
    assert_null(hash);
    char big[OTTER_AUTH_PASSWORD_MAX + 2];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_otter_error(otter_auth_password_hash(big, &hash, &err), err, OTTER_EFORMAT,
                       "longer than");
    /* Unknown user, legacy or garbage hashes: a mismatch, never a crash or an error. */
    const char *bad[] = {NULL, "", "*", "$1$abc$def", "$y$", "$y$garbage", "plaintext"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_otter_ok(otter_auth_password_verify("whatever1", bad[i], &match, &err), err);
        assert_int_equal(match, 0);
    }
    assert_otter_ok(otter_auth_password_verify(big, "$y$j9T$abc$def", &match, &err), err);
    assert_int_equal(match, 0);
}

static void test_tokens(void **state)
{
    otter_err err;
    char a[OTTER_AUTH_TOKEN_MAX], b[OTTER_AUTH_TOKEN_MAX];
    char sa[OTTER_AUTH_SHA256_HEX], sb[OTTER_AUTH_SHA256_HEX], again[OTTER_AUTH_SHA256_HEX];
    assert_otter_ok(otter_auth_token_new("ots", a, sizeof a, sa, &err), err);
    assert_otter_ok(otter_auth_token_new("ots", b, sizeof b, sb, &err), err);
    assert_int_equal(strlen(a), 4 + 64);
    assert_int_equal(strncmp(a, "ots_", 4), 0);
    assert_string_not_equal(a, b);
    assert_string_not_equal(sa, sb);
    otter_auth_token_hash(a, again);
    assert_string_equal(sa, again);
    assert_int_equal(strlen(sa), 64);
    /* Known answer: SHA-256("abc"). */
    otter_auth_token_hash("abc", again);
    assert_string_equal(again, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char small[10];
    assert_otter_error(otter_auth_token_new("ots", small, sizeof small, sa, &err), err,
                       OTTER_EUSAGE, "too small");
}

static void test_generated_password(void **state)
{
    otter_err err;
    char p1[32], p2[32];
    assert_otter_ok(otter_auth_password_generate(p1, sizeof p1, &err), err);
    assert_otter_ok(otter_auth_password_generate(p2, sizeof p2, &err), err);
    assert_int_equal(strlen(p1), 24);
    assert_string_not_equal(p1, p2);
    assert_otter_ok(otter_auth_password_policy(p1, &err), err);
}

static void test_rbac(void **state)
{
    otter_err err;
    otter_role r;
    assert_otter_ok(otter_rbac_role_parse("publisher", &r, &err), err);
    assert_int_equal(r, OTTER_ROLE_PUBLISHER);
    assert_string_equal(otter_rbac_role_name(r), "publisher");
    assert_otter_error(otter_rbac_role_parse("root", &r, &err), err, OTTER_EFORMAT, "unknown role");
    assert_otter_error(otter_rbac_role_parse("", &r, &err), err, OTTER_EFORMAT, "unknown role");
    assert_true(otter_rbac_allows(OTTER_ROLE_OPERATOR, 0, OTTER_ROLE_OPERATOR));
    assert_false(otter_rbac_allows(OTTER_ROLE_OPERATOR, 0, OTTER_ROLE_PUBLISHER));
    assert_false(otter_rbac_allows(OTTER_ROLE_OPERATOR, 0, OTTER_ROLE_VIEWER));
    assert_false(otter_rbac_allows(OTTER_ROLES_ANY, 0, OTTER_ROLE_NONE));
    assert_true(otter_rbac_allows(OTTER_ROLE_OPERATOR, 0, OTTER_ROLE_ADMIN));
    assert_true(otter_rbac_allows(0, 1, OTTER_ROLE_NONE));
    assert_false(otter_rbac_allows(OTTER_ROLES_GLOBAL_ADMIN, 0, OTTER_ROLE_ADMIN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_roundtrip),
        cmocka_unit_test(test_password_policy_and_bad_hashes),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_generated_password),
        cmocka_unit_test(test_rbac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
