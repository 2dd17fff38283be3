/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_agent_conf.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_file.h"
#include "otter_handler.h"
#include "otter_origin.h"
#include "otter_blkdev.h"
#include "otter_tpm.h"

enum kind { K_STR, K_PATH, K_INT, K_ENUM };

/* One configuration key: the whole reference lives in this table. */
struct key_def {
    const char *section; /* "slot" stands for every [slot.NAME] */
    const char *key;
    enum kind kind;
    const char *def; /* NULL: required */
    long min, max;   /* K_INT bounds */
    const char *choices;
    size_t offset; /* in otter_agent_conf, or in otter_slot_conf for "slot" */
};

#define C(f) offsetof(otter_agent_conf, f)
#define S(f) offsetof(otter_slot_conf, f)
#define H(f) offsetof(otter_handler_conf, f)

static const struct key_def keys[] = {
    {"device", "product", K_STR, NULL, 0, 0, NULL, C(product)},
    {"device", "model", K_STR, NULL, 0, 0, NULL, C(model)},
    {"trust", "root", K_PATH, "/etc/otter/root.json", 0, 0, NULL, C(trust_root)},
    {"state", "dir", K_PATH, "/var/lib/otter", 0, 0, NULL, C(state_dir)},
    {"rollback", "backend", K_ENUM, "file", 0, 0, "file|tpm", C(rollback_backend)},
    {"rollback", "path", K_PATH, "/var/lib/otter/rollback", 0, 0, NULL, C(rollback_path)},
    /* The TPM 2.0 (rollback backend = tpm, TPM-held client keys): a tpm2-tss TCTI
     * ("device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321") and the counter's index. */
    {"tpm", "tcti", K_STR, "device:/dev/tpmrm0", 0, 0, NULL, C(tpm_tcti)},
    {"tpm", "nv_index", K_STR, "0x01800a00", 0, 0, NULL, C(tpm_nv_index)},
    {"boot", "backend", K_ENUM, NULL, 0, 0, "file|grub|uboot", C(boot_backend)},
    {"boot", "path", K_PATH, NULL, 0, 0, NULL, C(boot_path)},
    /* One digit: U-Boot's setexpr counts in hex, so 10 and up would go wrong there. */
    {"boot", "tries", K_INT, "3", 1, 9, NULL, C(boot_tries)},
    /* The kernel command line carries otter.slot=A|B (or rauc.slot=); a
     * simulated device points this at a file its boot simulator writes. */
    {"boot", "cmdline", K_PATH, "/proc/cmdline", 0, 0, NULL, C(boot_cmdline)},
    {"health", "command", K_STR, "", 0, 0, NULL, C(health_command)},
    {"health", "timeout", K_INT, "60", 1, 3600, NULL, C(health_timeout)},
    {"reboot", "command", K_STR, "/sbin/reboot", 0, 0, NULL, C(reboot_command)},
    /* Threads that check and decode format 2 chunks: 0 = one per core (at most 4).
     * Each costs a chunk of memory (docs/agent.md); 1 for a device short of RAM. */
    {"install", "workers", K_INT, "0", 0, 4, NULL, C(install_workers)},
    /* The hawkBit DDI server (over the air); all empty on SD-card-only devices. */
    {"server", "url", K_STR, "", 0, 0, NULL, C(server_url)},
    {"server", "tenant", K_STR, "", 0, 0, NULL, C(server_tenant)},
    {"server", "controller_id", K_STR, "", 0, 0, NULL, C(server_controller)},
    /* The device's own TargetToken, or its tenant's GatewayToken: one of them. */
    {"server", "target_token", K_STR, "", 0, 0, NULL, C(server_token)},
    {"server", "gateway_token", K_STR, "", 0, 0, NULL, C(server_gateway_token)},
    {"server", "ca", K_STR, "", 0, 0, NULL, C(server_ca)},
    {"server", "pin", K_STR, "", 0, 0, NULL, C(server_pin)},
    /* DDI's "attempt" leaves the choice to the device: an unattended device
     * either goes ahead (forced) or waits for a person (skip). */
    {"server", "attempt", K_ENUM, "forced", 0, 0, "forced|skip", C(server_attempt)},
    /* Where a package downloaded ahead of its install waits (maintenance
     * window closed, update skipped), and the most it may take. */
    {"server", "spool", K_PATH, "/var/lib/otter/spool", 0, 0, NULL, C(server_spool)},
    {"server", "spool_max_mb", K_INT, "4096", 1, 1048576, NULL, C(server_spool_max_mb)},
    /* TLS client certificate for servers that authenticate devices by it (PEM). */
    {"server", "cert", K_STR, "", 0, 0, NULL, C(server_cert)},
    {"server", "key", K_STR, "", 0, 0, NULL, C(server_key)},
    /* Downloads only: a cap in KiB/s (0: none) and a libcurl proxy string. */
    {"server", "max_rate_kib", K_INT, "0", 0, 1048576, NULL, C(server_max_rate_kib)},
    {"server", "proxy", K_STR, "", 0, 0, NULL, C(server_proxy)},
    /* Seconds without a byte before otter-fetch reconnects and resumes. */
    {"server", "stall_timeout", K_INT, "30", 1, 3600, NULL, C(server_stall_timeout)},
    /* The user otter-fetch runs as when otter-agent runs as root ("" = root, as before):
     * the process that speaks TLS and HTTP to the network holds no privilege. */
    {"server", "fetch_user", K_STR, "", 0, 0, NULL, C(server_fetch_user)},
    /* The user otter-agentd drops to once its root installer broker is forked ("" = it
     * stays root): polls, feedback and the server's JSON run without privilege. */
    {"server", "daemon_user", K_STR, "", 0, 0, NULL, C(server_daemon_user)},
    /* Origins (a CDN) that artifact links may point to besides the server's
     * own: fetched without the token, pin, CA and client certificate. */
    {"server", "artifact_origins", K_STR, "", 0, 0, NULL, C(server_artifact_origins)},
    /* Encrypted images: the device's decryption key (PEM, X25519 or RSA), "" = none. */
    {"crypt", "key", K_PATH, "", 0, 0, NULL, C(crypt_key)},
    /* The local control API for the device's own UI (docs/device-ui.md). */
    {"control", "socket", K_STR, "", 0, 0, NULL, C(control_socket)},
    {"control", "mode", K_ENUM, "0660", 0, 0, "0600|0660|0666", C(control_mode)},
    {"control", "group", K_STR, "", 0, 0, NULL, C(control_group)},
    {"control", "postpone_max", K_INT, "604800", 60, 2592000, NULL, C(control_postpone_max)},
    /* What must hold before a user's Start (and a download, for space and the link). */
    {"preconditions", "power_supply", K_STR, "", 0, 0, NULL, C(pre_power_supply)},
    {"preconditions", "min_battery", K_INT, "30", 0, 100, NULL, C(pre_min_battery)},
    {"preconditions", "need_charging", K_ENUM, "no", 0, 0, "no|yes", C(pre_need_charging)},
    {"preconditions", "health_command", K_STR, "", 0, 0, NULL, C(pre_health_command)},
    {"preconditions", "metered_command", K_STR, "", 0, 0, NULL, C(pre_metered_command)},
    {"preconditions", "metered", K_ENUM, "allow", 0, 0, "allow|forbid", C(pre_metered)},
    /* The reference local update page's HTTP front (`otter-agentd ui`, docs/device-ui.md). */
    {"ui", "listen", K_STR, "127.0.0.1:8480", 0, 0, NULL, C(ui_listen)},
    {"ui", "password_hash", K_STR, "", 0, 0, NULL, C(ui_password_hash)},
    {"ui", "web_dir", K_PATH, "/usr/share/otter/web/device", 0, 0, NULL, C(ui_web_dir)},
    {"ui", "upload_dir", K_PATH, "/var/lib/otter/upload", 0, 0, NULL, C(ui_upload_dir)},
    {"ui", "max_upload_mb", K_INT, "1024", 1, 1048576, NULL, C(ui_max_upload_mb)},
    /* MQTT push wake-up (docs/agent.md "[push]"; checked by otter_push_new). */
    {"push", "url", K_STR, "", 0, 0, NULL, C(push_url)},
    {"push", "ca", K_STR, "", 0, 0, NULL, C(push_ca)},
    {"push", "cert", K_STR, "", 0, 0, NULL, C(push_cert)},
    {"push", "key", K_STR, "", 0, 0, NULL, C(push_key)},
    {"push", "username", K_STR, "", 0, 0, NULL, C(push_username)},
    {"push", "password", K_STR, "", 0, 0, NULL, C(push_password)},
    {"push", "prefix", K_STR, "otter", 0, 0, NULL, C(push_prefix)},
    {"push", "groups", K_STR, "", 0, 0, NULL, C(push_groups)},
    {"slot", "a", K_PATH, NULL, 0, 0, NULL, S(a)},
    {"slot", "b", K_PATH, NULL, 0, 0, NULL, S(b)},
    /* raw, archive, file or the NAME of a [handler.NAME] section (checked at the end). */
    {"slot", "handler", K_STR, "raw", 0, 0, NULL, S(handler)},
    /* raw only: O_DIRECT writes, and a discard of the device after the image. */
    {"slot", "direct", K_ENUM, "no", 0, 0, "no|yes", S(direct)},
    {"slot", "discard", K_ENUM, "no", 0, 0, "no|yes", S(discard)},
    /* The bootpart handler reads and switches the eMMC's boot partition with it. */
    {"emmc", "mmc", K_PATH, "/usr/bin/mmc", 0, 0, NULL, C(emmc_mmc)},
    /* Install hooks carried in packages (docs/agent.md, "Install hooks"). */
    {"hooks", "timeout", K_INT, "60", 1, 3600, NULL, C(hooks_timeout)},
    /* An exec-capable directory for them when [state] dir is on a noexec mount. */
    {"hooks", "dir", K_PATH, "", 0, 0, NULL, C(hooks_dir)},
    /* Custom handlers: [handler.NAME] (docs/porting.md, "Custom handlers"). */
    {"handler", "command", K_PATH, NULL, 0, 0, NULL, H(command)},
    {"handler", "args", K_STR, "", 0, 0, NULL, H(args)},
    {"handler", "timeout", K_INT, "300", 1, 86400, NULL, H(timeout)},
};
#define N_KEYS (sizeof keys / sizeof keys[0])
/* Which table entries a section has set: one bit per key, for duplicates and defaults. */
typedef struct {
    uint64_t w[2];
} key_set;
_Static_assert(N_KEYS <= 128, "key_set holds 128 keys: widen it before adding keys");

