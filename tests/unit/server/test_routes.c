/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route table is the RBAC table: check its shape, and that the
 * documentation (docs/server.md and docs/api/openapi.yaml) lists exactly
 * the routes the server has, so they cannot drift apart.
 */
#include "otter_test.h"
#include "otter_api.h"
#include "otter_file.h"
#include "otter_rbac.h"

/* Reads docs file rel into *out (caller frees). The buffer goes straight to the caller's
   variable: returned from a local that otter_file_read_all got the address of, gcc 12 -O3
   could not tell the text from that local and warned of a dangling pointer. */
static void read_doc(const char *rel, char **out)
{
    char path[PATH_MAX];
    const char *src = getenv("OTTER_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", rel);
    otter_err err;
    size_t len = 0;
    *out = NULL;
    assert_otter_ok(otter_file_read_all(path, 1 << 20, out, &len, &err), err);
}

static void test_table_shape(void **state)
{
    size_t n = otter_api_route_count();
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        otter_api_route_info r = otter_api_route(i);
        assert_int_equal(strncmp(r.pattern, "/api/v1/", 8), 0);
        int tenant_path = strstr(r.pattern, "{tenant}") != NULL;
        /* A tenant route is always checked against the tenant, and only there. */
        if (strcmp(r.access, "tenant") == 0) {
            assert_true(tenant_path);
            assert_true((r.roles & ~(unsigned)OTTER_ROLES_ANY) == 0 && r.roles != 0);
        } else if (tenant_path) {
            assert_string_equal(r.access, "global-admin");
        }
        /* The only unauthenticated route is login. */
        if (strcmp(r.access, "public") == 0)
            assert_string_equal(r.pattern, "/api/v1/login");
        /* A tenant write is one duty (admin, operator, publisher, approver); wide masks are
           for reads only. */
        if (strcmp(r.access, "tenant") == 0 && strcmp(r.method, "GET") != 0)
            assert_true(r.roles == OTTER_ROLE_ADMIN || r.roles == OTTER_ROLE_OPERATOR ||
                        r.roles == OTTER_ROLE_PUBLISHER || r.roles == OTTER_ROLE_APPROVER);
        for (size_t j = 0; j < i; j++) {
            otter_api_route_info o = otter_api_route(j);
            if (strcmp(o.method, r.method) == 0 && strcmp(o.pattern, r.pattern) == 0)
                fail_msg("duplicate route %s %s", r.method, r.pattern);
        }
    }
}

static void test_docs_match_routes(void **state)
{
    char *md, *yaml;
    read_doc("docs/server.md", &md);
    read_doc("docs/api/openapi.yaml", &yaml);
    for (size_t i = 0; i < otter_api_route_count(); i++) {
        otter_api_route_info r = otter_api_route(i);
        char row[256], key[256], method[16];
        snprintf(row, sizeof row, "| %s | %s |", r.method, r.pattern);
        if (!strstr(md, row))
            fail_msg("docs/server.md lacks the row \"%s\"", row);
        snprintf(key, sizeof key, "\n  %s:\n", r.pattern);
        char *at = strstr(yaml, key);
        if (!at)
            fail_msg("openapi.yaml lacks the path %s", r.pattern);
        /* The method must appear under that path, before the next path. */
        size_t m = 0;
        for (; r.method[m] && m < sizeof method - 1; m++)
            method[m] = (char)(r.method[m] - 'A' + 'a');
        method[m] = '\0';
        char want[32];
        snprintf(want, sizeof want, "\n    %s:", method);
        char *next = strstr(at + strlen(key), "\n  /api/");
        char *found = strstr(at, want);
        if (!found || (next && found > next))
            fail_msg("openapi.yaml: %s lacks %s", r.pattern, method);
    }
    /* /metrics lives outside /api/v1 (Prometheus scrapes it there) but is documented alike. */
    if (!strstr(md, "| GET | /metrics |"))
        fail_msg("docs/server.md lacks the row \"| GET | /metrics |\"");
    char *at = strstr(yaml, "\n  /metrics:\n    get:");
    if (!at)
        fail_msg("openapi.yaml lacks GET /metrics");
    free(md);
    free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_shape),
        cmocka_unit_test(test_docs_match_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
