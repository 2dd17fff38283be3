/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_agent_conf.h"
#include "otter_file.h"

static const char good[] = "; a gateway with two slot classes\n"
                           "[device]\n"
                           "product = zx-gw-5g\n"
                           "model = zx-gw-5g-a\n"
                           "[trust]\n"
                           "root = /dev-root/etc/otter/root.json\n"
                           "[state]\n"
                           "dir = /dev-root/var/lib/otter\n"
                           "[boot]\n"
                           "backend = grub\n"
                           "path = /dev-root/boot/grub/grubenv\n"
                           "[slot.rootfs]\n"
                           "a = /dev/mmcblk0p2\n"
                           "b = /dev/mmcblk0p3\n"
                           "[slot.app]\n"
                           "a = /data/app-a\n"
                           "b = /data/app-b\n"
                           "handler = archive\n"
                           "[health]\n"
                           "command = /usr/bin/check --quick\n"
                           "timeout = 30\n";

static int parse(const char *text, otter_agent_conf **conf, otter_err *err)
{
    return otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", conf, err);
}

static void test_good_config_and_defaults(void **state)
{
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(parse(good, &c, &err), err);
    assert_string_equal(c->product, "zx-gw-5g");
    assert_string_equal(c->model, "zx-gw-5g-a");
    assert_string_equal(c->trust_root, "/dev-root/etc/otter/root.json");
    assert_string_equal(c->state_dir, "/dev-root/var/lib/otter");
    assert_string_equal(c->boot_backend, "grub");
    assert_string_equal(c->boot_path, "/dev-root/boot/grub/grubenv");
    assert_int_equal(c->boot_tries, 3);
    assert_string_equal(c->rollback_backend, "file");
    assert_string_equal(c->rollback_path, "/var/lib/otter/rollback");
    assert_string_equal(c->tpm_tcti, "device:/dev/tpmrm0");
    assert_string_equal(c->tpm_nv_index, "0x01800a00");
    assert_string_equal(c->health_command, "/usr/bin/check --quick");
    assert_int_equal(c->health_timeout, 30);
    assert_string_equal(c->reboot_command, "/sbin/reboot");
    assert_int_equal(c->install_workers, 0);
    assert_string_equal(c->crypt_key, ""); /* no [crypt]: encrypted images are refused */
    assert_int_equal(c->n_slots, 2);
    const otter_slot_conf *s = otter_agent_conf_slot(c, "rootfs");
    assert_non_null(s);
    assert_string_equal(s->a, "/dev/mmcblk0p2");
    assert_string_equal(s->b, "/dev/mmcblk0p3");
    assert_string_equal(s->handler, "raw");
    assert_string_equal(otter_agent_conf_slot_path(s, 1), "/dev/mmcblk0p3");
    assert_null(otter_agent_conf_slot_path(s, 2));
    s = otter_agent_conf_slot(c, "app");
    assert_non_null(s);
    assert_string_equal(s->handler, "archive");
    assert_null(otter_agent_conf_slot(c, "kernel"));
    otter_agent_conf_free(c);
}

/* Each case: the good config with one line appended or replaced, and the exact message. */
static void expect_refusal(const char *text, const char *msg)
{
    otter_err err;
    otter_agent_conf *c = (otter_agent_conf *)0x1;
    int ret = parse(text, &c, &err);
    if (ret != OTTER_EFORMAT || strcmp(err.msg, msg) != 0)
        fail_msg("for config:\n%s\nexpected \"%s\", got %d \"%s\"", text, msg, ret, err.msg);
    assert_null(c);
}

static char *with(const char *extra)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s%s", good, extra);
    return buf;
}

