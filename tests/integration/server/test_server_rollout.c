/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Approvals and staged rollouts end to end, against a real otter-server
 * with 1,000 provisioned devices driven through the DDI API by this test:
 * stage sizes within ±2 % of the requested percentages, exactly the
 * devices whose bucket falls in an open stage are offered (the bucket is
 * recomputed here from its definition), automatic advance to the end,
 * automatic pause at the failure threshold, resume, revocation pausing a
 * running rollout, and the live event stream with its tickets.
 */
#include "harness.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <pthread.h>

#define N_DEV 1000
#define N_OTHER 20 /* another model: never targeted */
#define N_EXTRA 3  /* devices of their own (add_device) */
static char cid[N_DEV + N_OTHER + N_EXTRA][16];
static char tok[N_DEV + N_OTHER + N_EXTRA][96];
static char *op, *ap, *pub, *viewer;

static uint32_t bucket(int64_t rollout, const char *controller)
{
    unsigned char buf[8 + 64], md[SHA256_DIGEST_LENGTH];
    size_t n = strlen(controller);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)rollout >> (56 - 8 * i));
    memcpy(buf + 8, controller, n);
    SHA256(buf, 8 + n, md);
    return ((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3]) % 10000;
}

/* Ranks the candidates by (bucket, controller id) and cuts at each cumulative percent. */
static int64_t rank_rollout;

static int cmp_rank(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    uint32_t bx = bucket(rank_rollout, cid[x]), by = bucket(rank_rollout, cid[y]);
    if (bx != by)
        return bx < by ? -1 : 1;
    return strcmp(cid[x], cid[y]);
}

/* stage[i] for every device: its stage, or -1 when not targeted. */
static void expected_stages(int64_t rollout, const int *cand, int n, const int *percents,
                            int n_stages, int *stage)
{
    int *order = malloc(sizeof *order * (size_t)n);
    memcpy(order, cand, sizeof *order * (size_t)n);
    rank_rollout = rollout;
    qsort(order, (size_t)n, sizeof *order, cmp_rank);
    for (int i = 0; i < N_DEV + N_OTHER; i++)
        stage[i] = -1;
    int rank = 0;
    for (int s = 0; s < n_stages; s++)
        for (int end = (percents[s] * n + 50) / 100; rank < end; rank++)
            stage[order[rank]] = s;
    free(order);
}

static long ddi(const char *method, int dev, const char *path, const char *body, json_t **out)
{
    char p[256], auth[128];
    snprintf(p, sizeof p, "/acme/controller/v1/%s%s", cid[dev], path);
    snprintf(auth, sizeof auth, "TargetToken %s", tok[dev]);
    return request_full(srv.url, method, p, auth, body, (size_t)-1, NULL, out);
}

/* Polls as device dev; returns the offered action id or 0. */
static int64_t poll_offer(int dev)
{
    json_t *doc = NULL;
    assert_int_equal(ddi("GET", dev, "", NULL, &doc), 200);
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(doc, "_links"), "deploymentBase"), "href"));
    int64_t id = 0;
    if (href) {
        const char *p = strstr(href, "/deploymentBase/");
        assert_non_null(p);
        id = strtoll(p + 16, NULL, 10);
    }
    json_decref(doc);
    return id;
}

static void feedback(int dev, int64_t action, const char *finished)
{
    char path[96], body[160];
    snprintf(path, sizeof path, "/deploymentBase/%lld/feedback", (long long)action);
    snprintf(body, sizeof body,
             "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"%s\"}}}", finished);
    assert_int_equal(ddi("POST", dev, path, body, NULL), 200);
}

static json_t *get(const char *path, long want)
{
    json_t *doc = NULL;
    assert_int_equal(req("GET", path, op, NULL, &doc), want);
    return doc;
}

static const char *rollout_state(int64_t id, int64_t *stage)
{
    static char state[32];
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld", (long long)id);
    json_t *doc = get(path, 200);
    snprintf(state, sizeof state, "%s", json_string_value(json_object_get(doc, "state")));
    if (stage)
        *stage = json_integer_value(json_object_get(doc, "current_stage"));
    json_decref(doc);
    return state;
}

static long steer(int64_t id, const char *verb, const char *who)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/%s", (long long)id, verb);
    return req("POST", path, who, NULL, NULL);
}

static int64_t upload(const char *version)
{
    char path[160];
    json_t *doc = NULL;
    snprintf(path, sizeof path,
             "/api/v1/tenants/acme/releases?type=foreign&filename=fw-%s.swu&version=%s", version,
             version);
    char auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", pub);
    assert_int_equal(request_full(srv.url, "POST", path, auth, version, (size_t)-1,
                                  "application/octet-stream", &doc),
                     201);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "approval"), "state")), "pending");
    int64_t id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    return id;
}

