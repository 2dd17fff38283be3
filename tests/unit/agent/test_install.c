/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install and the commit (otter_install.c, otter_commit.c) on a device
 * made of files: a factory image in slot A, an update into slot B, the
 * boot simulator's reboot and boot-check committing it (counter raised),
 * then the refusals. A package refused before its first verified chunk
 * (below the counter, another model, too few signatures, a pending update,
 * the running version) leaves the slots, the state file, the counter and
 * the boot variables byte for byte as they were; one refused later
 * (truncated, a flipped byte) leaves the active slot, the counter and the
 * boot order alone and nothing pending. mark-good and rollback refuse what
 * they must; boot-check does not commit a slot whose health check fails or
 * whose security version fell below the counter meanwhile.
 */
#include "otter_test.h"

#include "otter_bootsim.h"
#include "otter_commit.h"
#include "otter_install.h"
#include "otter_key.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <openssl/evp.h>

static char dir[PATH_MAX], conf[PATH_MAX + 16];
static otter_key *k1, *k2;
static char conf_text[8192]; /* agent.conf as group_setup wrote it */

static const char *at(const char *name)
{
    static char paths[8][PATH_MAX + 64];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX + 64, "%s/%s", dir, name);
    return p;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* SHA-256 of a file as hex, or "absent". */