static void test_unknown_and_duplicates(void **state)
{
    expect_refusal(with("[colour]\n"), "agent.conf:22: unknown section [colour]");
    expect_refusal(with("[device]\n"), "agent.conf:22: duplicate section [device]");
    expect_refusal(with("retries = 2\n"), "agent.conf:22: [health] unknown key 'retries'");
    expect_refusal(with("[slot.app]\n"), "agent.conf:22: duplicate section [slot.app]");
    expect_refusal(with("[boot]\n"), "agent.conf:22: duplicate section [boot]");
    expect_refusal("[device]\nproduct = x\nproduct = y\n",
                   "agent.conf:3: [device] duplicate key 'product'");
    expect_refusal("product = x\n", "agent.conf:1: key 'product' outside any section");
    expect_refusal("[device]\nproduct = x\n  y\n",
                   "agent.conf:3: [device] product: continuation lines are not supported");
    expect_refusal(with("[slot.Root FS]\n"),
                   "agent.conf:22: bad slot name 'Root FS' (1-32 of a-z 0-9 _ -)");
    expect_refusal(with("[ device ]\n"), "agent.conf:22: unknown section [ device ]");
    expect_refusal(with("just words\n"),
                   "agent.conf:22: syntax error (expected [section] or key = value)");
    expect_refusal(with("[slot.x\n"),
                   "agent.conf:22: syntax error (expected [section] or key = value)");
}

static void test_bom_and_crlf(void **state)
{
    otter_err err;
    otter_agent_conf *c = NULL;
    const char *text = "\xEF\xBB\xBF[slot.rootfs]\r\na = /a\r\nb = /b\r\n[device]\r\n"
                       "product = p\r\nmodel = m ; inline comment\r\n[boot]\r\n"
                       "backend = file\r\npath = /e\r\n";
    assert_otter_ok(parse(text, &c, &err), err);
    assert_string_equal(c->slots[0].name, "rootfs");
    assert_string_equal(c->slots[0].b, "/b");
    assert_string_equal(c->model, "m");
    otter_agent_conf_free(c);
}

/* [hooks] and [handler.NAME] (issue #14): custom handlers named by slot classes. */
static void test_hooks_and_handlers(void **state)
{
    (void)state;
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(
        parse(with("[hooks]\ntimeout = 5\ndir = /run/h\n[slot.modem]\na = /dev/ttyA\nb = "
                   "/dev/ttyB\nhandler = modem\n[handler.modem]\ncommand = "
                   "/usr/lib/otter/modem-flash\nargs = --port /dev/ttyUSB2\n"),
              &c, &err),
        err);
    assert_int_equal(c->hooks_timeout, 5);
    assert_string_equal(c->hooks_dir, "/run/h");
    const otter_handler_conf *h = otter_agent_conf_handler(c, "modem");
    assert_non_null(h);
    assert_string_equal(h->command, "/usr/lib/otter/modem-flash");
    assert_string_equal(h->args, "--port /dev/ttyUSB2");
    assert_int_equal(h->timeout, 300);
    assert_null(otter_agent_conf_handler(c, "raw"));
    assert_string_equal(otter_agent_conf_slot(c, "modem")->handler, "modem");
    otter_agent_conf_free(c);
    assert_otter_ok(parse(good, &c, &err), err);
    assert_int_equal(c->hooks_timeout, 60);
    assert_string_equal(c->hooks_dir, ""); /* [state] dir */
    otter_agent_conf_free(c);
    expect_refusal(with("[handler.modem]\nargs = x\n"),
                   "agent.conf: [handler.modem] command is required");
    expect_refusal(with("[handler.modem]\ncommand = flash\n"),
                   "agent.conf:23: [handler.modem] command: 'flash' is not an absolute path");
    expect_refusal(with("[handler.raw]\ncommand = /x\n"),
                   "agent.conf:22: bad handler name 'raw' (1-32 of a-z 0-9 _ -, not "
                   "raw/archive/file)");
    expect_refusal(with("[handler.m]\ncommand = /x\n[handler.m]\n"),
                   "agent.conf:24: duplicate section [handler.m]");
    expect_refusal(with("[handler.m]\ncommand = /x\nshell = yes\n"),
                   "agent.conf:24: [handler.m] unknown key 'shell'");
    expect_refusal(with("[hooks]\ntimeout = 0\n"),
                   "agent.conf:23: [hooks] timeout: 0 is out of range (1..3600)");
}