static void approve(int64_t release, const char *verb, const char *who, long want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/releases/%lld/%s", (long long)release, verb);
    assert_int_equal(req("POST", path, who, "{\"comment\":\"lab results fine\"}", NULL), want);
}

static int64_t create(const char *body)
{
    json_t *doc = NULL;
    assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op, body, &doc), 201);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "draft");
    int64_t id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    return id;
}

static int setup(void **state)
{
    if (setup_server("server_rollout", "", 0) < 0)
        return -1;
    add_tenant("acme");
    add_member("acme", "op", "operator");
    add_member("acme", "ap", "approver");
    add_member("acme", "pub", "publisher");
    add_member("acme", "view", "viewer");
    op = login("op", PW);
    ap = login("ap", PW);
    pub = login("pub", PW);
    viewer = login("view", PW);
    /* In batches: the test server keeps the default request body limit. */
    for (int first = 0; first < N_DEV + N_OTHER; first += 200) {
        int last = first + 200 < N_DEV + N_OTHER ? first + 200 : N_DEV + N_OTHER;
        size_t cap = 64 * 200 + 64, len = 0;
        char *csv = malloc(cap);
        for (int i = first; i < last; i++) {
            snprintf(cid[i], sizeof cid[i], "%s%04d", i < N_DEV ? "gw" : "cam", i);
            len += (size_t)snprintf(csv + len, cap - len, "%s,%s,%s\n", cid[i],
                                    i < N_DEV ? "gw-a" : "cam-x", i % 2 ? "odd" : "even");
        }
        json_t *doc = NULL;
        char auth[128];
        snprintf(auth, sizeof auth, "Bearer %s", op);
        long st = request_full(srv.url, "POST", "/api/v1/tenants/acme/devices/bulk", auth, csv, len,
                               "text/csv", &doc);
        free(csv);
        json_t *devs = json_object_get(doc, "devices");
        if (st != 201 || json_array_size(devs) != (size_t)(last - first)) {
            char *text = json_dumps(doc, 0);
            fprintf(stderr, "bulk provisioning: %ld %s\n", st, text ? text : "");
            free(text);
            json_decref(doc);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(devs); i++)
            snprintf(tok[first + i], sizeof tok[first + i], "%s",
                     json_string_value(json_object_get(json_array_get(devs, i), "token")));
        json_decref(doc);
    }
    return 0;
}

static int teardown(void **state)
{
    free(op);
    free(ap);
    free(pub);
    free(viewer);
    return teardown_server();
}

static void test_approval_gates(void **state)
{
    int64_t rel = upload("1.0");
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"gate\",\"release\":%lld,\"stages\":[{\"percent\":100}]}", (long long)rel);
    int64_t id = create(body);
    json_t *doc = NULL;
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/start", (long long)id);
    assert_int_equal(req("POST", path, op, NULL, &doc), 409);
    assert_non_null(strstr(err_message(doc), "is pending"));
    json_decref(doc);
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"gw0001\"]}", (long long)rel);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/deployments", op, body, NULL), 409);
    /* Only approvers decide; publishers and operators may not. */
    approve(rel, "approve", op, 403);
    approve(rel, "approve", pub, 403);
    approve(rel, "revoke", ap, 409); /* nothing to revoke yet */
    approve(rel, "reject", ap, 200);
    assert_int_equal(
        req("GET", "/api/v1/tenants/acme/approvals?state=rejected", viewer, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "approvals")), 1);
    json_decref(doc);
    approve(rel, "approve", ap, 200);
    snprintf(path, sizeof path, "/api/v1/tenants/acme/releases/%lld", (long long)rel);
    assert_int_equal(req("GET", path, viewer, NULL, &doc), 200);
    json_t *a = json_object_get(doc, "approval");
    assert_string_equal(json_string_value(json_object_get(a, "state")), "approved");
    assert_string_equal(json_string_value(json_object_get(a, "by")), "ap");
    assert_string_equal(json_string_value(json_object_get(a, "comment")), "lab results fine");
    json_decref(doc);
    /* Malformed bodies name the field. */
    assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op,
                         "{\"name\":\"x\",\"release\":1,\"stages\":[{\"percent\":50},"
                         "{\"percent\":40}]}",
                         &doc),
                     400);
    assert_string_equal(err_where(doc), "body.stages[1].percent");
    json_decref(doc);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op,
                         "{\"name\":\"x\",\"release\":1,\"stages\":[{\"percent\":50}],"
                         "\"filter\":{\"model\":\"a\"}}",
                         &doc),
                     400);
    json_decref(doc);
    assert_int_equal(steer(id, "cancel", op), 200);
    assert_int_equal(steer(id, "start", op), 409);
}

