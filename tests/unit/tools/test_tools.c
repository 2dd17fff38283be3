/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `otter` tool's commands called in-process (src/tools/cmd_*.c linked
 * unchanged): argument parsing and its refusals (exit 2 with the reason),
 * keygen's files and key id, pack's output, sign and verify against k-of-n
 * thresholds (exit 1 when refused), inspect's report, root new's bounds.
 * Each call's stdout and stderr are captured into files and checked.
 */
#include "otter_test.h"
#include "otter_cli.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>

static char dir[PATH_MAX];
static char out_text[1 << 16], err_text[1 << 16];

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs cmd with the NULL-terminated words after it as its argv; stdout and stderr land in
 * out_text and err_text. Returns the command's exit code. */
static int run(int (*cmd)(int, char **), const char *name, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, name);
    /* Writable copies, as a process gets them: pack cuts --compatible in place. */
    argv[argc++] = strdup(name);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        assert_true(argc < 31);
        argv[argc++] = strdup(a);
    }
    va_end(ap);
    argv[argc] = NULL;
    char o[PATH_MAX + 8], e[PATH_MAX + 8];
    snprintf(o, sizeof o, "%s/stdout", dir);
    snprintf(e, sizeof e, "%s/stderr", dir);
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(save_out >= 0 && save_err >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    optind = 0; /* glibc: start a fresh getopt scan, as a new process would */
    int code = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    close(fo);
    close(fe);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    slurp(o, out_text, sizeof out_text);
    slurp(e, err_text, sizeof err_text);
    return code;
}

static const char *at(const char *name)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc((int)((i * 2654435761u) >> 13) & 0xff, f);
    fclose(f);
}

#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        if (!strstr((text), (needle)))                                                             \
            fail_msg("\"%s\" not in: %s", (needle), (text));                                       \
    } while (0)

static char *copy_of(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

/* ---- keygen ---- */

static void test_keygen(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--out", at("k1"), NULL), EXIT_OK);
    /* The key id: 64 hex digits and a newline, nothing else. */
    assert_int_equal(strlen(out_text), 65);
    assert_int_equal(strspn(out_text, "0123456789abcdef"), 64);
    struct stat st;
    assert_int_equal(stat(at("k1.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(at("k1.pub"), &st), 0);
    /* Another type, its own id. */
    char *id1 = copy_of(out_text);
    assert_int_equal(run(otter_cmd_keygen, "keygen", "-t", "ecdsa-p256", "-o", at("k2"), NULL),
                     EXIT_OK);
    assert_string_not_equal(out_text, id1);
    free(id1);
}

static void test_keygen_refusals(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_keygen, "keygen", NULL), EXIT_TROUBLE);
    assert_contains(err_text, "--out NAME is required");
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--out", at("x"), "extra", NULL),
                     EXIT_TROUBLE);
    assert_contains(err_text, "unexpected argument \"extra\"");
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--type", "dsa-512", "--out", at("x"), NULL),
                     EXIT_TROUBLE);
    assert_contains(err_text, "dsa-512");
    struct stat st;
    assert_int_not_equal(stat(at("x.key"), &st), 0);
    /* Never overwrites: the existing pair keeps its bytes. */
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--out", at("keep"), NULL), EXIT_OK);
    char before[4096], after[4096];
    slurp(at("keep.key"), before, sizeof before);
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--out", at("keep"), NULL), EXIT_TROUBLE);
    slurp(at("keep.key"), after, sizeof after);
    assert_string_equal(before, after);
}

/* ---- pack ---- */

static int pack(const char *out)
{
    char spec[PATH_MAX + 16];
    snprintf(spec, sizeof spec, "rootfs=%s", at("rootfs.img"));
    return run(otter_cmd_pack, "pack", "--product", "gw", "--compatible", "gw-a,gw-b", "--version",
               "2.0", "--security-version", "7", "--image", spec, "-o", out, NULL);
}