static void test_bad_values(void **state)
{
    expect_refusal(
        with("[slot.kernel]\na = /k-a\nb = /k-b\nhandler = zip\n"),
        "agent.conf: [slot.kernel] handler: 'zip' is not raw, archive, file, ubi, bootpart or a "
        "[handler.NAME] section");
    expect_refusal(with("[slot.kernel]\na = k-a\n"),
                   "agent.conf:23: [slot.kernel] a: 'k-a' is not an absolute path");
    expect_refusal("[boot]\ntries = 0\n", "agent.conf:2: [boot] tries: 0 is out of range (1..9)");
    expect_refusal("[boot]\ntries = 10\n", "agent.conf:2: [boot] tries: 10 is out of range (1..9)");
    expect_refusal("[boot]\ntries = 3x\n", "agent.conf:2: [boot] tries: '3x' is not a number");
    expect_refusal("[boot]\ntries =\n", "agent.conf:2: [boot] tries: '' is not a number");
    expect_refusal("[health]\ntimeout = 99999999999999999999\n",
                   "agent.conf:2: [health] timeout: '99999999999999999999' is not a number");
    expect_refusal("[boot]\nbackend = lilo\n",
                   "agent.conf:2: [boot] backend: 'lilo' is not one of file|grub|uboot");
    expect_refusal("[rollback]\nbackend = rpmb\n",
                   "agent.conf:2: [rollback] backend: 'rpmb' is not one of file|tpm");
    expect_refusal("[tpm]\nnv_index = 0x81000001\n",
                   "agent.conf:2: [tpm] nv_index: TPM NV index '0x81000001': want hex "
                   "0x01800000-0x01bfffff (owner range)");
    expect_refusal("[device]\nproduct = a\tb\n",
                   "agent.conf:2: [device] product: control character in value");
    expect_refusal("[install]\nworkers = 5\n",
                   "agent.conf:2: [install] workers: 5 is out of range (0..4)");
    expect_refusal("[crypt]\nkey = device.key\n",
                   "agent.conf:2: [crypt] key: 'device.key' is not an absolute path");
    expect_refusal("[crypt]\nsecret = /k\n", "agent.conf:2: [crypt] unknown key 'secret'");
    /* A TPM handle is a key's name for [crypt] key only, never for a path setting. */
    expect_refusal("[trust]\nroot = handle:0x81000b00\n",
                   "agent.conf:2: [trust] root: 'handle:0x81000b00' is not an absolute path");
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(parse(with("[crypt]\nkey = handle:0x81000b00\n"), &c, &err), err);
    assert_string_equal(c->crypt_key, "handle:0x81000b00");
    otter_agent_conf_free(c);
}

/* Slots by stable name, raw's direct/discard and the bootpart handler's [emmc] mmc. */
static void test_block_devices(void **state)
{
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(parse(with("[slot.kernel]\na = partlabel:kernel_a\nb = "
                               "/dev/disk/by-partuuid/5e0d5a5c-03\ndirect = yes\ndiscard = yes\n"
                               "[slot.boot]\na = /dev/mmcblk0boot0\nb = /dev/mmcblk0boot1\n"
                               "handler = bootpart\n[emmc]\nmmc = /sbin/mmc\n"),
                          &c, &err),
                    err);
    const otter_slot_conf *s = otter_agent_conf_slot(c, "kernel");
    assert_string_equal(s->a, "partlabel:kernel_a"); /* resolved when the device opens */
    assert_string_equal(s->direct, "yes");
    assert_string_equal(s->discard, "yes");
    assert_string_equal(otter_agent_conf_slot(c, "rootfs")->direct, "no");
    assert_string_equal(otter_agent_conf_slot(c, "boot")->handler, "bootpart");
    assert_string_equal(c->emmc_mmc, "/sbin/mmc");
    otter_agent_conf_free(c);
    assert_otter_ok(parse(good, &c, &err), err);
    assert_string_equal(c->emmc_mmc, "/usr/bin/mmc");
    otter_agent_conf_free(c);
    expect_refusal(with("[slot.kernel]\na = partlabel:\n"),
                   "agent.conf:23: [slot.kernel] a: 'partlabel:': the name must be 1-72 characters "
                   "without '/' or blanks");
    expect_refusal(with("[slot.kernel]\na = uuid:a b\n"),
                   "agent.conf:23: [slot.kernel] a: 'uuid:a b': the name must be 1-72 characters "
                   "without '/' or blanks");
    expect_refusal(with("[slot.kernel]\na = label:x\n"),
                   "agent.conf:23: [slot.kernel] a: 'label:x' is not an absolute path");
    expect_refusal(with("[slot.kernel]\na = /k-a\nb = /k-b\ndirect = on\n"),
                   "agent.conf:25: [slot.kernel] direct: 'on' is not one of no|yes");
    expect_refusal(with("[slot.kernel]\na = /k-a\nb = /k-b\nhandler = file\ndiscard = yes\n"),
                   "agent.conf: [slot.kernel] direct and discard are for the raw handler only");
    /* A stable name is for slots only. */
    expect_refusal("[trust]\nroot = partlabel:x\n",
                   "agent.conf:2: [trust] root: 'partlabel:x' is not an absolute path");
}