/* The 1,000-device rollout: four stages, every device succeeds. */
static void test_staged_rollout_1000(void **state)
{
    static const int pct[] = {1, 10, 50, 100};
    int64_t rel = upload("2.0");
    approve(rel, "approve", ap, 200);
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"wave\",\"release\":%lld,\"filter\":{\"models\":[\"gw-a\"]},"
             "\"stages\":[{\"percent\":1,\"failure_threshold\":50},{\"percent\":10},"
             "{\"percent\":50},{\"percent\":100}]}",
             (long long)rel);
    json_t *doc = NULL;
    assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts/preview", op, body, &doc), 200);
    assert_int_equal(json_integer_value(json_object_get(doc, "devices")), N_DEV);
    json_decref(doc);
    int64_t id = create(body);
    assert_int_equal(steer(id, "start", viewer), 403);
    assert_int_equal(steer(id, "start", op), 200);

    char path[160];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/stats", (long long)id);
    doc = get(path, 200);
    json_t *stages = json_object_get(doc, "stages");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "total"), "devices")),
                     N_DEV);
    int64_t cumulative = 0, expect[4] = {0};
    static int cand[N_DEV], stage_of[N_DEV + N_OTHER];
    for (int i = 0; i < N_DEV; i++)
        cand[i] = i;
    expected_stages(id, cand, N_DEV, pct, 4, stage_of);
    for (int i = 0; i < N_DEV; i++)
        expect[stage_of[i]]++;
    for (int s = 0; s < 4; s++) {
        int64_t n = json_integer_value(json_object_get(json_array_get(stages, s), "devices"));
        cumulative += n;
        assert_int_equal(n, expect[s]);
        /* ±2 % of the fleet around the requested cumulative share. */
        print_message("stage %d: %lld devices, %lld cumulative (want %d %%)\n", s, (long long)n,
                      (long long)cumulative, pct[s]);
        assert_true(llabs(cumulative - pct[s] * N_DEV / 100) <= N_DEV * 2 / 100);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(stages, 0), "state")),
                        "current");
    json_decref(doc);

    for (int s = 0; s < 4; s++) {
        /* Everyone polls first (the stage must not open early), then the offered report. */
        int offered = 0;
        static int64_t action[N_DEV + N_OTHER];
        for (int i = 0; i < N_DEV + N_OTHER; i++) {
            action[i] = poll_offer(i);
            int want = stage_of[i] == s;
            if (want != (action[i] != 0))
                fail_msg("stage %d: device %s offered=%d, want %d", s, cid[i], action[i] != 0,
                         want);
        }
        for (int i = 0; i < N_DEV + N_OTHER; i++) {
            if (action[i]) {
                assert_string_equal(rollout_state(id, NULL), "running");
                offered++;
                feedback(i, action[i], "success");
            }
        }
        int64_t stage = -1;
        const char *st = rollout_state(id, &stage);
        print_message("stage %d: %d devices updated; rollout %s at stage %lld\n", s, offered, st,
                      (long long)stage);
        if (s < 3) {
            assert_string_equal(st, "running");
            assert_int_equal(stage, s + 1); /* advanced on its own */
        } else {
            assert_string_equal(st, "finished");
        }
    }
    doc = get(path, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "total"), "success")),
                     N_DEV);
    json_decref(doc);
    /* Every targeted device now runs 2.0; the others did not move. */
    assert_int_equal(
        req("GET", "/api/v1/tenants/acme/devices?version=2.0&limit=1000", op, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "devices")), N_DEV);
    json_decref(doc);
}

