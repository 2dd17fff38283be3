/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_reqjson.h"

static void parse_ok(otter_req_kind kind, const char *body, otter_reqjson *r)
{
    otter_err err;
    assert_otter_ok(otter_reqjson_parse(kind, body, strlen(body), 16, r, &err), err);
}

static void refuse(otter_req_kind kind, const char *body, size_t len, const char *where,
                   const char *needle)
{
    otter_err err;
    otter_reqjson r;
    assert_otter_error(otter_reqjson_parse(kind, body, len, 16, &r, &err), err, OTTER_EFORMAT,
                       needle);
    if (strncmp(r.where, where, strlen(where)) != 0)
        fail_msg("where is '%s', want '%s'", r.where, where);
    assert_null(otter_reqjson_str(&r, "username"));
    otter_reqjson_clear(&r);
}

#define REFUSE(kind, body, where, needle) refuse(kind, body, strlen(body), where, needle)

static void test_accepts(void **state)
{
    otter_reqjson r;
    parse_ok(OTTER_REQ_LOGIN, "{\"username\":\"alice@corp.example\",\"password\":\"p\"}", &r);
    assert_string_equal(otter_reqjson_str(&r, "username"), "alice@corp.example");
    assert_string_equal(otter_reqjson_str(&r, "password"), "p");
    assert_null(otter_reqjson_str(&r, "role"));
    otter_reqjson_clear(&r);
    parse_ok(OTTER_REQ_USER_CREATE, " {\"password\":\"x\",\"username\":\"b-1\",\"is_admin\":true} ",
             &r);
    assert_true(otter_reqjson_bool(&r, "is_admin"));
    otter_reqjson_clear(&r);
    parse_ok(OTTER_REQ_USER_CREATE, "{\"password\":\"x\",\"username\":\"b\"}", &r);
    assert_false(otter_reqjson_has(&r, "is_admin"));
    otter_reqjson_clear(&r);
    /* resume: a bare POST (no body), an empty object or the retry option. */
    parse_ok(OTTER_REQ_RESUME, "", &r);
    assert_false(otter_reqjson_bool(&r, "retry_failed"));
    otter_reqjson_clear(&r);
    parse_ok(OTTER_REQ_RESUME, "{}", &r);
    assert_false(otter_reqjson_has(&r, "retry_failed"));
    otter_reqjson_clear(&r);
    parse_ok(OTTER_REQ_RESUME, "{\"retry_failed\":true}", &r);
    assert_true(otter_reqjson_bool(&r, "retry_failed"));
    otter_reqjson_clear(&r);
    parse_ok(OTTER_REQ_TOKEN_CREATE,
             "{\"name\":\"d\\u00e9ploiement ' ; --\",\"password\":\"pw\",\"expires_in\":60}", &r);
    assert_string_equal(otter_reqjson_str(&r, "name"), "d\xc3\xa9ploiement ' ; --");
    assert_int_equal(otter_reqjson_int(&r, "expires_in"), 60);
    otter_reqjson_clear(&r);
    /* Routes without a body accept nothing or an empty object. */
    otter_err err;
    assert_otter_ok(otter_reqjson_parse(OTTER_REQ_NONE, NULL, 0, 16, &r, &err), err);
    assert_otter_ok(otter_reqjson_parse(OTTER_REQ_NONE, "{}", 2, 16, &r, &err), err);
}

static void test_refuses(void **state)
{
    REFUSE(OTTER_REQ_NONE, "{\"a\":1}", "body", "takes no body");
    REFUSE(OTTER_REQ_TENANT_CREATE, "", "body", "is required");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{", "body line 1", "malformed JSON");
    REFUSE(OTTER_REQ_TENANT_CREATE, "[1]", "body", "expected a JSON object");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{}", "body.name", "'name' is required");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a\",\"x\":1}", "body", "unknown key 'x'");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a\",\"name\":\"a\"}", "body line", "duplicate");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":1}", "body.name", "must be a string");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"-a\"}", "body.name", "1..64 characters");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a b\"}", "body.name", "1..64 characters");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a/b\"}", "body.name", "1..64 characters");
    REFUSE(OTTER_REQ_TENANT_CREATE,
           "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
           "body.name", "1..64 characters");
    REFUSE(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a\\u0000\"}", "body", "");
    REFUSE(OTTER_REQ_USER_CREATE, "{\"username\":\"a\",\"password\":\"x\",\"is_admin\":1}",
           "body.is_admin", "true or false");
    REFUSE(OTTER_REQ_RESUME, "{\"retry_failed\":\"yes\"}", "body.retry_failed", "true or false");
    REFUSE(OTTER_REQ_RESUME, "{\"retry\":true}", "body", "unknown key 'retry'");
    REFUSE(OTTER_REQ_RESUME, "[]", "body", "expected a JSON object");
    REFUSE(OTTER_REQ_TOKEN_CREATE, "{\"name\":\"a\",\"expires_in\":-1}", "body.expires_in",
           "non-negative integer");
    REFUSE(OTTER_REQ_TOKEN_CREATE, "{\"name\":\"a\",\"expires_in\":1.5}", "body.expires_in",
           "non-negative integer");
    REFUSE(OTTER_REQ_TOKEN_CREATE, "{\"name\":\"tab\\there\"}", "body.name", "control character");
    REFUSE(OTTER_REQ_TOKEN_CREATE, "{\"name\":\"ci\"}", "body.password", "required");
    REFUSE(OTTER_REQ_LOGIN, "{\"username\":\"a\",\"password\":\"\"}", "body.password", "1..1024");
    REFUSE(OTTER_REQ_ROLE_SET, "{\"role\":\"\"}", "body.role", "not a role");
    /* A hostile key is echoed only as a short, printable prefix. */
    otter_err err;
    otter_reqjson r;
    const char *evil = "{\"\\u001b[31mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}";
    assert_int_equal(otter_reqjson_parse(OTTER_REQ_ROLE_SET, evil, strlen(evil), 16, &r, &err),
                     OTTER_EFORMAT);
    assert_null(strchr(err.msg, '\x1b'));
    assert_true(strlen(err.msg) < 80);
    otter_reqjson_clear(&r);
    /* Bytes after a NUL are not ignored. */
    refuse(OTTER_REQ_TENANT_CREATE, "{\"name\":\"a\"}\0garbage", 20, "body line", "malformed");
}

static void test_depth(void **state)
{
    char deep[200000];
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"name\":");
    for (int i = 0; i < 90000; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    REFUSE(OTTER_REQ_TENANT_CREATE, deep, "body", "nested deeper");
    /* Brackets inside strings do not count; escaped quotes do not end strings. */
    otter_reqjson r;
    parse_ok(OTTER_REQ_TOKEN_CREATE,
             "{\"name\":\"[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[\",\"password\":\"[[[\"}", &r);
    otter_reqjson_clear(&r);
    otter_err err;
    const char *three = "{\"name\":[[1]]}";
    assert_int_equal(
        otter_reqjson_parse(OTTER_REQ_TENANT_CREATE, three, strlen(three), 2, &r, &err),
        OTTER_EFORMAT);
    assert_non_null(strstr(err.msg, "nested deeper"));
}

static void test_names(void **state)
{
    assert_true(otter_reqjson_name_ok("a"));
    assert_true(otter_reqjson_name_ok("Zx-9_.@b"));
    assert_false(otter_reqjson_name_ok(""));
    assert_false(otter_reqjson_name_ok(".hidden"));
    assert_false(otter_reqjson_name_ok("a'b"));
    assert_false(otter_reqjson_name_ok("a%20"));
    assert_false(otter_reqjson_name_ok("\xc3\xa9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
