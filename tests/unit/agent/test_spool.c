/* SPDX-License-Identifier: Apache-2.0 */
/* The spool (a package downloaded ahead of its install) and otter-agentd's ddi.json record. */
#include "otter_test.h"
#include "otter_agent_conf.h"
#include "otter_daemon.h"
#include "otter_file.h"
#include "otter_spool.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct mem_src {
    const char *data;
    size_t len, pos, step;
} mem_src;

static ssize_t mem_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    (void)err;
    mem_src *m = ctx;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (n > m->step)
        n = m->step;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* unlink() is wrapped (-Wl,--wrap=unlink): with plant_victim set, the next unlink of a
   "*.part" leaves a symlink to plant_victim at that name, as someone racing the spool
   between its clear and its open could. */
int __real_unlink(const char *path);
int __wrap_unlink(const char *path);
static const char *plant_victim;

int __wrap_unlink(const char *path)
{
    int ret = __real_unlink(path);
    size_t n = strlen(path);
    if (plant_victim && n > 5 && strcmp(path + n - 5, ".part") == 0) {
        if (symlink(plant_victim, path) != 0)
            fail_msg("cannot plant %s", path);
        plant_victim = NULL;
    }
    return ret;
}

static char *spool_file(const char *dir, const char *name)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void test_commit_keeps_every_byte(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/spool", otter_test_dir("spool-commit"));
    mem_src m = {"0123456789abcdef", 16, 0, 5};
    otter_spool *s = NULL;
    otter_err err;
    char buf[4];
    assert_otter_ok(otter_spool_open(dir, 16, mem_read, &m, &s, &err), err);
    /* The verifier reads only part; commit drains the rest (the zip's directory). */
    assert_int_equal(otter_spool_read(s, buf, sizeof buf, &err), 4);
    assert_int_equal(access(spool_file(dir, "update.zip"), F_OK), -1);
    assert_otter_ok(otter_spool_commit(s, &err), err);
    otter_spool_free(s);
    char *text = NULL;
    size_t len = 0;
    assert_otter_ok(otter_file_read_all(spool_file(dir, "update.zip"), 100, &text, &len, &err),
                    err);
    assert_int_equal(len, 16);
    assert_memory_equal(text, "0123456789abcdef", 16);
    free(text);
    assert_int_equal(access(spool_file(dir, "update.zip.part"), F_OK), -1);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_otter_ok(otter_spool_clear(dir, &err), err);
    assert_int_equal(access(spool_file(dir, "update.zip"), F_OK), -1);
    assert_otter_ok(otter_spool_clear(dir, &err), err); /* nothing there: fine */
}

static void test_size_bound_and_abandon(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/spool", otter_test_dir("spool-bound"));
    mem_src m = {"0123456789abcdef", 16, 0, 8};
    otter_spool *s = NULL;
    otter_err err;
    char buf[16];
    assert_otter_ok(otter_spool_open(dir, 10, mem_read, &m, &s, &err), err);
    assert_int_equal(otter_spool_read(s, buf, sizeof buf, &err), 8);
    assert_otter_error((int)otter_spool_read(s, buf, sizeof buf, &err), err, OTTER_EFORMAT,
                       "larger than the spool's limit (10 bytes)");
    otter_spool_free(s); /* not committed: the part goes */
    assert_int_equal(access(spool_file(dir, "update.zip.part"), F_OK), -1);
    assert_int_equal(access(spool_file(dir, "update.zip"), F_OK), -1);
    /* An older package is never taken for a new download's. */
    assert_otter_ok(otter_file_write_atomic(spool_file(dir, "update.zip"), "old", 3, 0600, &err),
                    err);
    mem_src m2 = {"x", 1, 0, 1};
    assert_otter_ok(otter_spool_open(dir, 10, mem_read, &m2, &s, &err), err);
    assert_int_equal(access(spool_file(dir, "update.zip"), F_OK), -1);
    otter_spool_free(s);
}

/* A symlink that appears at update.zip.part after the clear is not written through
   (it was: O_TRUNC without O_EXCL truncated and overwrote the victim). */