/* Failures pause at the threshold; resume accepts them; the rollout ends. */
static void test_auto_pause_and_resume(void **state)
{
    static const int pct[] = {20, 100};
    int64_t rel = upload("3.0");
    approve(rel, "approve", ap, 200);
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"risky\",\"release\":%lld,\"filter\":{\"versions\":[\"2.0\"],"
             "\"groups\":[\"even\"]},\"stages\":[{\"percent\":20,\"success_threshold\":50,"
             "\"failure_threshold\":25},{\"percent\":100}]}",
             (long long)rel);
    int64_t id = create(body);
    assert_int_equal(steer(id, "start", op), 200);
    int devs[N_DEV], n = 0;
    int64_t acts[N_DEV];
    static int cand[N_DEV / 2], stage_of[N_DEV + N_OTHER];
    for (int i = 0; i < N_DEV / 2; i++)
        cand[i] = 2 * i;
    expected_stages(id, cand, N_DEV / 2, pct, 2, stage_of);
    for (int i = 0; i < N_DEV + N_OTHER; i++) {
        int64_t a = poll_offer(i);
        int want = stage_of[i] == 0;
        assert_int_equal(a != 0, want);
        if (a) {
            devs[n] = i;
            acts[n++] = a;
        }
    }
    assert_int_equal(n, 100); /* 20 % of the 500 even devices */
    int limit = (n * 25 + 99) / 100, failed = 0;
    for (; failed < limit; failed++) {
        assert_string_equal(rollout_state(id, NULL), "running");
        feedback(devs[failed], acts[failed], "failure");
    }
    json_t *doc = NULL;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld", (long long)id);
    doc = get(path, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "paused");
    print_message("paused after %d of %d failures: %s\n", failed, n,
                  json_string_value(json_object_get(doc, "pause_reason")));
    assert_non_null(strstr(json_string_value(json_object_get(doc, "pause_reason")),
                           "failure threshold of stage 1"));
    json_decref(doc);
    /* Paused: devices that had not started are not offered anything, */
    for (int k = failed; k < n; k++)
        assert_int_equal(poll_offer(devs[k]), 0);
    /* and cannot take their action by its id either (nor close it): it stays scheduled. */
    for (int k = failed; k < failed + 3; k++) {
        char p[96];
        snprintf(p, sizeof p, "/deploymentBase/%lld", (long long)acts[k]);
        assert_int_equal(ddi("GET", devs[k], p, NULL, NULL), 404);
        snprintf(p, sizeof p, "/deploymentBase/%lld/feedback", (long long)acts[k]);
        assert_int_equal(ddi("POST", devs[k], p,
                             "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":"
                             "\"success\"}}}",
                             NULL),
                         404);
    }
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/stats", (long long)id);
    doc = get(path, 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "total"), "scheduled")),
        n - failed);
    json_decref(doc);
    assert_int_equal(steer(id, "resume", op), 200);
    for (int k = failed; k < n; k++) {
        assert_int_equal(poll_offer(devs[k]), acts[k]);
        feedback(devs[k], acts[k], "success");
    }
    int64_t stage = 0;
    assert_string_equal(rollout_state(id, &stage), "running");
    assert_int_equal(stage, 1);
    for (int i = 0; i < N_DEV; i += 2) {
        int64_t a = poll_offer(i);
        if (a)
            feedback(i, a, "success");
    }
    assert_string_equal(rollout_state(id, NULL), "finished");
}

/* The rollout's view of one device's actions, oldest first ("result/status[>retried_as]"). */
static void device_actions(int dev, int64_t rollout, char *out, size_t cap)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/devices/%s/history", cid[dev]);
    json_t *doc = get(path, 200), *a;
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "actions");
    size_t i, len = 0;
    out[0] = '\0';
    /* The history is newest first: walk it backwards. */
    for (i = json_array_size(list); i-- > 0;) {
        a = json_array_get(list, i);
        if (json_integer_value(json_object_get(a, "rollout")) != rollout)
            continue;
        char as[24] = "";
        if (json_object_get(a, "retried_as"))
            snprintf(as, sizeof as, ">%lld",
                     (long long)json_integer_value(json_object_get(a, "retried_as")));
        len += (size_t)snprintf(out + len, cap - len, "%s%lld:%s/%s%s", len ? " " : "",
                                (long long)json_integer_value(json_object_get(a, "id")),
                                json_string_value(json_object_get(a, "result")),
                                json_string_value(json_object_get(a, "status")), as);
        if (len >= cap)
            break;
    }
    json_decref(doc);
}

/*
 * Resume with retry_failed: after the cause of the failures is fixed, the
 * failed devices get a new action in the same rollout (not a device that
 * already has another open action), their stage passes its success rule
 * again, and the failed action stays in the device's history pointing at
 * its retry. A plain resume would have left the stage below its rule.
 */
