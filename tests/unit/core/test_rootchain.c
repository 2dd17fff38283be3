/* SPDX-License-Identifier: Apache-2.0 */
/* The root chain (issue #13): parse, and the TUF walk a device makes through it. */
#include "otter_test.h"
#include "otter_rootchain.h"
#include "pkg_fixture.h"

/* keys[v] is root version v's only key; keys[5] signs a forked version 3. */
#define NV 5
static otter_key *keys[NV + 1];
static char *text[NV + 1];

/* Root version v over keys[v] (threshold 1): its text. */
static void make_root(int v)
{
    otter_err err;
    otter_trust *t = fx_trust(&keys[v], 1, 1);
    assert_otter_ok(otter_trust_set_version(t, v, &err), err);
    free(text[v]);
    text[v] = otter_trust_serialize_new(t);
    otter_trust_free(t);
}

static void add(otter_rootchain *c, int v, int cross, int own)
{
    otter_err err;
    otter_sig_list *s = otter_sig_list_new();
    size_t len = strlen(text[v]);
    if (cross)
        assert_otter_ok(otter_sig_list_sign(s, keys[v - 1], text[v], len, &err), err);
    if (own)
        assert_otter_ok(otter_sig_list_sign(s, keys[v], text[v], len, &err), err);
    char *st = otter_sig_list_serialize_new(s);
    assert_otter_ok(otter_rootchain_append(c, text[v], len, st, strlen(st), &err), err);
    free(st);
    otter_sig_list_free(s);
}

/* A chain of versions from..to, every link signed by both sides; round-tripped through text. */
static otter_rootchain *chain(int from, int to)
{
    otter_err err;
    otter_rootchain *c = otter_rootchain_new(), *back = NULL;
    for (int v = from; v <= to; v++)
        add(c, v, v > 1, 1);
    char *json = otter_rootchain_serialize_new(c);
    assert_otter_ok(otter_rootchain_parse(json, strlen(json), "roots.json", &back, &err), err);
    free(json);
    otter_rootchain_free(c);
    return back;
}

static otter_trust *root(int v)
{
    otter_err err;
    otter_trust *t = NULL;
    assert_otter_ok(otter_trust_parse(text[v], strlen(text[v]), "root", &t, &err), err);
    return t;
}

static int setup(void **state)
{
    otter_err err;
    for (int v = 1; v <= NV; v++) {
        assert_otter_ok(otter_key_generate("ed25519", &keys[v], &err), err);
        make_root(v);
    }
    return 0;
}

static int teardown(void **state)
{
    for (int v = 1; v <= NV; v++) {
        otter_key_free(keys[v]);
        free(text[v]);
    }
    return 0;
}

/* An offline device at version 1 walks 1 -> 2 -> 3 -> 4, each step checked. */
static void test_walk_skips_by_walking(void **state)
{
    otter_err err;
    otter_trust *cur = root(1), *got = NULL;
    otter_rootchain *c = chain(1, 4);
    size_t at = 0;
    assert_otter_ok(otter_rootchain_walk(cur, c, &got, &at, &err), err);
    assert_non_null(got);
    assert_int_equal(otter_trust_version(got), 4);
    assert_int_equal(at, 3);
    assert_string_equal(otter_key_id(otter_trust_key(got, 0)), otter_key_id(keys[4]));
    otter_trust_free(got);
    /* A device already at the newest: nothing to adopt, no error. */
    otter_trust *four = root(4);
    assert_otter_ok(otter_rootchain_walk(four, c, &got, &at, &err), err);
    assert_null(got);
    otter_trust_free(four);
    otter_trust_free(cur);
    otter_rootchain_free(c);
}

/* Version 3 without version 2: the device at 1 cannot jump (no chain, no trust). */
static void test_skip_without_chain_refused(void **state)
{
    otter_err err;
    otter_trust *cur = root(1), *got = NULL;
    otter_rootchain *c = chain(3, 4);
    size_t at = 0;
    assert_otter_error(otter_rootchain_walk(cur, c, &got, &at, &err), err, OTTER_EFORMAT,
                       "root version 3: new root has version 3, expected 2");
    assert_null(got);
    otter_trust_free(cur);
    otter_rootchain_free(c);
}

