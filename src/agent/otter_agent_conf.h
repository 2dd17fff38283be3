/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.conf: the device agent's configuration (INI, parsed with inih).
 *
 * Strict: an unknown section or key, a duplicate key, a value out of bounds
 * or a missing required key is an error naming the file and line. Every
 * system path is configurable, so a "device" can be a directory in a test.
 * The keys, types, defaults and bounds are one table in otter_agent_conf.c
 * and are documented in docs/agent.md.
 */
#ifndef OTTER_AGENT_CONF_H
#define OTTER_AGENT_CONF_H

#include <stddef.h>

#include "otter_err.h"

#define OTTER_AGENT_CONF_MAX_BYTES (64 * 1024) /* whole file */
#define OTTER_AGENT_CONF_MAX_SLOTS 8           /* [slot.NAME] sections */
#define OTTER_AGENT_CONF_MAX_NAME 32           /* NAME in [slot.NAME] */
#define OTTER_AGENT_CONF_MAX_VALUE 1024        /* any string value */
#define OTTER_AGENT_CONF_MAX_HANDLERS 8        /* [handler.NAME] sections */

/* One slot class ([slot.rootfs]): two slots, A and B, and how to write them. */
typedef struct otter_slot_conf {
    char *name;    /* "rootfs" */
    char *a;       /* path of slot A (file, block device or directory) */
    char *b;       /* path of slot B */
    char *handler; /* "raw", "archive", "file", "bootpart" or a [handler.NAME] */
    char *direct;  /* "yes": the raw handler writes with O_DIRECT (docs/agent.md) */
    char *discard; /* "yes": the raw handler discards the device after the image */
} otter_slot_conf;

/* A custom handler ([handler.modem]): an executable fed the verified image
 * bytes on stdin (docs/porting.md, "Custom handlers"). */
typedef struct otter_handler_conf {
    char *name;    /* "modem": what [slot.X] handler and the manifest name */
    char *command; /* absolute path of the executable */
    char *args;    /* arguments before the standard ones, split on blanks; "" = none */
    long timeout;  /* seconds it may go without taking input, and to exit after EOF */
} otter_handler_conf;

