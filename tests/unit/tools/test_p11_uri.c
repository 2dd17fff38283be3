/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 7512 PKCS#11 URIs as `otter` reads them (src/tools/otter_p11_uri.c):
 * the attributes it matches on, %-escapes (text and id bytes), the query part's
 * module-path, and each refusal with its reason: a PIN in the URI, unknown or
 * repeated attributes, bad escapes, values too long, a type other than private,
 * no object and no id.
 */
#include "otter_test.h"
#include "otter_p11_uri.h"

static void test_parse_fields(void **state)
{
    (void)state;
    otter_p11_uri u;
    otter_err err;
    assert_otter_ok(otter_p11_uri_parse("pkcs11:token=Release%20HSM;manufacturer=SoftHSM%20project;"
                                        "serial=0a1b;model=SoftHSM%20v2;object=root-1;type=private;"
                                        "id=%01%ff?module-path=/usr/lib/softhsm/libsofthsm2.so",
                                        &u, &err),
                    err);
    assert_string_equal(u.token, "Release HSM");
    assert_string_equal(u.manufacturer, "SoftHSM project");
    assert_string_equal(u.serial, "0a1b");
    assert_string_equal(u.model, "SoftHSM v2");
    assert_string_equal(u.object, "root-1");
    assert_string_equal(u.type, "private");
    assert_string_equal(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
    assert_int_equal(u.id_len, 2);
    assert_int_equal(u.id[0], 0x01);
    assert_int_equal(u.id[1], 0xff);

    /* Scheme case-insensitive, empty parts skipped, object alone is enough. */
    assert_otter_ok(otter_p11_uri_parse("PKCS11:object=k;;", &u, &err), err);
    assert_string_equal(u.object, "k");
    assert_string_equal(u.token, "");
    assert_int_equal(u.id_len, 0);
    assert_true(otter_p11_uri_is("pkcs11:object=k"));
    assert_false(otter_p11_uri_is("keys/pkcs11.key"));
    /* id alone is enough too. */
    assert_otter_ok(otter_p11_uri_parse("pkcs11:token=t;id=%0A", &u, &err), err);
    assert_int_equal(u.id_len, 1);
    assert_int_equal(u.id[0], 0x0a);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *uri, *why;
    } bad[] = {
        {"object=k", "not a PKCS#11 URI"},
        {"pkcs11:object=k;pin-value=1234",
         "pin-value refused: a PIN never goes on the command line"},
        {"pkcs11:object=k?pin-source=file:/tmp/pin", "pin-source refused"},
        {"pkcs11:object=k?pin-value=1234", "pin-value refused"},
        {"pkcs11:object=k;object=j", "object given twice"},
        {"pkcs11:id=%01;id=%02", "id given twice"},
        {"pkcs11:object=k;colour=red", "unsupported attribute \"colour\""},
        {"pkcs11:object=k?module-name=softhsm2", "(give module-path)"},
        {"pkcs11:object=k;module-path=/x.so", "unsupported attribute \"module-path\""},
        {"pkcs11:object=k?token=t", "unsupported attribute \"token\""},
        {"pkcs11:object=a%2", "object: bad %-escape"},
        {"pkcs11:object=a%zz", "object: bad %-escape"},
        {"pkcs11:object=a%00b", "object: NUL byte"},
        {"pkcs11:object=", "empty object"},
        {"pkcs11:id=", "empty id"},
        {"pkcs11:object", "is not NAME=VALUE"},
        {"pkcs11:object=k;type=cert", "type=cert is not a private key"},
        {"pkcs11:token=t", "give object=LABEL or id="},
        {"pkcs11:", "give object=LABEL or id="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        otter_p11_uri u;
        otter_err err;
        assert_otter_error(otter_p11_uri_parse(bad[i].uri, &u, &err), err, OTTER_EUSAGE,
                           bad[i].why);
    }
}

static void test_lengths(void **state)
{
    (void)state;
    char uri[1024];
    otter_p11_uri u;
    otter_err err;
    /* The longest label fits exactly; one byte more is refused, never truncated. */
    int n = snprintf(uri, sizeof uri, "pkcs11:object=");
    memset(uri + n, 'a', OTTER_P11_ATTR_MAX - 1);
    uri[n + OTTER_P11_ATTR_MAX - 1] = '\0';
    assert_otter_ok(otter_p11_uri_parse(uri, &u, &err), err);
    assert_int_equal(strlen(u.object), OTTER_P11_ATTR_MAX - 1);
    strcat(uri, "a");
    assert_otter_error(otter_p11_uri_parse(uri, &u, &err), err, OTTER_EUSAGE,
                       "object: longer than 255 bytes");
    /* An id of OTTER_P11_ID_MAX bytes fits; one more does not. */
    n = snprintf(uri, sizeof uri, "pkcs11:id=");
    for (int i = 0; i < OTTER_P11_ID_MAX; i++)
        n += snprintf(uri + n, sizeof uri - (size_t)n, "%%%02x", i);
    assert_otter_ok(otter_p11_uri_parse(uri, &u, &err), err);
    assert_int_equal(u.id_len, OTTER_P11_ID_MAX);
    assert_int_equal(u.id[OTTER_P11_ID_MAX - 1], OTTER_P11_ID_MAX - 1);
    strcat(uri, "%ff");
    assert_otter_error(otter_p11_uri_parse(uri, &u, &err), err, OTTER_EUSAGE,
                       "id: longer than 128 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