static void digest(const char *path, char out[65])
{
    FILE *f = fopen(path, "r");
    if (!f) {
        strcpy(out, "absent");
        return;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(c, buf, n);
    fclose(f);
    unsigned char md[32];
    EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* Everything a refused install must leave alone, as one string of digests; without
 * with_inactive, only what a refusal after the first write keeps: the active slot B, the
 * counter, the command line (the inactive slot A, its state record and its boot variables
 * are invalidated then; the boot order is checked apart). */
static char *device_print(int with_inactive)
{
    static const char *const files[] = {"a",       "b",      "state/state.json", "state/counter",
                                        "bootenv", "cmdline"};
    char *s = calloc(1, 1024);
    assert_non_null(s);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char d[65];
        /* The inactive slot (A after the update to B) is left out when asked to. */
        if (!with_inactive &&
            (strcmp(files[i], "a") == 0 || strcmp(files[i], "state/state.json") == 0 ||
             strcmp(files[i], "bootenv") == 0))
            continue;
        digest(at(files[i]), d);
        strcat(s, files[i]);
        strcat(s, "=");
        strcat(s, d);
        strcat(s, " ");
    }
    return s;
}

/* pkg NAME VERSION SECVER MODEL NKEYS: a package of a 200 kB image signed by k1 (and k2).
 * Each package is stamped one minute after the one before: with the clock's own time, a
 * slow (sanitizer) build could stamp v2 a second before v3 and a refusal meant to test one
 * rule would be decided by the freshness rule instead. */
static void pkg(const char *name, const char *version, int64_t secver, const char *model, int nkeys)
{
    static int made;
    char created[32];
    snprintf(created, sizeof created, "2026-01-01T10:%02d:00Z", made++);
    char img[64];
    snprintf(img, sizeof img, "%s.img", name);
    unsigned char *data = malloc(200000);
    assert_non_null(data);
    for (size_t i = 0; i < 200000; i++)
        data[i] = (unsigned char)((i * 131 + (unsigned char)version[0] * 7 + secver) >> 3);
    snprintf((char *)data, 32, "image of %s", version);
    spit(at(img), data, 200000);
    free(data);
    const char *models[] = {model};
    const otter_key *keys[] = {k1, k2};
    otter_pkg_input in = {
        .name = "rootfs", .path = at(img), .handler = "raw", .target = "rootfs", .compress = 1};
    otter_pkg_write_opts o = {.product = "gw",
                              .compatible = models,
                              .compatible_count = 1,
                              .version = version,
                              .created = created,
                              .security_version = secver,
                              .level = 3,
                              .chunk_size = 64 * 1024,
                              .keys = keys,
                              .key_count = (size_t)nkeys};
    otter_err err;
    char zip[64];
    snprintf(zip, sizeof zip, "%s.zip", name);
    assert_otter_ok(otter_pkg_write(at(zip), &o, &in, 1, &err), err);
}

static int install(const char *name, int factory, otter_err *err)
{
    otter_device *d = NULL;
    int ret = otter_device_open(conf, !factory, &d, err);
    if (ret)
        return ret;
    char zip[64];
    snprintf(zip, sizeof zip, "%s.zip", name);
    otter_install_opts o = {.factory = factory, .no_reboot = 1};
    ret = otter_install_file(d, at(zip), &o, NULL, err);
    otter_device_free(d);
    return ret;
}

static int group_setup(void **state)
{
    (void)state;
    otter_err err;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("agent_install"));
    snprintf(conf, sizeof conf, "%s/agent.conf", dir);
    if (otter_key_generate("ed25519", &k1, &err) || otter_key_generate("ed25519", &k2, &err) ||
        otter_key_save_pair(k1, at("k1"), &err) || otter_key_save_pair(k2, at("k2"), &err))
        return -1;
    /* The device needs both signatures (k-of-n with k = n = 2). */
    const char *pubs[] = {at("k1.pub"), at("k2.pub")};
    otter_trust *t = NULL;
    if (otter_trust_from_pubkey_files(pubs, 2, 2, &t, &err))
        return -1;
    char *json = otter_trust_serialize_new(t);
    otter_trust_free(t);
    spit(at("root.json"), json, strlen(json));
    free(json);
    char *text = conf_text;
    snprintf(conf_text, sizeof conf_text,
             "[device]\nproduct = gw\nmodel = gw-a\n[trust]\nroot = %s/root.json\n"
             "[state]\ndir = %s/state\n[rollback]\npath = %s/state/counter\n"
             "[boot]\nbackend = file\npath = %s/bootenv\ncmdline = %s/cmdline\n"
             "[reboot]\ncommand = true\n[slot.rootfs]\na = %s/a\nb = %s/b\n",
             dir, dir, dir, dir, dir, dir, dir);
    spit(conf, text, strlen(text));
    spit(at("a"), "", 0);
    spit(at("b"), "", 0);
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/state'", dir);
    if (system(cmd) != 0)
        return -1;
    pkg("v1", "1.0", 1, "gw-a", 2);
    pkg("v2", "2.0", 2, "gw-a", 2);
    pkg("old", "1.5", 1, "gw-a", 2);
    pkg("model", "3.0", 3, "gw-z", 2);
    pkg("onesig", "3.1", 3, "gw-a", 1);
    pkg("trunc", "3.2", 3, "gw-a", 2);
    pkg("flip", "3.3", 3, "gw-a", 2);
    pkg("v3", "3.4", 3, "gw-a", 2);
    pkg("v4", "4.0", 4, "gw-a", 2);
    pkg("v5", "5.0", 5, "gw-a", 2);
    /* Cut short: the last third of the zip is gone. */
    size_t len = 0;
    FILE *f = fopen(at("trunc.zip"), "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fclose(f);
    assert_int_equal(truncate(at("trunc.zip"), (off_t)(len * 2 / 3)), 0);
    /* One flipped byte three quarters in: inside the image's payload. */
    f = fopen(at("flip.zip"), "r+");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long pos = ftell(f) * 3 / 4;
    fseek(f, pos, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, pos, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    otter_key_free(k1);
    otter_key_free(k2);
    return 0;
}

static uint64_t counter(void)
{
    FILE *f = fopen(at("state/counter"), "r");
    if (!f)
        return 0;
    unsigned long long v = 0;
    assert_int_equal(fscanf(f, "%llu", &v), 1);
    fclose(f);
    return v;
}

static int files_equal(const char *a, const char *b)
{
    char da[65], db[65];
    digest(a, da);
    digest(b, db);
    return strcmp(da, db) == 0;
}

/* ---- the main path ---- */

static void test_factory_then_update_commits(void **state)
{
    (void)state;
    otter_err err;
    assert_otter_ok(install("v1", 1, &err), err);
    assert_true(files_equal(at("a"), at("v1.img")));
    assert_int_equal(counter(), 1);
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_A);

    assert_otter_ok(install("v2", 0, &err), err);
    assert_true(files_equal(at("b"), at("v2.img")));
    assert_true(files_equal(at("a"), at("v1.img"))); /* the running slot untouched */
    assert_int_equal(counter(), 1);                  /* raised only by the commit */
    otter_device *d = NULL;
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    assert_true(d->state->pending.present);
    assert_int_equal(d->state->pending.slot, OTTER_SLOT_B);
    /* Still running A: mark-good refuses, there is nothing of A to commit. */
    assert_otter_error(otter_commit_mark_good(d, &err), err, OTTER_ESTATE, "");
    otter_device_free(d);

    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_B);
    assert_int_equal(r.outcome, OTTER_CHECK_COMMITTED);
    assert_int_equal(counter(), 2);
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    assert_false(d->state->pending.present);
    assert_int_equal(d->state->last.status, OTTER_RESULT_SUCCESS);
    otter_device_free(d);
}