static void test_resume_retry_failed(void **state)
{
    static const int pct[] = {20, 100};
    int64_t rel = upload("3.2");
    approve(rel, "approve", ap, 200);
    char body[512], path[160];
    snprintf(body, sizeof body,
             "{\"name\":\"retried\",\"release\":%lld,\"filter\":{\"versions\":[\"2.0\"],"
             "\"groups\":[\"odd\"]},\"stages\":[{\"percent\":20,\"success_threshold\":95,"
             "\"failure_threshold\":10},{\"percent\":100}]}",
             (long long)rel);
    int64_t id = create(body);
    assert_int_equal(steer(id, "start", op), 200);
    static int cand[N_DEV / 2], stage_of[N_DEV + N_OTHER], devs[N_DEV];
    static int64_t acts[N_DEV];
    int n = 0;
    for (int i = 0; i < N_DEV / 2; i++)
        cand[i] = 2 * i + 1;
    expected_stages(id, cand, N_DEV / 2, pct, 2, stage_of);
    for (int i = 1; i < N_DEV; i += 2) {
        int64_t a = poll_offer(i);
        assert_int_equal(a != 0, stage_of[i] == 0);
        if (a) {
            devs[n] = i;
            acts[n++] = a;
        }
    }
    assert_int_equal(n, 100);
    /* 10 % of 100 fail: paused. */
    for (int k = 0; k < 10; k++)
        feedback(devs[k], acts[k], "failure");
    assert_string_equal(rollout_state(id, NULL), "paused");
    /* The first failed device meanwhile got a direct deployment: it is not retried. */
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\"]}", (long long)rel,
             cid[devs[0]]);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/deployments", op, body, NULL), 201);
    int64_t direct = poll_offer(devs[0]);
    assert_true(direct > acts[n - 1]);

    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/resume", (long long)id);
    json_t *doc = NULL;
    assert_int_equal(req("POST", path, op, "{\"retry_failed\":\"yes\"}", &doc), 400);
    assert_string_equal(err_where(doc), "body.retry_failed");
    json_decref(doc);
    assert_int_equal(req("POST", path, viewer, "{\"retry_failed\":true}", NULL), 403);
    assert_string_equal(rollout_state(id, NULL), "paused");
    doc = NULL;
    assert_int_equal(req("POST", path, op, "{\"retry_failed\":true}", &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(doc, "retried")), 9);
    json_decref(doc);
    /* The stage's counts: the retried devices are scheduled again, one failure stays. */
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/stats", (long long)id);
    doc = get(path, 200);
    json_t *s0 = json_array_get(json_object_get(doc, "stages"), 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "devices")), 100);
    assert_int_equal(json_integer_value(json_object_get(s0, "failure")), 1);
    assert_int_equal(json_integer_value(json_object_get(s0, "scheduled")), 99);
    json_decref(doc);

    /* The cause fixed: the retried devices get a new action and succeed. */
    feedback(devs[0], direct, "success");
    for (int k = 1; k < 10; k++) {
        int64_t again = poll_offer(devs[k]);
        assert_true(again > direct);
        feedback(devs[k], again, "success");
        char hist[256], want[256];
        device_actions(devs[k], id, hist, sizeof hist);
        snprintf(want, sizeof want, "%lld:failure/error>%lld %lld:success/finished",
                 (long long)acts[k], (long long)again, (long long)again);
        assert_string_equal(hist, want);
    }
    int64_t stage = -1;
    for (int k = 10; k < n; k++) {
        assert_int_equal(poll_offer(devs[k]), acts[k]);
        if (k == n - 1) { /* 99 of 100 closed: the stage waits for its whole sample */
            assert_string_equal(rollout_state(id, &stage), "running");
            assert_int_equal(stage, 0);
        }
        feedback(devs[k], acts[k], "success");
    }
    /* 99 of 100 succeeded: stage 1 passed its 95 % rule and the last stage opened. */
    assert_string_equal(rollout_state(id, &stage), "running");
    assert_int_equal(stage, 1);
    int closed_none = -1;
    for (int i = 1; i < N_DEV; i += 2) {
        int64_t a = poll_offer(i);
        assert_int_equal(a != 0, stage_of[i] == 1);
        if (a) {
            /* One device closes without a result: as hawkBit, that is success. */
            feedback(i, a, closed_none < 0 ? "none" : "success");
            if (closed_none < 0)
                closed_none = i;
        }
    }
    assert_string_equal(rollout_state(id, NULL), "finished");
    char dpath[128];
    snprintf(dpath, sizeof dpath, "/api/v1/tenants/acme/devices/%s", cid[closed_none]);
    doc = get(dpath, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), "3.2");
    json_decref(doc);
    doc = get(path, 200);
    json_t *total = json_object_get(doc, "total");
    assert_int_equal(json_integer_value(json_object_get(total, "devices")), N_DEV / 2);
    assert_int_equal(json_integer_value(json_object_get(total, "success")), N_DEV / 2 - 1);
    assert_int_equal(json_integer_value(json_object_get(total, "failure")), 1);
    json_decref(doc);
}