static void test_pack(void **state)
{
    (void)state;
    write_bytes(at("rootfs.img"), 200000);
    char spec[PATH_MAX + 16];
    snprintf(spec, sizeof spec, "rootfs=%s", at("rootfs.img"));
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-c", "gw-b", "-V",
                         "2.0", "-s", "7", "-i", spec, "--chunk-size", "64KiB", "-k", at("k1.key"),
                         "-o", at("p.zip"), NULL),
                     EXIT_OK);
    assert_contains(out_text, "p.zip: gw 2.0, 1 image, 1 signature");
    struct stat st;
    assert_int_equal(stat(at("p.zip"), &st), 0);
    assert_true(st.st_size > 1000);
}

static void test_pack_refusals(void **state)
{
    (void)state;
    char spec[PATH_MAX + 16];
    snprintf(spec, sizeof spec, "rootfs=%s", at("rootfs.img"));
    static const struct {
        const char *opt, *value, *says;
    } bad[] = {
        {"--security-version", "-1", "--security-version: \"-1\" is not a number"},
        {"--security-version", "7x", "is not a number"},
        {"--level", "20", "--level: \"20\" is not 1..19"},
        {"--threads", "0", "--threads: \"0\" is not 1..256"},
        {"--chunk-size", "100000", "is not a power of two from 64KiB to 8MiB"},
        {"--chunk-size", "32KiB", "is not a power of two"},
        {"--chunk-size", "16MiB", "is not a power of two"},
        {"--format", "3", "--format: \"3\" is not 1 or 2"},
        {"--image", "rootfs", "expected NAME=PATH"},
        {"--image", "=x", "expected NAME=PATH"},
        {"--image", "rootfs=/x:handler=u/bi", "handler \"u/bi\" is not raw, archive, file or"},
        {"--image", "rootfs=/x:mode=fast", "unknown option \"mode=fast\""},
        {"--image", "rootfs=/x:verity=ABC", "verity=: expected the root hash, 64 lower-case hex"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int code = run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-s", "7",
                       "-i", spec, "-o", at("bad.zip"), bad[i].opt, bad[i].value, NULL);
        if (code != EXIT_TROUBLE || !strstr(err_text, bad[i].says))
            fail_msg("%s %s: exit %d, stderr %s", bad[i].opt, bad[i].value, code, err_text);
    }
    /* Each required option missing in turn. */
    assert_int_equal(run(otter_cmd_pack, "pack", "-c", "gw-a", "-V", "2.0", "-s", "7", "-i", spec,
                         "-o", at("bad.zip"), NULL),
                     EXIT_TROUBLE);
    assert_contains(err_text, "are required");
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-i", spec,
                         "-o", at("bad.zip"), NULL),
                     EXIT_TROUBLE);
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-V", "2.0", "-s", "1", "-i", spec,
                         "-o", at("bad.zip"), NULL),
                     EXIT_TROUBLE);
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-s", "1",
                         "-i", spec, NULL),
                     EXIT_TROUBLE);
    /* A missing image file and a public key as signing key: I/O or key errors, no package. */
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-s", "1",
                         "-i", "rootfs=/nonexistent/rootfs.img", "-o", at("bad.zip"), NULL),
                     EXIT_TROUBLE);
    assert_contains(err_text, "/nonexistent/rootfs.img");
    assert_int_not_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-s",
                             "1", "-i", spec, "-k", at("k1.pub"), "-o", at("bad.zip"), NULL),
                         EXIT_OK);
    struct stat st;
    assert_int_not_equal(stat(at("bad.zip"), &st), 0);
}

