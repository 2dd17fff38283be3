/* SPDX-License-Identifier: Apache-2.0 */
/* The device side of hawkBit DDI: what the server sends, what the device answers. */
#include "otter_test.h"
#include "otter_ddi.h"

#include <jansson.h>

static const char base[] =
    "{\"config\":{\"polling\":{\"sleep\":\"00:05:30\"}},\"_links\":{"
    "\"deploymentBase\":{\"href\":\"https://h/t/controller/v1/d1/deploymentBase/3?c=-2\"},"
    "\"configData\":{\"href\":\"https://h/t/controller/v1/d1/configData\"}},"
    "\"unknownFutureField\":{\"x\":1}}";

static const char deployment[] =
    "{\"id\":\"3\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
    "\"maintenanceWindow\":\"unavailable\",\"chunks\":[{\"part\":\"os\",\"version\":\"2.0\","
    "\"name\":\"gw\",\"artifacts\":[{\"filename\":\"update.zip\",\"hashes\":{"
    "\"sha1\":\"2ef7bde608ce5404e97d5f042f95f89f1c232871\","
    "\"md5\":\"5eb63bbbe01eeed093cb22bb8f5acdc3\","
    "\"sha256\":\"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9\"},"
    "\"size\":11,\"_links\":{\"download\":{\"href\":\"https://h/a/update.zip\"},"
    "\"download-http\":{\"href\":\"http://h/a/update.zip\"}}}]}]},"
    "\"actionHistory\":{\"status\":\"RUNNING\",\"messages\":[\"x\"]}}";

static char *with(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void test_base_poll(void **state)
{
    otter_ddi_base b;
    otter_err err;
    assert_otter_ok(otter_ddi_parse_base(base, strlen(base), &b, &err), err);
    assert_int_equal(b.sleep_seconds, 330);
    assert_string_equal(b.deployment, "https://h/t/controller/v1/d1/deploymentBase/3?c=-2");
    assert_string_equal(b.config_data, "https://h/t/controller/v1/d1/configData");
    assert_string_equal(b.cancel, "");
    char *bad = with(base, "00:05:30", "5 minutes");
    assert_otter_error(otter_ddi_parse_base(bad, strlen(bad), &b, &err), err, OTTER_EFORMAT,
                       "base poll: config.polling.sleep: \"5 minutes\" is not HH:MM:SS");
    free(bad);
    bad = with(base, "https://h/t/controller/v1/d1/deploymentBase", "file:///etc/shadow#");
    assert_otter_error(otter_ddi_parse_base(bad, strlen(bad), &b, &err), err, OTTER_EFORMAT,
                       "base poll._links.deploymentBase.href: not an http(s) URL");
    free(bad);
    assert_otter_error(otter_ddi_parse_base("[1]", 3, &b, &err), err, OTTER_EFORMAT,
                       "base poll: expected a JSON object");
    assert_otter_error(otter_ddi_parse_base("{\"a\":1,\"a\":2}", 13, &b, &err), err, OTTER_EFORMAT,
                       "duplicate object key");
    assert_int_equal(otter_ddi_parse_sleep("99:59:59"), 99 * 3600 + 59 * 60 + 59);
    assert_int_equal(otter_ddi_parse_sleep("00:60:00"), -1);
}

static void test_deployment(void **state)
{
    otter_ddi_deployment d;
    otter_err err;
    assert_otter_ok(otter_ddi_parse_deployment(deployment, strlen(deployment), &d, &err), err);
    assert_string_equal(d.id, "3");
    assert_int_equal(d.download, OTTER_DDI_FORCED);
    assert_int_equal(d.update, OTTER_DDI_ATTEMPT);
    assert_int_equal(d.maintenance_available, 0);
    assert_int_equal(d.n_chunks, 1);
    assert_int_equal(d.chunks[0].n_artifacts, 1);
    const otter_ddi_artifact *a = &d.chunks[0].artifacts[0];
    assert_string_equal(a->filename, "update.zip");
    assert_int_equal(a->size, 11);
    assert_string_equal(a->download, "https://h/a/update.zip");
    assert_int_equal(strlen(a->sha256), 64);

    struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"forced\"", "\"sometimes\"",
         "deployment.download: \"sometimes\" is not skip, attempt or forced"},
        {"\"size\":11", "\"size\":-1", "artifacts[0].size: expected a non-negative integer"},
        {"\"filename\":\"update.zip\"", "\"filename\":\"../../etc/passwd\"",
         "is not a plain file name"},
        {"\"sha1\":\"2ef7", "\"sha1\":\"zzz7", "hashes: a hash is not hex of the right length"},
        {"\"id\":\"3\",", "", "deploymentBase.id: missing"},
        {"\"https://h/a/update.zip\"", "\"ftp://h/a\"", "_links.download.href: not an http(s) URL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = with(deployment, cases[i].from, cases[i].to);
        assert_otter_error(otter_ddi_parse_deployment(bad, strlen(bad), &d, &err), err,
                           OTTER_EFORMAT, cases[i].needle);
        free(bad);
    }
    char *big = calloc(1, OTTER_DDI_MAX_BODY + 10);
    memset(big, ' ', OTTER_DDI_MAX_BODY + 1);
    assert_otter_error(otter_ddi_parse_deployment(big, OTTER_DDI_MAX_BODY + 1, &d, &err), err,
                       OTTER_EFORMAT, "deploymentBase: reply too large");
    free(big);
}

static void test_cancel(void **state)
{
    otter_ddi_cancel c;
    otter_err err;
    const char *text = "{\"id\":\"5\",\"cancelAction\":{\"stopId\":\"3\"}}";
    assert_otter_ok(otter_ddi_parse_cancel(text, strlen(text), &c, &err), err);
    assert_string_equal(c.id, "5");
    assert_string_equal(c.stop_id, "3");
    assert_otter_error(otter_ddi_parse_cancel("{\"id\":\"5\"}", 10, &c, &err), err, OTTER_EFORMAT,
                       "cancelAction.cancelAction.stopId: missing");
}

static void test_feedback_and_config(void **state)
{
    const char *details[] = {"downloading", NULL};
    char *fb = otter_ddi_feedback_new("3", "proceeding", "none", 2, 5, details);
    json_t *j = json_loads(fb, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "3");
    json_t *status = json_object_get(j, "status");
    assert_string_equal(json_string_value(json_object_get(status, "execution")), "proceeding");
    json_t *result = json_object_get(status, "result");
    assert_string_equal(json_string_value(json_object_get(result, "finished")), "none");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(result, "progress"), "of")),
                     5);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "time"))), 15);
    json_decref(j);
    free(fb);
    assert_null(otter_ddi_feedback_new("3", "exploded", "none", 0, 0, NULL));
    assert_null(otter_ddi_feedback_new("3", "closed", "maybe", 0, 0, NULL));
    const char *keys[] = {"model", "slot"}, *values[] = {"gw-a", "B"};
    char *cd = otter_ddi_config_data_new(keys, values, 2);
    assert_string_equal(cd, "{\"mode\":\"merge\",\"data\":{\"model\":\"gw-a\",\"slot\":\"B\"}}");
    free(cd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_poll),
        cmocka_unit_test(test_deployment),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_feedback_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