/* ---- refusals before the first byte: nothing changes ---- */

static void refused_early(const char *name, int code, const char *says)
{
    char *before = device_print(1);
    otter_err err;
    assert_otter_error(install(name, 0, &err), err, code, says);
    char *after = device_print(1);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

static void test_refused_below_counter(void **state)
{
    (void)state;
    refused_early("old", OTTER_EROLLBACK, "security version 1 is below the device's counter 2");
}

static void test_refused_other_model(void **state)
{
    (void)state;
    refused_early("model", OTTER_ECOMPAT, "model \"gw-a\" is not in compatible (gw-z)");
}

static void test_refused_below_threshold(void **state)
{
    (void)state;
    refused_early("onesig", OTTER_ESIG, "1 of 2 required signatures valid");
}

static void test_refused_running_version(void **state)
{
    (void)state;
    refused_early("v2", OTTER_ESTATE, "version 2.0 is already running");
}

/* ---- refusals after writing began: the active slot, counter and boot order stay ---- */

static void refused_late(const char *name, const char *says)
{
    char *before = device_print(0);
    otter_err err;
    int ret = install(name, 0, &err);
    if (ret == 0 || !strstr(err.msg, says))
        fail_msg("%s: got %d: %s", name, ret, err.msg);
    print_message("%s refused: %s\n", name, err.msg);
    char *after = device_print(0);
    assert_string_equal(after, before);
    free(before);
    free(after);
    char env[4096] = "";
    FILE *f = fopen(at("bootenv"), "r");
    assert_non_null(f);
    env[fread(env, 1, sizeof env - 1, f)] = '\0';
    fclose(f);
    if (!strstr(env, "BOOT_ORDER=B"))
        fail_msg("B is no longer first in the boot order: %s", env);
    otter_device *d = NULL;
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    assert_false(d->state->pending.present);
    /* The inactive slot holds no refused content the device would report or boot. */
    assert_false(d->state->slots[OTTER_SLOT_A].present &&
                 strcmp(d->state->slots[OTTER_SLOT_A].version, "1.0") != 0);
    otter_device_free(d);
    /* The next power-on boots B, the committed 2.0, with nothing to check. */
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_B);
    assert_int_equal(r.outcome, OTTER_CHECK_NOTHING);
}

static void test_refused_truncated(void **state)
{
    (void)state;
    refused_late("trunc", "truncated");
}

static void test_refused_flipped_byte(void **state)
{
    (void)state;
    refused_late("flip", "sha256");
}

/* ---- a pending update, then rollback ---- */

static void test_pending_then_rollback_refused(void **state)
{
    (void)state;
    otter_err err;
    assert_otter_ok(install("v3", 0, &err), err);
    /* A second, newer install while 3.4 waits for its reboot. */
    refused_early("v4", OTTER_ESTATE, "waiting for its reboot");
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_A);
    assert_int_equal(r.outcome, OTTER_CHECK_COMMITTED);
    assert_int_equal(counter(), 3);
    /* B holds 2.0 (security version 2), below the counter 3: no rollback to it. */
    char *before = device_print(1);
    otter_device *d = NULL;
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    int ret = otter_commit_rollback(d, 1, &err);
    otter_device_free(d);
    assert_otter_error(ret, err, OTTER_EROLLBACK,
                       "slot B has security version 2, below the counter 3");
    char *after = device_print(1);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