static int key_seen(const key_set *set, size_t i)
{
    return (set->w[i / 64] >> (i % 64)) & 1;
}

static void key_mark(key_set *set, size_t i)
{
    set->w[i / 64] |= (uint64_t)1 << (i % 64);
}

static const char *const sections[] = {
    "device", "trust", "state",   "rollback",      "boot", "health", "reboot", "server", "install",
    "tpm",    "crypt", "control", "preconditions", "ui",   "hooks",  "push",   "emmc"};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

struct parse {
    otter_agent_conf *conf;
    const char *name;
    const char *buf;
    size_t len, pos;
    int line;
    int failed;
    otter_err *err;
    key_set seen_keys;                                  /* global keys, by table index */
    key_set seen_slot_keys[OTTER_AGENT_CONF_MAX_SLOTS]; /* slot keys, by table index */
    key_set seen_handler_keys[OTTER_AGENT_CONF_MAX_HANDLERS];
    uint32_t seen_sections;
    int indented; /* the current line starts with blanks: maybe an inih continuation */
};

__attribute__((format(printf, 3, 4))) static int fail(struct parse *p, int code, const char *fmt,
                                                      ...)
{
    char what[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->failed = 1;
    if (code == OTTER_ENOMEM)
        return otter_err_set(p->err, code, "%s: out of memory", p->name);
    return otter_err_set(p->err, code, "%s:%d: %s", p->name, p->line, what);
}

static int valid_slot_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > OTTER_AGENT_CONF_MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* [handler.NAME]: a custom handler, registered when its section line is read. */
static void add_handler_section(struct parse *p, const char *sec)
{
    const char *name = sec + 8;
    otter_agent_conf *c = p->conf;
    if (!valid_slot_name(name) || otter_handler_exists(name)) {
        fail(p, OTTER_EFORMAT, "bad handler name '%s' (1-32 of a-z 0-9 _ -, not raw/archive/file)",
             name);
        return;
    }
    if (otter_agent_conf_handler(c, name)) {
        fail(p, OTTER_EFORMAT, "duplicate section [%s]", sec);
        return;
    }
    if (c->n_handlers == OTTER_AGENT_CONF_MAX_HANDLERS) {
        fail(p, OTTER_EFORMAT, "too many handler sections (limit %d)",
             OTTER_AGENT_CONF_MAX_HANDLERS);
        return;
    }
    c->handlers[c->n_handlers].name = strdup(name);
    if (!c->handlers[c->n_handlers].name) {
        fail(p, OTTER_ENOMEM, "out of memory");
        return;
    }
    c->n_handlers++;
}

/*
 * Sections are checked here, not in the key handler, because inih only
 * calls the handler for keys: an unknown section with no keys would pass.
 * Same extraction as inih: the name is everything between '[' and ']'.
 */
static void check_section_line(struct parse *p, const char *line)
{
    if (p->line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* inih skips a UTF-8 BOM too */
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '[')
        return;
    const char *end = strchr(line, ']');
    if (!end)
        return; /* inih reports the syntax error */
    char sec[256];
    size_t n = (size_t)(end - line - 1);
    if (n >= sizeof sec) {
        fail(p, OTTER_EFORMAT, "section name too long");
        return;
    }
    memcpy(sec, line + 1, n);
    sec[n] = '\0';
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (strcmp(sec, sections[i]) == 0) {
            if (p->seen_sections & (1u << i))
                fail(p, OTTER_EFORMAT, "duplicate section [%s]", sec);
            p->seen_sections |= 1u << i;
            return;
        }
    }
    if (strncmp(sec, "handler.", 8) == 0) {
        add_handler_section(p, sec);
        return;
    }
    if (strncmp(sec, "slot.", 5) != 0) {
        fail(p, OTTER_EFORMAT, "unknown section [%s]", sec);
        return;
    }
    const char *slot = sec + 5;
    if (!valid_slot_name(slot)) {
        fail(p, OTTER_EFORMAT, "bad slot name '%s' (1-32 of a-z 0-9 _ -)", slot);
        return;
    }
    otter_agent_conf *c = p->conf;
    if (otter_agent_conf_slot(c, slot)) {
        fail(p, OTTER_EFORMAT, "duplicate section [%s]", sec);
        return;
    }
    if (c->n_slots == OTTER_AGENT_CONF_MAX_SLOTS) {
        fail(p, OTTER_EFORMAT, "too many slot sections (limit %d)", OTTER_AGENT_CONF_MAX_SLOTS);
        return;
    }
    c->slots[c->n_slots].name = strdup(slot);
    if (!c->slots[c->n_slots].name) {
        fail(p, OTTER_ENOMEM, "out of memory");
        return;
    }
    c->n_slots++;
}