/* The dm-verity root hash of an image (issue #14): into the signed manifest, shown by inspect. */
static void test_pack_verity(void **state)
{
    (void)state;
    const char *hash = "48f5e240768e2aa4e3add2585a06048641105469dda1fbc37a7b723e2e73b663";
    char spec[PATH_MAX + 96];
    snprintf(spec, sizeof spec, "rootfs=%s:verity=%s", at("rootfs.img"), hash);
    assert_int_equal(run(otter_cmd_pack, "pack", "-p", "gw", "-c", "gw-a", "-V", "2.0", "-s", "7",
                         "-i", spec, "-k", at("k1.key"), "-o", at("v.zip"), NULL),
                     EXIT_OK);
    assert_int_equal(run(otter_cmd_inspect, "inspect", at("v.zip"), NULL), EXIT_OK);
    assert_contains(out_text,
                    "dm-verity root hash 48f5e240768e2aa4e3add2585a06048641105469dda1fbc3");
    assert_int_equal(run(otter_cmd_inspect, "inspect", at("v.zip"), "--json", NULL), EXIT_OK);
    assert_contains(out_text, "\"verity_root_hash\": \"48f5e240768e2aa4e3add2585a06048641105469dd");
}

/* ---- sign and verify: k-of-n ---- */

static void test_sign_verify_threshold(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_keygen, "keygen", "--out", at("k3"), NULL), EXIT_OK);
    assert_int_equal(pack(at("u.zip")), EXIT_OK);
    assert_contains(out_text, "0 signatures");
    /* Unsigned: refused (1), not a usage error. */
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "--pubkey", at("k1.pub"), NULL),
                     EXIT_REFUSED);
    assert_contains(err_text, "not signed");
    assert_int_equal(run(otter_cmd_sign, "sign", at("u.zip"), "--key", at("k1.key"), NULL),
                     EXIT_OK);
    assert_contains(out_text, "signed by ");
    /* One signature against 2 of {k1, k3}: refused with the count. */
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k1.pub"), "-p",
                         at("k3.pub"), "--threshold", "2", NULL),
                     EXIT_REFUSED);
    assert_contains(err_text, "1 of 2 required signatures valid");
    /* A signature by a key outside the set counts for nothing. */
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k3.pub"), NULL),
                     EXIT_REFUSED);
    assert_int_equal(run(otter_cmd_sign, "sign", at("u.zip"), "-k", at("k3.key"), NULL), EXIT_OK);
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k1.pub"), "-p",
                         at("k3.pub"), "--threshold", "2", NULL),
                     EXIT_OK);
    assert_contains(out_text,
                    "OK: gw 2.0 (security version 7), 1 image, signed by 2 of 2 required");
    /* The same through a trust root: 2 of 2 passes, 3 of 3 (k2 has not signed) does not. */
    assert_int_equal(run(otter_cmd_root, "root", "new", "--pubkey", at("k1.pub"), "--pubkey",
                         at("k3.pub"), "--threshold", "2", "-o", at("root2.json"), NULL),
                     EXIT_OK);
    assert_int_equal(
        run(otter_cmd_verify, "verify", at("u.zip"), "--trust", at("root2.json"), NULL), EXIT_OK);
    assert_int_equal(run(otter_cmd_root, "root", "new", "--pubkey", at("k1.pub"), "--pubkey",
                         at("k2.pub"), "--pubkey", at("k3.pub"), "--threshold", "3", "-o",
                         at("root3.json"), NULL),
                     EXIT_OK);
    assert_int_equal(
        run(otter_cmd_verify, "verify", at("u.zip"), "--trust", at("root3.json"), NULL),
        EXIT_REFUSED);
    assert_contains(err_text, "2 of 3 required signatures valid");
    /* Hardware: --model outside compatible is refused. */
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-r", at("root2.json"), "--model",
                         "gw-b", NULL),
                     EXIT_OK);
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-r", at("root2.json"), "--model",
                         "gw-z", NULL),
                     EXIT_REFUSED);
    assert_contains(err_text, "model \"gw-z\" is not in compatible");
}