static void test_missing_and_limits(void **state)
{
    expect_refusal("[device]\nproduct = p\n", "agent.conf: [device] model is required");
    expect_refusal("[device]\nproduct = p\nmodel = m\n[boot]\nbackend = file\npath = /e\n",
                   "agent.conf: no [slot.NAME] section");
    expect_refusal("[device]\nproduct = p\nmodel = m\n[boot]\nbackend = file\n",
                   "agent.conf: [boot] path is required");
    expect_refusal("[device]\nproduct = p\nmodel = m\n[boot]\nbackend = file\npath = /e\n"
                   "[slot.r]\na = /x\n",
                   "agent.conf: [slot.r] b is required");
    expect_refusal("[device]\nproduct = p\nmodel = m\n[boot]\nbackend = file\npath = /e\n"
                   "[slot.r]\na = /x\nb = /x\n",
                   "agent.conf: [slot.r] a and b are the same path");
    char big[OTTER_AGENT_CONF_MAX_BYTES + 2];
    memset(big, ';', sizeof big);
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_error(otter_agent_conf_parse_mem(big, sizeof big, "agent.conf", &c, &err), err,
                       OTTER_EFORMAT, "agent.conf: too large (65538 bytes, limit 65536)");
    assert_otter_error(otter_agent_conf_parse_mem("[device]\0", 9, "agent.conf", &c, &err), err,
                       OTTER_EFORMAT, "agent.conf: contains a NUL byte");
    char line[400];
    snprintf(line, sizeof line, "[device]\nproduct = %0300d\n", 7);
    expect_refusal(line, "agent.conf:2: line too long (limit 198 bytes)");
    char slots[2048] = "";
    for (int i = 0; i <= OTTER_AGENT_CONF_MAX_SLOTS; i++)
        snprintf(slots + strlen(slots), sizeof slots - strlen(slots), "[slot.s%d]\n", i);
    expect_refusal(slots, "agent.conf:9: too many slot sections (limit 8)");
}

/* A device talks to a server with its TargetToken or its tenant's GatewayToken, never both. */
static void test_server_tokens(void **state)
{
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(
        parse(with("[server]\nurl = http://127.0.0.1:1\ngateway_token = gw1\n"), &c, &err), err);
    assert_string_equal(c->server_gateway_token, "gw1");
    assert_string_equal(c->server_token, "");
    otter_agent_conf_free(c);
    assert_otter_ok(
        parse(with("[server]\nurl = http://127.0.0.1:1\ntarget_token = t1\n"), &c, &err), err);
    assert_string_equal(c->server_token, "t1");
    assert_string_equal(c->server_gateway_token, "");
    otter_agent_conf_free(c);
    /* A device certificate alone (mutual TLS), its key in the TPM. */
    assert_otter_ok(parse(with("[server]\nurl = https://127.0.0.1:1\ncert = /c.pem\n"
                               "key = handle:0x81000a00\n[tpm]\nnv_index = 0x01BFFFFF\n"
                               "tcti = swtpm:port=2321\n"),
                          &c, &err),
                    err);
    assert_string_equal(c->server_key, "handle:0x81000a00");
    assert_string_equal(c->server_token, "");
    assert_string_equal(c->tpm_nv_index, "0x01BFFFFF");
    assert_string_equal(c->tpm_tcti, "swtpm:port=2321");
    otter_agent_conf_free(c);
    /* No server at all (SD card only): no token either. */
    assert_otter_ok(parse(good, &c, &err), err);
    assert_string_equal(c->server_gateway_token, "");
    otter_agent_conf_free(c);
    expect_refusal(with("[server]\nurl = http://127.0.0.1:1\ntarget_token = t1\n"
                        "gateway_token = gw1\n"),
                   "agent.conf:25: [server] gateway_token: target_token is set too; set exactly "
                   "one of target_token and gateway_token");
    expect_refusal(with("[server]\ngateway_token = gw1\ntarget_token = t1\n"),
                   "agent.conf:24: [server] target_token: gateway_token is set too; set exactly "
                   "one of target_token and gateway_token");
    expect_refusal(with("[server]\nurl = http://127.0.0.1:1\n"),
                   "agent.conf: [server] url is set: target_token, gateway_token or a client "
                   "certificate (cert and key) is required");
    expect_refusal(with("[server]\nurl = http://127.0.0.1:1\ntarget_token =\ngateway_token =\n"),
                   "agent.conf: [server] url is set: target_token, gateway_token or a client "
                   "certificate (cert and key) is required");
    expect_refusal(with("[server]\nurl = http://127.0.0.1:1\ncert = /c.pem\n"),
                   "agent.conf: [server] url is set: target_token, gateway_token or a client "
                   "certificate (cert and key) is required");
    expect_refusal(with("[server]\ngateway_token = gw1\ngateway_token = gw2\n"),
                   "agent.conf:24: [server] duplicate key 'gateway_token'");
}