/* fgets over memory that also counts lines, so every message has one. */
static char *reader(char *str, int num, void *stream)
{
    struct parse *p = stream;
    if (p->failed || p->pos >= p->len)
        return NULL;
    const char *start = p->buf + p->pos;
    const char *nl = memchr(start, '\n', p->len - p->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
    p->line++;
    if (num < 2 || n > (size_t)num - 1) {
        fail(p, OTTER_EFORMAT, "line too long (limit %d bytes)", num - 2);
        return NULL;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    p->pos += n;
    p->indented = str[0] == ' ' || str[0] == '\t';
    check_section_line(p, str);
    return p->failed ? NULL : str;
}

static int convert(struct parse *p, const struct key_def *k, const char *sec, const char *value,
                   void *base)
{
    for (const char *s = value; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return fail(p, OTTER_EFORMAT, "[%s] %s: control character in value", sec, k->key);
    if (k->kind == K_INT) {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return fail(p, OTTER_EFORMAT, "[%s] %s: '%s' is not a number", sec, k->key, value);
        if (v < k->min || v > k->max) {
            return fail(p, OTTER_EFORMAT, "[%s] %s: %s is out of range (%ld..%ld)", sec, k->key,
                        value, k->min, k->max);
        }
        *(long *)((char *)base + k->offset) = v;
        return 0;
    }
    /* A path whose default is "" (none, [crypt] key) may be left empty. */
    int none = k->kind == K_PATH && !value[0] && k->def && !k->def[0];
    /* [crypt] key may name a key in the TPM instead (docs/agent.md, "[crypt]"). */
    if (k->kind == K_PATH && strcmp(k->section, "crypt") == 0 && strncmp(value, "handle:", 7) == 0)
        none = 1;
    if (k->kind == K_PATH && strcmp(k->section, "slot") == 0 && otter_handler_is_ubi_name(value))
        none = 1; /* ubiX:NAME, a UBI volume by name */
    /* A slot by stable name (partlabel:rootfs_a), resolved when the device opens. */
    otter_err serr;
    int stable = k->kind == K_PATH && !strcmp(k->section, "slot") && otter_blkdev_is_stable(value);
    if (stable && otter_blkdev_check(value, &serr) != 0)
        return fail(p, OTTER_EFORMAT, "[%s] %s: %s", sec, k->key, serr.msg);
    if (k->kind == K_PATH && value[0] != '/' && !none && !stable)
        return fail(p, OTTER_EFORMAT, "[%s] %s: '%s' is not an absolute path", sec, k->key, value);
    if (k->kind == K_PATH && strlen(value) >= PATH_MAX)
        return fail(p, OTTER_EFORMAT, "[%s] %s: path too long", sec, k->key);
    if (k->kind == K_ENUM) {
        size_t n = strlen(value);
        const char *c = k->choices;
        int ok = 0;
        while (*c) {
            size_t m = strcspn(c, "|");
            if (m == n && strncmp(c, value, n) == 0)
                ok = 1;
            c += m + (c[m] == '|');
        }
        if (!ok || n == 0) {
            return fail(p, OTTER_EFORMAT, "[%s] %s: '%.200s' is not one of %s", sec, k->key, value,
                        k->choices);
        }
    }
    if (strlen(value) > OTTER_AGENT_CONF_MAX_VALUE)
        return fail(p, OTTER_EFORMAT, "[%s] %s: value too long", sec, k->key);
    otter_err ierr;
    uint32_t index;
    if (strcmp(k->section, "tpm") == 0 && k->offset == C(tpm_nv_index) &&
        otter_tpm_parse_index(value, &index, &ierr) != 0)
        return fail(p, OTTER_EFORMAT, "[%s] %s: %s", sec, k->key, ierr.msg);
    char **field = (char **)((char *)base + k->offset);
    *field = strdup(value);
    if (!*field)
        return fail(p, OTTER_ENOMEM, "out of memory");
    return 0;
}

/*
 * The server takes one Authorization header: with both tokens set, which
 * one the device uses would be our guess, so the second one is an error
 * on its own line.
 */
static int check_tokens(struct parse *p, const char *section, const char *key)
{
    const otter_agent_conf *c = p->conf;
    if (strcmp(section, "server") != 0 || !c->server_token || !c->server_gateway_token ||
        !c->server_token[0] || !c->server_gateway_token[0])
        return 0;
    return fail(p, OTTER_EFORMAT,
                "[server] %s: %s is set too; set exactly one of target_token "
                "and gateway_token",
                key, strcmp(key, "target_token") == 0 ? "gateway_token" : "target_token");
}

/* inih callback: one key = value in the current section. Nonzero = continue. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct parse *p = user;
    if (p->failed)
        return 0;
    if (!*section) {
        fail(p, OTTER_EFORMAT, "key '%s' outside any section", key);
        return 0;
    }
    int is_slot = strncmp(section, "slot.", 5) == 0;
    int is_handler = strncmp(section, "handler.", 8) == 0;
    const char *want = is_slot ? "slot" : is_handler ? "handler" : section;
    void *base = p->conf;
    key_set *seen = &p->seen_keys;
    if (is_handler) {
        const otter_handler_conf *h = otter_agent_conf_handler(p->conf, section + 8);
        if (!h) {
            fail(p, OTTER_EFORMAT, "unknown section [%s]", section);
            return 0;
        }
        size_t idx = (size_t)(h - p->conf->handlers);
        base = &p->conf->handlers[idx];
        seen = &p->seen_handler_keys[idx];
    }
    if (is_slot) {
        const otter_slot_conf *s = otter_agent_conf_slot(p->conf, section + 5);
        if (!s) { /* the reader registers every valid slot section */
            fail(p, OTTER_EFORMAT, "unknown section [%s]", section);
            return 0;
        }
        size_t idx = (size_t)(s - p->conf->slots);
        base = &p->conf->slots[idx];
        seen = &p->seen_slot_keys[idx];
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, want) != 0 || strcmp(keys[i].key, key) != 0)
            continue;
        if (key_seen(seen, i)) {
            if (p->indented) /* inih hands us a continuation line as the same key again */
                fail(p, OTTER_EFORMAT, "[%s] %s: continuation lines are not supported", section,
                     key);
            else
                fail(p, OTTER_EFORMAT, "[%s] duplicate key '%s'", section, key);
            return 0;
        }
        key_mark(seen, i);
        if (convert(p, &keys[i], section, value, base) != 0)
            return 0;
        return check_tokens(p, section, key) == 0;
    }
    fail(p, OTTER_EFORMAT, "[%s] unknown key '%s'", section, key);
    return 0;
}