static void test_verify_refusals(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), NULL), EXIT_TROUBLE);
    assert_contains(err_text, "give either --pubkey or --trust");
    assert_int_equal(run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k1.pub"), "-r",
                         at("root2.json"), NULL),
                     EXIT_TROUBLE);
    assert_int_equal(run(otter_cmd_verify, "verify", "-p", at("k1.pub"), NULL), EXIT_TROUBLE);
    assert_contains(err_text, "expected exactly one package");
    assert_int_equal(
        run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k1.pub"), "-t", "0", NULL),
        EXIT_TROUBLE);
    assert_contains(err_text, "--threshold: \"0\" is not");
    /* A threshold above the number of keys can never be met: not a valid trust set. */
    assert_int_not_equal(
        run(otter_cmd_verify, "verify", at("u.zip"), "-p", at("k1.pub"), "-t", "2", NULL), EXIT_OK);
    /* A damaged package: one flipped byte in the middle of the image. */
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", at("u.zip"), at("flip.zip"));
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(at("flip.zip"), &st), 0);
    FILE *f = fopen(at("flip.zip"), "r+");
    assert_non_null(f);
    assert_int_equal(fseek(f, st.st_size / 2, SEEK_SET), 0);
    int ch = fgetc(f);
    assert_int_equal(fseek(f, st.st_size / 2, SEEK_SET), 0);
    fputc(ch ^ 0x01, f);
    fclose(f);
    assert_int_equal(run(otter_cmd_verify, "verify", at("flip.zip"), "-r", at("root2.json"), NULL),
                     EXIT_REFUSED);
}

static void test_sign_refusals(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_sign, "sign", at("u.zip"), NULL), EXIT_TROUBLE);
    assert_contains(err_text, "at least one --key is required");
    assert_int_equal(run(otter_cmd_sign, "sign", "-k", at("k1.key"), NULL), EXIT_TROUBLE);
    assert_contains(err_text, "expected exactly one package");
    assert_int_equal(run(otter_cmd_sign, "sign", at("nonexistent.zip"), "-k", at("k1.key"), NULL),
                     EXIT_TROUBLE);
}

/* ---- inspect ---- */

static void test_inspect(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_inspect, "inspect", at("u.zip"), NULL), EXIT_OK);
    assert_contains(out_text, "product:          gw\n");
    assert_contains(out_text, "version:          2.0\n");
    assert_contains(out_text, "security version: 7\n");
    assert_contains(out_text, "compatible:       gw-a gw-b\n");
    assert_contains(out_text, "signatures:       2\n");
    assert_contains(out_text, "images:           1\n");
    assert_contains(out_text, "rootfs -> slot class rootfs, handler raw");
    assert_contains(out_text, "installed 200000 bytes");
    assert_int_equal(run(otter_cmd_inspect, "inspect", at("u.zip"), "--json", NULL), EXIT_OK);
    assert_contains(out_text, "\"security_version\": 7");
    assert_int_equal(run(otter_cmd_inspect, "inspect", at("u.zip"), "--chunks", NULL), EXIT_OK);
    assert_contains(out_text, "chunks 1 of");
    assert_int_equal(run(otter_cmd_inspect, "inspect", NULL), EXIT_TROUBLE);
    assert_contains(err_text, "expected exactly one package");
    assert_int_not_equal(run(otter_cmd_inspect, "inspect", at("rootfs.img"), NULL), EXIT_OK);
}

/* ---- root ---- */

static void test_root_refusals(void **state)
{
    (void)state;
    assert_int_equal(run(otter_cmd_root, "root", "new", "--pubkey", at("k1.pub"), "--threshold",
                         "2", "-o", at("r.json"), NULL),
                     EXIT_TROUBLE);
    assert_contains(err_text, "threshold 2 exceeds the 1 keys");
    assert_int_equal(run(otter_cmd_root, "root", "new", "--pubkey", at("k1.pub"), "--threshold",
                         "0", "-o", at("r.json"), NULL),
                     EXIT_TROUBLE);
    struct stat st;
    assert_int_not_equal(stat(at("r.json"), &st), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("tools"));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_keygen_refusals),
        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_pack_refusals),
        cmocka_unit_test(test_pack_verity),
        cmocka_unit_test(test_sign_verify_threshold),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_root_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