static void test_open_refuses_planted_part(void **state)
{
    (void)state;
    char dir[PATH_MAX], victim[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/spool", otter_test_dir("spool-planted"));
    snprintf(victim, sizeof victim, "%s.victim", dir);
    otter_err err;
    assert_otter_ok(otter_file_write_atomic(victim, "precious", 8, 0600, &err), err);
    mem_src m = {"0123456789abcdef", 16, 0, 16};
    otter_spool *s = NULL;
    plant_victim = victim;
    assert_otter_error(otter_spool_open(dir, 100, mem_read, &m, &s, &err), err, OTTER_EIO,
                       "update.zip.part: cannot create");
    assert_null(s);
    assert_null(plant_victim); /* the link was planted */
    char *text = NULL;
    size_t len = 0;
    assert_otter_ok(otter_file_read_all(victim, 100, &text, &len, &err), err);
    assert_int_equal(len, 8);
    assert_memory_equal(text, "precious", 8);
    free(text);
    /* Nothing planted: the next open works. */
    assert_otter_ok(otter_spool_open(dir, 100, mem_read, &m, &s, &err), err);
    assert_otter_ok(otter_spool_commit(s, &err), err);
    otter_spool_free(s);
    assert_otter_ok(otter_file_read_all(spool_file(dir, "update.zip"), 100, &text, &len, &err),
                    err);
    assert_int_equal(len, 16);
    free(text);
}

static void test_record(void **state)
{
    (void)state;
    otter_agent_conf conf = {.state_dir = (char *)otter_test_dir("ddi-record")};
    otter_daemon_record r, back;
    otter_err err;
    assert_otter_ok(otter_daemon_record_load(&conf, &r, &err), err); /* missing: empty */
    assert_string_equal(r.action, "");
    snprintf(r.action, sizeof r.action, "42");
    snprintf(r.version, sizeof r.version, "2.0");
    snprintf(r.spooled, sizeof r.spooled, "43");
    assert_otter_ok(otter_daemon_record_save(&conf, &r, &err), err);
    assert_otter_ok(otter_daemon_record_load(&conf, &back, &err), err);
    assert_string_equal(back.action, "42");
    assert_string_equal(back.version, "2.0");
    assert_string_equal(back.spooled, "43");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/ddi.json", conf.state_dir);
    /* The format before the spool existed still loads. */
    const char *old = "{\"action\":\"7\",\"version\":\"1.1\"}";
    assert_otter_ok(otter_file_write_atomic(path, old, strlen(old), 0600, &err), err);
    assert_otter_ok(otter_daemon_record_load(&conf, &back, &err), err);
    assert_string_equal(back.action, "7");
    assert_string_equal(back.spooled, "");
    const char *bad[] = {"{\"action\":\"7\"}", "{\"action\":7,\"version\":\"1\"}", "[]", "{",
                         "{\"action\":\"1\",\"version\":\"1\",\"action\":\"2\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_otter_ok(otter_file_write_atomic(path, bad[i], strlen(bad[i]), 0600, &err), err);
        assert_otter_error(otter_daemon_record_load(&conf, &back, &err), err, OTTER_EFORMAT,
                           "not a valid record");
    }
    /* Network failures: tried again up to OTTER_DAEMON_MAX_TRIES, counted across restarts. */
    memset(&r, 0, sizeof r);
    assert_int_equal(otter_daemon_record_failed(&r, "9"), 1);
    assert_otter_ok(otter_daemon_record_save(&conf, &r, &err), err);
    assert_otter_ok(otter_daemon_record_load(&conf, &back, &err), err);
    assert_string_equal(back.retry, "9");
    assert_int_equal(back.retries, 1);
    assert_int_equal(otter_daemon_record_failed(&back, "9"), 1);
    assert_int_equal(otter_daemon_record_failed(&back, "9"), 0); /* third: give up */
    assert_string_equal(back.retry, "");
    assert_int_equal(otter_daemon_record_failed(&back, "9"), 1);  /* a new count */
    assert_int_equal(otter_daemon_record_failed(&back, "10"), 1); /* another action: restarts */
    assert_int_equal(back.retries, 1);
    const char *toomany = "{\"retry\":\"9\",\"retries\":7}";
    assert_otter_ok(otter_file_write_atomic(path, toomany, strlen(toomany), 0600, &err), err);
    assert_otter_error(otter_daemon_record_load(&conf, &back, &err), err, OTTER_EFORMAT,
                       "not a valid record");
    /* A refusal the server has not taken yet: kept alone, with its reason. */
    memset(&r, 0, sizeof r);
    snprintf(r.refused, sizeof r.refused, "11");
    snprintf(r.refusal, sizeof r.refusal, "image rootfs: sha256 mismatch \"quoted\"");
    assert_otter_ok(otter_daemon_record_save(&conf, &r, &err), err);
    assert_otter_ok(otter_daemon_record_load(&conf, &back, &err), err);
    assert_string_equal(back.refused, "11");
    assert_string_equal(back.refusal, "image rootfs: sha256 mismatch \"quoted\"");
    assert_string_equal(back.action, "");
    memset(r.refusal, 'x', sizeof r.refusal - 1); /* the longest reason still loads */
    r.refusal[sizeof r.refusal - 1] = '\0';
    assert_otter_ok(otter_daemon_record_save(&conf, &r, &err), err);
    assert_otter_ok(otter_daemon_record_load(&conf, &back, &err), err);
    assert_string_equal(back.refusal, r.refusal);
    const char *orphan = "{\"refusal\":\"why\"}"; /* a reason without its action */
    assert_otter_ok(otter_file_write_atomic(path, orphan, strlen(orphan), 0600, &err), err);
    assert_otter_error(otter_daemon_record_load(&conf, &back, &err), err, OTTER_EFORMAT,
                       "not a valid record");
    memset(&r, 0, sizeof r); /* nothing to remember: the file goes */
    assert_otter_ok(otter_daemon_record_save(&conf, &r, &err), err);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_keeps_every_byte),
        cmocka_unit_test(test_size_bound_and_abandon),
        cmocka_unit_test(test_open_refuses_planted_part),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