/* Fills keys the file did not set with their defaults; required ones fail. */
static int apply_defaults(struct parse *p, const char *want, void *base, const key_set *seen,
                          const char *section)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, want) != 0 || key_seen(seen, i))
            continue;
        if (!keys[i].def)
            return otter_err_set(p->err, OTTER_EFORMAT, "%s: [%s] %s is required", p->name, section,
                                 keys[i].key);
        p->line = 0;
        if (convert(p, &keys[i], section, keys[i].def, base) != 0)
            return p->err->code;
    }
    return 0;
}

static int finish(struct parse *p)
{
    for (size_t s = 0; s < N_SECTIONS; s++) {
        int ret = apply_defaults(p, sections[s], p->conf, &p->seen_keys, sections[s]);
        if (ret)
            return ret;
    }
    const otter_agent_conf *c = p->conf;
    /* A device certificate (mutual TLS) may be the device's only credential. */
    if (c->server_url[0] && !c->server_token[0] && !c->server_gateway_token[0] &&
        !(c->server_cert[0] && c->server_key[0]))
        return otter_err_set(p->err, OTTER_EFORMAT,
                             "%s: [server] url is set: target_token, gateway_token or a client "
                             "certificate (cert and key) is required",
                             p->name);
    otter_err why;
    if (otter_origin_check_conf(c->server_url, c->server_pin, c->server_ca,
                                c->server_artifact_origins, &why) != 0)
        return otter_err_set(p->err, OTTER_EFORMAT, "%s: %s", p->name, why.msg);
    if (p->conf->n_slots == 0)
        return otter_err_set(p->err, OTTER_EFORMAT, "%s: no [slot.NAME] section", p->name);
    for (size_t i = 0; i < p->conf->n_slots; i++) {
        otter_slot_conf *s = &p->conf->slots[i];
        char sec[8 + OTTER_AGENT_CONF_MAX_NAME];
        snprintf(sec, sizeof sec, "slot.%s", s->name);
        int ret = apply_defaults(p, "slot", s, &p->seen_slot_keys[i], sec);
        if (ret)
            return ret;
        if ((ret = otter_agent_conf_check_slot(p->conf, s, p->name, p->err)) != 0)
            return ret;
    }
    for (size_t i = 0; i < p->conf->n_handlers; i++) {
        char sec[9 + OTTER_AGENT_CONF_MAX_NAME];
        snprintf(sec, sizeof sec, "handler.%s", p->conf->handlers[i].name);
        int ret =
            apply_defaults(p, "handler", &p->conf->handlers[i], &p->seen_handler_keys[i], sec);
        if (ret)
            return ret;
    }
    return 0;
}