typedef struct otter_agent_conf {
    char *product;              /* [device] product */
    char *model;                /* [device] model */
    char *trust_root;           /* [trust] root: path of root.json */
    char *state_dir;            /* [state] dir */
    char *rollback_backend;     /* [rollback] backend: "file" or "tpm" */
    char *rollback_path;        /* [rollback] path */
    char *tpm_tcti;             /* [tpm] tcti: tpm2-tss TCTI string */
    char *tpm_nv_index;         /* [tpm] nv_index: the rollback counter's NV index (hex) */
    char *boot_backend;         /* [boot] backend: "file", "grub" or "uboot" */
    char *boot_path;            /* [boot] path: env file, grubenv or fw_env.config */
    long boot_tries;            /* [boot] tries */
    char *boot_cmdline;         /* [boot] cmdline: where the bootloader says which slot booted */
    char *health_command;       /* [health] command, "" = no check */
    long health_timeout;        /* [health] timeout, seconds */
    char *reboot_command;       /* [reboot] command */
    long install_workers;       /* [install] workers: chunk threads, 0 = one per core (max 4) */
    char *server_url;           /* [server] url: base URL of the DDI server, "" = no server */
    char *server_tenant;        /* [server] tenant */
    char *server_controller;    /* [server] controller_id */
    char *server_token;         /* [server] target_token, "" = none */
    char *server_gateway_token; /* [server] gateway_token, "" = none (one of the two, with a url) */
    char *server_ca;            /* [server] ca: CA file, "" = system store */
    char *server_pin;           /* [server] pin: sha256//... pins, "" = none */
    char *server_attempt; /* [server] attempt: "forced" or "skip" (what DDI "attempt" means here) */
    char *server_spool;   /* [server] spool: directory for packages downloaded ahead */
    long server_spool_max_mb;  /* [server] spool_max_mb: largest package the spool takes */
    long server_stall_timeout; /* [server] stall_timeout: seconds without a byte, then resume */
    char *server_cert;         /* [server] cert: client certificate (PEM), "" = none */
    char *server_key;          /* [server] key: its private key (PEM) */
    long server_max_rate_kib;  /* [server] max_rate_kib: download cap, 0 = none */
    char *server_proxy;        /* [server] proxy: libcurl proxy for downloads, "" = none */
    char *server_fetch_user;   /* [server] fetch_user: otter-fetch's user under root, "" = root */
    char *server_daemon_user;  /* [server] daemon_user: otter-agentd's user after the broker fork */
    char *server_artifact_origins; /* [server] artifact_origins: origins without the token, "" =
                                      none */
    char *crypt_key;           /* [crypt] key: private key opening encrypted images, "" = none */
    char *control_socket;      /* [control] socket: the local control API, "" = none */
    char *control_mode;        /* [control] mode: "0600", "0660" or "0666" */
    char *control_group;       /* [control] group: may use the API besides root, "" = none */
    long control_postpone_max; /* [control] postpone_max: seconds a user may postpone */
    char *pre_power_supply;    /* [preconditions] power_supply: sysfs dir, "" = no battery */
    long pre_min_battery;      /* [preconditions] min_battery: percent */
    char *pre_need_charging;   /* [preconditions] need_charging: "yes" or "no" */
    char *pre_health_command;  /* [preconditions] health_command: must exit 0, "" = none */
    char *pre_metered_command; /* [preconditions] metered_command: exit 0 = metered link */
    char *pre_metered;         /* [preconditions] metered: "allow" or "forbid" downloads */

    /* [ui]: the local update page's front (`otter-agentd ui`). */
    char *ui_listen;        /* [ui] listen: ADDRESS:PORT of the local page's front */
    char *ui_password_hash; /* [ui] password_hash: crypt(3) yescrypt, "" = front refuses to run */
    char *ui_web_dir;       /* [ui] web_dir: the page's files (web/device/) */
    long hooks_timeout;     /* [hooks] timeout: seconds an install hook may run */
    char *hooks_dir;        /* [hooks] dir: where hooks are written to run, "" = [state] dir */
    char *ui_upload_dir;    /* [ui] upload_dir: the front's uploads; its owner may install_file */
    long ui_max_upload_mb;  /* [ui] max_upload_mb: the largest upload the front takes */
    /* [push]: MQTT wake-up (otter_push.h), all "" = off */
    char *push_url;      /* [push] url: mqtts://HOST[:PORT] of the broker */
    char *push_ca;       /* [push] ca: CA file for the broker, "" = [server] ca */
    char *push_cert;     /* [push] cert: client certificate (PEM), "" = none */
    char *push_key;      /* [push] key: its key */
    char *push_username; /* [push] username: the device's broker account, "" = none */
    char *push_password; /* [push] password */
    char *push_prefix;   /* [push] prefix: of the topics ("otter") */
    char *push_groups;   /* [push] groups: group topics to subscribe besides the device's */
    otter_slot_conf slots[OTTER_AGENT_CONF_MAX_SLOTS];
    size_t n_slots;
    otter_handler_conf handlers[OTTER_AGENT_CONF_MAX_HANDLERS];
    size_t n_handlers;
    char *emmc_mmc; /* [emmc] mmc: mmc-utils' mmc, for the bootpart handler */
} otter_agent_conf;

/*
 * Parses agent.conf from buf (len bytes, need not be NUL-terminated); name
 * is used in messages ("agent.conf:12: ..."). On success *out is a new
 * configuration the caller frees with otter_agent_conf_free().
 * Errors: OTTER_EFORMAT (syntax, unknown section/key, duplicate, bad value,
 * missing required key, too large), OTTER_ENOMEM.
 */
int otter_agent_conf_parse_mem(const char *buf, size_t len, const char *name,
                               otter_agent_conf **out, otter_err *err);

/*
 * Reads path (at most OTTER_AGENT_CONF_MAX_BYTES) and parses it as above.
 * Errors: as otter_agent_conf_parse_mem, plus OTTER_EIO.
 */
int otter_agent_conf_parse_file(const char *path, otter_agent_conf **out, otter_err *err);

/* Frees conf and everything in it. NULL is fine. */
void otter_agent_conf_free(otter_agent_conf *conf);

/* The slot class called name, or NULL. Borrowed from conf. */
const otter_slot_conf *otter_agent_conf_slot(const otter_agent_conf *conf, const char *name);

/* The custom handler called name, or NULL (also for raw, archive, file). Borrowed. */
const otter_handler_conf *otter_agent_conf_handler(const otter_agent_conf *conf, const char *name);
/* The rules of one [slot.NAME] that need the whole section (a and b, its handler and options);
 * file names agent.conf in the message. */
int otter_agent_conf_check_slot(const otter_agent_conf *conf, const otter_slot_conf *s,
                                const char *file, otter_err *err);

/* The path of side 0 (A) or 1 (B) of slot class s, or NULL for another side. Borrowed. */
const char *otter_agent_conf_slot_path(const otter_slot_conf *s, int side);

#endif