/* Root N+1 signed by only the old keys, or only the new: refused; earlier good links kept. */
static void test_one_sided_signatures_refused(void **state)
{
    for (int side = 0; side < 2; side++) {
        otter_err err;
        otter_rootchain *c = otter_rootchain_new();
        add(c, 2, 1, 1);
        add(c, 3, side == 0, side == 1);
        otter_trust *cur = root(1), *got = NULL;
        size_t at = 0;
        assert_otter_error(otter_rootchain_walk(cur, c, &got, &at, &err), err, OTTER_ESIG,
                           side == 0 ? "root version 3: new root: signatures by its own keys"
                                     : "root version 3: new root: signatures by the current");
        assert_non_null(got); /* version 2 was good and is kept */
        assert_int_equal(otter_trust_version(got), 2);
        otter_trust_free(got);
        otter_trust_free(cur);
        otter_rootchain_free(c);
    }
}

/* Freeze / rollback: only older roots offered, or another root under a version the device has. */
static void test_stale_and_forked_refused(void **state)
{
    otter_err err;
    otter_trust *cur = root(3), *got = NULL;
    otter_rootchain *c = chain(1, 2);
    size_t at = 0;
    assert_otter_error(otter_rootchain_walk(cur, c, &got, &at, &err), err, OTTER_ESIG,
                       "newest root offered is version 2, this device trusts version 3: stale");
    otter_rootchain_free(c);
    /* Version 3 over other keys (signed by them and by version 2's key): a fork. */
    otter_trust *fork = fx_trust(&keys[5], 1, 1);
    assert_otter_ok(otter_trust_set_version(fork, 3, &err), err);
    c = otter_rootchain_new();
    add(c, 2, 1, 1);
    free(text[3]);
    text[3] = otter_trust_serialize_new(fork);
    otter_key *k3 = keys[3];
    keys[3] = keys[5];
    add(c, 3, 1, 1);
    keys[3] = k3;
    make_root(3);
    assert_otter_error(otter_rootchain_walk(cur, c, &got, &at, &err), err, OTTER_ESIG,
                       "root version 3 offered differs from the trusted root");
    assert_null(got);
    otter_trust_free(fork);
    otter_trust_free(cur);
    otter_rootchain_free(c);
}

static void test_parse_refusals(void **state)
{
    otter_err err;
    otter_rootchain *c = NULL;
    const char *bad[][2] = {
        {"[]", "expected a JSON object"},
        {"{\"type\":\"otter-root\",\"roots\":[]}", "expected \"otter-root-chain\""},
        {"{\"type\":\"otter-root-chain\",\"roots\":[],\"x\":1}", "x"},
        {"{\"type\":\"otter-root-chain\",\"roots\":[1]}", "roots[0]: expected an object"},
        {"{\"type\":\"otter-root-chain\",\"roots\":[{\"version\":1,\"root\":\"{}\","
         "\"signatures\":\"x\"}]}",
         "roots[0].signatures"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_otter_error(otter_rootchain_parse(bad[i][0], strlen(bad[i][0]), "r", &c, &err), err,
                           OTTER_EFORMAT, bad[i][1]);
    /* Oversized input is refused before it is parsed. */
    size_t big = OTTER_ROOTCHAIN_MAX + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    assert_otter_error(otter_rootchain_parse(huge, big, "r", &c, &err), err, OTTER_EFORMAT, "r");
    free(huge);
    /* The version field must be the root's own; versions must ascend by one. */
    otter_rootchain *good = chain(1, 3);
    char *json = otter_rootchain_serialize_new(good);
    char *p = strstr(json, "\"version\": 2");
    assert_non_null(p);
    p[11] = '7';
    assert_otter_error(otter_rootchain_parse(json, strlen(json), "r", &c, &err), err, OTTER_EFORMAT,
                       "roots[1].root: version 7, but its root says 2");
    free(json);
    /* Drop version 2: 1 then 3. */
    free(good->entries[1].root);
    otter_sig_list_free(good->entries[1].sigs);
    good->entries[1] = good->entries[2];
    good->count = 2;
    json = otter_rootchain_serialize_new(good);
    assert_otter_error(otter_rootchain_parse(json, strlen(json), "r", &c, &err), err, OTTER_EFORMAT,
                       "version 3 follows 1 (must ascend by one)");
    free(json);
    otter_rootchain_free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_skips_by_walking),
        cmocka_unit_test(test_skip_without_chain_refused),
        cmocka_unit_test(test_one_sided_signatures_refused),
        cmocka_unit_test(test_stale_and_forked_refused),
        cmocka_unit_test(test_parse_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