/* ---- boot-check refuses to commit ---- */

/* An update installed into B, then one power-on with extra agent.conf lines; prints the
 * reason boot-check recorded. The counter and the running slot A stay. */
static void boot_check_fails(const char *name, const char *extra, const char *says)
{
    otter_err err;
    assert_otter_ok(install(name, 0, &err), err);
    char text[sizeof conf_text + 256];
    snprintf(text, sizeof text, "%s%s", conf_text, extra);
    spit(conf, text, strlen(text));
    uint64_t before = counter();
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    spit(conf, conf_text, strlen(conf_text));
    assert_int_equal(r.booted, OTTER_SLOT_B);
    assert_int_equal(r.outcome, OTTER_CHECK_FAILED);
    assert_int_equal(counter(), before);
    otter_device *d = NULL;
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    assert_false(d->state->pending.present);
    assert_int_equal(d->state->last.status, OTTER_RESULT_FAILURE);
    if (!strstr(d->state->last.reason, says))
        fail_msg("recorded reason '%s', want '%s'", d->state->last.reason, says);
    otter_device_free(d);
    /* B is marked bad: the next power-on runs A again, nothing pending. */
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_A);
    assert_int_equal(r.outcome, OTTER_CHECK_NOTHING);
}

static void test_health_check_fails(void **state)
{
    (void)state;
    boot_check_fails("v4", "[health]\ncommand = exit 3\n",
                     "health check failed (exit status 3) on slot B");
}

/* B refused at power-on (verified boot), the bootloader falls back to A, which spent a try on
 * that boot: boot-check records the failure and gives A its tries back. Without that, a few
 * failed updates in a row (no normal boot between them) left the running slot with none. */
static void test_fallback_gives_the_running_slot_its_tries(void **state)
{
    (void)state;
    otter_err err;
    assert_otter_ok(install("v5", 0, &err), err);
    FILE *f = fopen(at("b"), "r+");
    assert_non_null(f);
    fseek(f, 150000, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 150000, SEEK_SET);
    fputc(ch ^ 0x01, f);
    fclose(f);
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.booted, OTTER_SLOT_A);
    assert_int_equal(r.outcome, OTTER_CHECK_FAILED);
    char env[4096] = "";
    f = fopen(at("bootenv"), "r");
    assert_non_null(f);
    env[fread(env, 1, sizeof env - 1, f)] = '\0';
    fclose(f);
    if (!strstr(env, "BOOT_A_LEFT=3") || !strstr(env, "BOOT_B_LEFT=0"))
        fail_msg("after the fallback: %s", env);
}

/* The counter went up between the install and the boot (another tool, a restored state). */
static void test_counter_raised_before_commit(void **state)
{
    (void)state;
    otter_err err;
    assert_otter_ok(install("v5", 0, &err), err);
    spit(at("state/counter"), "6\n", 2);
    otter_bootsim_result r;
    assert_otter_ok(otter_bootsim_boot(conf, &r, &err), err);
    assert_int_equal(r.outcome, OTTER_CHECK_FAILED);
    assert_int_equal(counter(), 6);
    otter_device *d = NULL;
    assert_otter_ok(otter_device_open(conf, 1, &d, &err), err);
    assert_false(d->state->pending.present);
    if (!strstr(d->state->last.reason, "below the counter 6: not committed"))
        fail_msg("recorded reason: %s", d->state->last.reason);
    otter_device_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_then_update_commits),
        cmocka_unit_test(test_refused_below_counter),
        cmocka_unit_test(test_refused_other_model),
        cmocka_unit_test(test_refused_below_threshold),
        cmocka_unit_test(test_refused_running_version),
        cmocka_unit_test(test_refused_truncated),
        cmocka_unit_test(test_refused_flipped_byte),
        cmocka_unit_test(test_pending_then_rollback_refused),
        cmocka_unit_test(test_health_check_fails),
        cmocka_unit_test(test_fallback_gives_the_running_slot_its_tries),
        cmocka_unit_test(test_counter_raised_before_commit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