/* The token goes to the server's origin only: what agent.conf allows around it. */
static void test_server_origins(void **state)
{
    otter_err err;
    otter_agent_conf *c = NULL;
    assert_otter_ok(parse(with("[server]\nurl = https://ota.example.com\ntarget_token = t\n"
                               "pin = sha256//x\nartifact_origins = https://cdn.example.net, "
                               "https://[::1]:9443\n"),
                          &c, &err),
                    err);
    assert_string_equal(c->server_artifact_origins, "https://cdn.example.net, https://[::1]:9443");
    otter_agent_conf_free(c);
    assert_otter_error(
        parse(with("[server]\nurl = http://ota.example.com\ntarget_token = t\npin = sha256//x\n"),
              &c, &err),
        err, OTTER_EFORMAT, "agent.conf: [server] url is plain http:// but pin is set");
    assert_otter_error(
        parse(with("[server]\nurl = http://ota.example.com\ntarget_token = t\nca = /ca.pem\n"), &c,
              &err),
        err, OTTER_EFORMAT, "agent.conf: [server] url is plain http:// but ca is set");
    assert_otter_error(
        parse(with("[server]\nurl = https://ota.example.com\ntarget_token = t\n"
                   "artifact_origins = http://cdn.example.net\n"),
              &c, &err),
        err, OTTER_EFORMAT,
        "agent.conf: [server] artifact_origins: http://cdn.example.net:80 is plain HTTP");
    assert_otter_error(parse(with("[server]\nurl = https://ota.example.com\ntarget_token = t\n"
                                  "artifact_origins = https://cdn.example.net/path\n"),
                             &c, &err),
                       err, OTTER_EFORMAT, "is not a bare origin");
}

static void test_file_wrapper(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/agent.conf", otter_test_dir("conf_file"));
    otter_agent_conf *c = NULL;
    assert_otter_error(otter_agent_conf_parse_file(path, &c, &err), err, OTTER_EIO,
                       "agent.conf: cannot open");
    assert_otter_ok(otter_file_write_atomic(path, good, strlen(good), 0644, &err), err);
    assert_otter_ok(otter_agent_conf_parse_file(path, &c, &err), err);
    otter_agent_conf_free(c);
    const char *bad = "[device]\nproduct = p\nmodle = m\n";
    assert_otter_ok(otter_file_write_atomic(path, bad, strlen(bad), 0644, &err), err);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s:3: [device] unknown key 'modle'", path);
    assert_otter_error(otter_agent_conf_parse_file(path, &c, &err), err, OTTER_EFORMAT, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config_and_defaults),
        cmocka_unit_test(test_unknown_and_duplicates),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_hooks_and_handlers),
        cmocka_unit_test(test_missing_and_limits),
        cmocka_unit_test(test_server_tokens),
        cmocka_unit_test(test_server_origins),
        cmocka_unit_test(test_file_wrapper),
        cmocka_unit_test(test_block_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