/* Revoking the approval pauses a running rollout; it cannot resume until approved again. */
static void test_revoke_pauses(void **state)
{
    int64_t rel = upload("4.0");
    approve(rel, "approve", ap, 200);
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"revoked\",\"release\":%lld,\"filter\":{\"groups\":[\"odd\"]},"
             "\"stages\":[{\"percent\":50},{\"percent\":100}]}",
             (long long)rel);
    int64_t id = create(body);
    assert_int_equal(steer(id, "start", op), 200);
    approve(rel, "revoke", ap, 200);
    json_t *doc = NULL;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld", (long long)id);
    doc = get(path, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "paused");
    assert_string_equal(json_string_value(json_object_get(doc, "pause_reason")),
                        "approval revoked");
    json_decref(doc);
    for (int i = 1; i < N_DEV; i += 2)
        assert_int_equal(poll_offer(i), 0);
    assert_int_equal(steer(id, "resume", op), 409);
    assert_int_equal(steer(id, "advance", op), 200);
    assert_int_equal(steer(id, "advance", op), 409); /* last stage */
    assert_int_equal(steer(id, "cancel", op), 200);
    doc = get("/api/v1/tenants/acme/rollouts", 200);
    assert_true(json_array_size(json_object_get(doc, "rollouts")) >= 4);
    json_decref(doc);
}

/* A device of its own (index N_DEV + N_OTHER + k in cid/tok), in no group any rollout targets. */
static int add_device(int k)
{
    int dev = N_DEV + N_OTHER + k;
    char body[160];
    json_t *doc = NULL;
    snprintf(cid[dev], sizeof cid[dev], "wd%d", k);
    snprintf(body, sizeof body, "{\"controller_id\":\"%s\",\"model\":\"gw-a\"}", cid[dev]);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/devices", op, body, &doc), 201);
    snprintf(tok[dev], sizeof tok[dev], "%s", json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    return dev;
}

static const char *action_status(int64_t id)
{
    static char status[32];
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/actions/%lld", (long long)id);
    json_t *doc = get(path, 200);
    snprintf(status, sizeof status, "%s", json_string_value(json_object_get(doc, "status")));
    json_decref(doc);
    return status;
}

/*
 * Revoking an approval withdraws the release's direct deployments that no
 * device started: canceled, no longer offered, and their deploymentBase and
 * artifact answer 410. A device that started keeps its action (an operator
 * cancels it through DDI cancelAction if need be).
 */
static void test_revoke_withdraws_deployments(void **state)
{
    int64_t rel = upload("4.5");
    approve(rel, "approve", ap, 200);
    int started = add_device(0), known = add_device(1), unseen = add_device(2);
    char body[256], path[160], art[128];
    json_t *doc = NULL;
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\",\"%s\",\"%s\"]}",
             (long long)rel, cid[started], cid[known], cid[unseen]);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/deployments", op, body, &doc), 201);
    assert_int_equal(json_array_size(json_object_get(doc, "actions")), 3);
    json_decref(doc);
    snprintf(art, sizeof art, "/softwaremodules/%lld/artifacts/fw-4.5.swu", (long long)rel);
    /* One device starts (reads its deploymentBase); another only learns its action's id. */
    int64_t a_started = poll_offer(started), a_known = poll_offer(known);
    assert_true(a_started > 0 && a_known > 0);
    snprintf(path, sizeof path, "/deploymentBase/%lld", (long long)a_started);
    assert_int_equal(ddi("GET", started, path, NULL, NULL), 200);

    approve(rel, "revoke", ap, 200);
    /* Withdrawn: canceled, not offered, deploymentBase and download answer 410. */
    assert_int_equal(poll_offer(known), 0);
    assert_int_equal(poll_offer(unseen), 0);
    snprintf(path, sizeof path, "/deploymentBase/%lld", (long long)a_known);
    assert_int_equal(ddi("GET", known, path, NULL, &doc), 410);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "error")), "withdrawn"));
    json_decref(doc);
    assert_int_equal(ddi("GET", known, art, NULL, NULL), 410);
    assert_string_equal(action_status(a_known), "canceled");
    /* The withdrawal is in the revocation's audit entry. */
    assert_int_equal(req("GET", "/api/v1/tenants/acme/audit?action=release.revoke&limit=1",
                         admin_tok, NULL, &doc),
                     200);
    json_t *detail = json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "detail");
    assert_int_equal(json_integer_value(json_object_get(detail, "withdrawn")), 2);
    assert_int_equal(json_integer_value(json_object_get(detail, "release")), rel);
    json_decref(doc);
    /* The device that started goes on: its bytes, its feedback. */
    assert_string_equal(action_status(a_started), "running");
    assert_int_equal(ddi("GET", started, art, NULL, NULL), 200);
    feedback(started, a_started, "success");
    /* A new approval does not bring withdrawn actions back; a new deployment may. */
    approve(rel, "approve", ap, 200);
    assert_int_equal(poll_offer(known), 0);
    assert_string_equal(action_status(a_known), "canceled");
    snprintf(path, sizeof path, "/deploymentBase/%lld", (long long)a_known);
    assert_int_equal(ddi("GET", known, path, NULL, NULL), 404);
}