int otter_agent_conf_parse_mem(const char *buf, size_t len, const char *name,
                               otter_agent_conf **out, otter_err *err)
{
    otter_err local;
    if (!err)
        err = &local;
    *out = NULL;
    if (len > OTTER_AGENT_CONF_MAX_BYTES)
        return otter_err_set(err, OTTER_EFORMAT, "%s: too large (%zu bytes, limit %d)", name, len,
                             OTTER_AGENT_CONF_MAX_BYTES);
    if (memchr(buf, '\0', len))
        return otter_err_set(err, OTTER_EFORMAT, "%s: contains a NUL byte", name);
    struct parse p = {.name = name, .buf = buf, .len = len, .err = err};
    p.conf = calloc(1, sizeof *p.conf);
    if (!p.conf)
        return otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", name);
    int ret = ini_parse_stream(reader, &p, on_key, &p);
    if (p.failed) {
        ret = err->code;
    } else if (ret == -2) {
        ret = otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", name);
    } else if (ret != 0) {
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "%s:%d: syntax error (expected [section] or key = value)", name, ret);
    } else {
        ret = finish(&p);
    }
    if (ret != 0) {
        otter_agent_conf_free(p.conf);
        return ret;
    }
    *out = p.conf;
    return 0;
}

int otter_agent_conf_parse_file(const char *path, otter_agent_conf **out, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int ret = otter_file_read_all(path, OTTER_AGENT_CONF_MAX_BYTES, &buf, &len, err);
    if (ret == 0)
        ret = otter_agent_conf_parse_mem(buf, len, path, out, err);
    free(buf);
    return ret;
}

void otter_agent_conf_free(otter_agent_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].kind == K_INT)
            continue;
        if (strcmp(keys[i].section, "slot") == 0) {
            for (size_t s = 0; s < conf->n_slots; s++)
                free(*(char **)((char *)&conf->slots[s] + keys[i].offset));
        } else if (strcmp(keys[i].section, "handler") == 0) {
            for (size_t h = 0; h < conf->n_handlers; h++)
                free(*(char **)((char *)&conf->handlers[h] + keys[i].offset));
        } else {
            free(*(char **)((char *)conf + keys[i].offset));
        }
    }
    for (size_t s = 0; s < conf->n_slots; s++)
        free(conf->slots[s].name);
    for (size_t h = 0; h < conf->n_handlers; h++)
        free(conf->handlers[h].name);
    free(conf);
}