/* ---- the event stream ---- */

struct stream {
    char url[512];
    char buf[65536];
    size_t len;
    int events;
    int want; /* hang up after this many events (0: 2) */
    long status;
    char ctype[128];
};

static size_t on_stream(char *p, size_t sz, size_t n, void *ctx)
{
    struct stream *s = ctx;
    size_t len = sz * n;
    if (s->len + len >= sizeof s->buf)
        return 0;
    memcpy(s->buf + s->len, p, len);
    s->len += len;
    s->buf[s->len] = '\0';
    s->events = 0;
    for (const char *q = s->buf; (q = strstr(q, "event: stats\n")); q++)
        s->events++;
    return s->events >= (s->want ? s->want : 2) ? 0 : len; /* enough seen: hang up */
}

static void *read_stream(void *arg)
{
    struct stream *s = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(s->ctype, sizeof s->ctype, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return NULL;
}

/* A started one-stage rollout of a new approved release to the cam-x devices. */
static int64_t live_rollout(const char *version, const char *name)
{
    int64_t rel = upload(version);
    approve(rel, "approve", ap, 200);
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"release\":%lld,\"filter\":{\"models\":[\"cam-x\"]},"
             "\"stages\":[{\"percent\":100}]}",
             name, (long long)rel);
    int64_t id = create(body);
    assert_int_equal(steer(id, "start", op), 200);
    return id;
}

static void viewer_ticket(char *out, size_t cap)
{
    json_t *doc = NULL;
    assert_int_equal(req("POST", "/api/v1/tickets", viewer, NULL, &doc), 201);
    snprintf(out, cap, "%s", json_string_value(json_object_get(doc, "ticket")));
    json_decref(doc);
}

static void test_event_stream(void **state)
{
    int64_t id = live_rollout("5.0", "live");
    char ticket[128];
    viewer_ticket(ticket, sizeof ticket);
    /* A ticket is no bearer token, and a session token is no ticket. */
    assert_int_equal(req("GET", "/api/v1/me", ticket, NULL, NULL), 401);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/tenants/acme/rollouts/%lld/events?ticket=%s",
             (long long)id, viewer);
    assert_int_equal(req("GET", path, NULL, NULL, NULL), 401);
    snprintf(path, sizeof path, "/api/v1/tenants/other/rollouts/%lld/events?ticket=%s",
             (long long)id, ticket);
    assert_int_equal(req("GET", path, NULL, NULL, NULL), 404);

    struct stream *s = calloc(1, sizeof *s);
    snprintf(s->url, sizeof s->url, "%s/api/v1/tenants/acme/rollouts/%lld/events?ticket=%s",
             srv.url, (long long)id, ticket);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_stream, s), 0);
    for (int i = 0; i < 100 && !__atomic_load_n(&s->events, __ATOMIC_SEQ_CST); i++)
        usleep(50000);
    assert_int_equal(s->events, 1);
    /* A device reports: the stream carries the new counts. */
    int64_t a = poll_offer(N_DEV);
    assert_true(a > 0);
    feedback(N_DEV, a, "success");
    pthread_join(th, NULL);
    assert_int_equal(s->status, 200);
    assert_string_equal(s->ctype, "text/event-stream");
    assert_int_equal(s->events, 2);
    const char *last = strrchr(s->buf, '{');
    while (last > s->buf && strncmp(last, "data: ", 6) != 0)
        last--;
    json_t *ev = json_loads(last + 6, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(ev);
    assert_int_equal(json_integer_value(json_object_get(ev, "rollout")), id);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "total"), "success")),
                     1);
    json_decref(ev);
    free(s);
}

static int wait_events(struct stream *s, int n)
{
    for (int i = 0; i < 200 && __atomic_load_n(&s->events, __ATOMIC_SEQ_CST) < n; i++)
        usleep(50000);
    return __atomic_load_n(&s->events, __ATOMIC_SEQ_CST);
}

/* The "state" of the stream's last event. */
static void last_state(const struct stream *s, char *out, size_t cap)
{
    const char *q = s->buf, *last = NULL;
    while ((q = strstr(q, "data: ")))
        last = q++;
    assert_non_null(last);
    json_t *ev = json_loads(last + 6, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(ev);
    snprintf(out, cap, "%s", json_string_value(json_object_get(ev, "state")));
    json_decref(ev);
}

/*
 * Pulls are paced, so a resume and a pause right after it reach the stream as
 * one look at a paused rollout, the same as the last event. The page that sent
 * the resume shows "running" from its answer: the stream must still tell it.
 */
static void test_event_stream_coalesced_changes(void **state)
{
    int64_t id = live_rollout("5.1", "live-2");
    char ticket[128];
    viewer_ticket(ticket, sizeof ticket);
    struct stream *s = calloc(1, sizeof *s);
    s->want = 3;
    snprintf(s->url, sizeof s->url, "%s/api/v1/tenants/acme/rollouts/%lld/events?ticket=%s",
             srv.url, (long long)id, ticket);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_stream, s), 0);
    assert_int_equal(wait_events(s, 1), 1);
    assert_int_equal(steer(id, "pause", op), 200);
    assert_int_equal(wait_events(s, 2), 2);
    char st[32];
    last_state(s, st, sizeof st);
    assert_string_equal(st, "paused");
    /* Both well inside one pull interval. */
    assert_int_equal(steer(id, "resume", op), 200);
    assert_int_equal(steer(id, "pause", op), 200);
    assert_int_equal(wait_events(s, 3), 3);
    pthread_join(th, NULL);
    last_state(s, st, sizeof st);
    assert_string_equal(st, "paused");
    free(s);
}

/* SQL metacharacters in every string of the new requests: refused by rule or kept literally. */
static void test_hostile_input(void **state)
{
    static const char *const evil[] = {"a'; DROP TABLE rollouts;--", "x\" OR \"1\"=\"1", "%", "_",
                                       "Robert'); DELETE FROM actions;--"};
    int64_t rel = upload("6.0");
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        json_t *js = json_string(evil[i]);
        char *q = json_dumps(js, JSON_ENCODE_ANY);
        char body[1024], path[160];
        json_t *doc = NULL;
        snprintf(body, sizeof body, "{\"name\":%s,\"release\":%lld,\"stages\":[{\"percent\":9}]}",
                 q, (long long)rel);
        assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op, body, &doc), 400);
        assert_string_equal(err_where(doc), "body.name");
        json_decref(doc);
        /* Filter strings match literally: nothing has such a model, group, version or attribute. */
        snprintf(body, sizeof body,
                 "{\"name\":\"h%zu\",\"release\":%lld,\"stages\":[{\"percent\":100}],"
                 "\"filter\":{\"models\":[%s],\"versions\":[%s],\"attributes\":{\"k\":%s}}}",
                 i, (long long)rel, q, q, q);
        assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts/preview", op, body, &doc), 200);
        assert_int_equal(json_integer_value(json_object_get(doc, "devices")), 0);
        json_decref(doc);
        snprintf(body, sizeof body,
                 "{\"name\":\"h%zu\",\"release\":%lld,\"stages\":[{\"percent\":100}],"
                 "\"filter\":{\"groups\":[%s]}}",
                 i, (long long)rel, q);
        assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op, body, &doc), 201);
        assert_string_equal(json_string_value(json_array_get(
                                json_object_get(json_object_get(doc, "filter"), "groups"), 0)),
                            evil[i]);
        json_decref(doc);
        snprintf(body, sizeof body, "{\"comment\":%s}", q);
        snprintf(path, sizeof path, "/api/v1/tenants/acme/releases/%lld/%s", (long long)rel,
                 i % 2 ? "reject" : "approve");
        assert_int_equal(req("POST", path, ap, body, &doc), 200);
        assert_string_equal(json_string_value(json_object_get(doc, "comment")), evil[i]);
        json_decref(doc);
        free(q);
        json_decref(js);
    }
    /* Oversized and malformed bodies. */
    char *big = malloc(70000);
    memset(big, ' ', 69999);
    big[0] = '{';
    big[69998] = '}';
    big[69999] = '\0';
    assert_true(req("POST", "/api/v1/tenants/acme/rollouts", op, big, NULL) == 413);
    free(big);
    assert_int_equal(req("POST", "/api/v1/tenants/acme/rollouts", op, "{\"name\":", NULL), 400);
    json_t *doc = get("/api/v1/tenants/acme/rollouts", 200);
    assert_true(json_array_size(json_object_get(doc, "rollouts")) >= 5);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approval_gates),
        cmocka_unit_test(test_staged_rollout_1000),
        cmocka_unit_test(test_auto_pause_and_resume),
        cmocka_unit_test(test_resume_retry_failed),
        cmocka_unit_test(test_revoke_pauses),
        cmocka_unit_test(test_revoke_withdraws_deployments),
        cmocka_unit_test(test_event_stream),
        cmocka_unit_test(test_event_stream_coalesced_changes),
        cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
