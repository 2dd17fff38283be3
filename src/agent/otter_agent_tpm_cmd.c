/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_agent_tpm_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_agent_conf.h"
#include "otter_file.h"
#include "otter_help_otter_agent.h"
#include "otter_tpm.h"
#include "otter_tpm_crypt.h"
#include "otter_tpm_key.h"
#include "otter_usage.h"

#define PROG "otter-agent"

static int fail(const char *cmd, const otter_err *err)
{
    fprintf(stderr, "%s %s: %s\n", PROG, cmd, err->msg);
    return otter_err_is_refusal(err->code) || err->code == OTTER_ESTATE ? 1 : 2;
}

/* tpm provision: the factory step that defines the rollback counter (needs the owner
 * hierarchy, so not the agent's job at run time: an index that vanished in the field
 * is an error, never a new start). Idempotent. */
static int tpm_provision(const otter_agent_conf *c, otter_err *err)
{
    uint32_t index;
    uint64_t counter = 0, level = 0;
    otter_tpm *t = NULL;
    int ret = otter_tpm_parse_index(c->tpm_nv_index, &index, err);
    if (!ret)
        ret = otter_tpm_open(c->tpm_tcti, &t, err);
    if (!ret)
        ret = otter_tpm_counter_provision(t, index, &counter, err);
    if (!ret)
        ret = otter_tpm_level_of(counter, &level, err);
    otter_tpm_free(t);
    if (!ret)
        printf("TPM NV counter 0x%08" PRIx32 ": value %" PRIu64 ", security level %" PRIu64 "\n",
               index, counter, level);
    return ret;
}

/* tpm crypt-key create|public: the decryption key for encrypted images at [crypt] key
 * (a handle): made in the TPM (create), its public key PEM printed for the release
 * engineer's `otter pack --encrypt-for`. */
static int tpm_crypt_key(const otter_agent_conf *c, int create, otter_err *err)
{
    uint32_t h = 0;
    char *pem = NULL;
    otter_tpm *t = NULL;
    int ret = otter_tpm_parse_handle("[crypt] key", c->crypt_key, &h, err);
    if (!ret && create)
        ret = otter_tpm_open(c->tpm_tcti, &t, err);
    if (!ret && create)
        ret = otter_tpm_crypt_key_persist(t, h, err);
    otter_tpm_free(t);
    if (!ret)
        ret = otter_tpm_crypt_key_public(c->tpm_tcti, c->crypt_key, &pem, err);
    if (!ret)
        fputs(pem, stdout);
    free(pem);
    return ret;
}

int otter_agent_cmd_tpm(const char *conf, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent_tpm, stdout);
            return 0;
        }
    if (argc >= 2 && argv[1][0] == '-')
        return otter_usage_error(PROG, "tpm", "unknown option \"%s\"", argv[1]);
    int prov = argc == 2 && strcmp(argv[1], "provision") == 0;
    int ck = argc == 3 && strcmp(argv[1], "crypt-key") == 0;
    int create = ck && strcmp(argv[2], "create") == 0;
    if (!prov && !create && !(ck && strcmp(argv[2], "public") == 0))
        return otter_usage_error(PROG, "tpm",
                                 argc < 2 ? "missing subcommand (provision, crypt-key create, "
                                            "crypt-key public)"
                                          : "unknown subcommand \"%s\"",
                                 argv[argc < 2 ? 0 : argc - 1]);
    otter_agent_conf *c = NULL;
    otter_err err;
    int ret = otter_agent_conf_parse_file(conf, &c, &err);
    if (!ret)
        ret = prov ? tpm_provision(c, &err) : tpm_crypt_key(c, create, &err);
    otter_agent_conf_free(c);
    return ret ? fail("tpm", &err) : 0;
}

/* A key persistent at [server] key = handle:0x81xxxxxx: made with ESYS (the provider
 * cannot persist); the CSR is then signed through the provider like any TPM key. */
static int create_persistent(const otter_agent_conf *c, otter_err *err)
{
    uint32_t h = 0;
    otter_tpm *t = NULL;
    int ret = otter_tpm_parse_handle("[server] key", c->server_key, &h, err);
    if (!ret)
        ret = otter_tpm_open(c->tpm_tcti, &t, err);
    if (!ret)
        ret = otter_tpm_key_persist(t, h, err);
    otter_tpm_free(t);
    return ret;
}

struct identity_opts {
    int software;
    const char *cn, *csr;
};

/* identity create: the key where [server] key says, its CSR to --csr or stdout. */
static int identity_create(const otter_agent_conf *c, const struct identity_opts *o, otter_err *err)
{
    char *pem = NULL;
    const char *cn = o->cn ? o->cn : c->server_controller;
    if (!c->server_key[0] || !c->server_cert[0])
        return otter_err_set(err, OTTER_EUSAGE,
                             "set [server] key and cert in agent.conf: where the key and the "
                             "certificate go");
    if (!cn[0])
        return otter_err_set(err, OTTER_EUSAGE,
                             "no subject: set [server] controller_id or give --cn NAME");
    int ret = o->software ? 0 : otter_tpm_key_init(c->tpm_tcti, err);
    if (!ret && !o->software && strncmp(c->server_key, "handle:", 7) == 0)
        ret = create_persistent(c, err);
    else if (!ret)
        ret = otter_tpm_key_create(c->server_key, !o->software, err);
    if (!ret)
        ret = otter_tpm_key_csr(c->server_key, cn, &pem, err);
    if (!ret && o->csr)
        ret = otter_file_write_atomic(o->csr, pem, strlen(pem), 0644, err);
    else if (!ret)
        fputs(pem, stdout);
    free(pem);
    return ret;
}

/* identity install CERT: the certificate the carrier's device CA issued for our key. */
static int identity_install(const otter_agent_conf *c, const char *cert, otter_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    if (!c->server_key[0] || !c->server_cert[0])
        return otter_err_set(err, OTTER_EUSAGE, "set [server] key and cert in agent.conf");
    int ret = otter_tpm_key_is_tpm(c->server_key) ? otter_tpm_key_init(c->tpm_tcti, err) : 0;
    if (!ret)
        ret = otter_tpm_key_match(cert, c->server_key, err);
    if (!ret)
        ret = otter_file_read_all(cert, 64 * 1024, &pem, &len, err);
    if (!ret)
        ret = otter_file_write_atomic(c->server_cert, pem, len, 0644, err);
    if (!ret)
        printf("installed %s as %s\n", cert, c->server_cert);
    free(pem);
    return ret;
}

static int identity_args(int argc, char **argv, struct identity_opts *o, const char **cert)
{
    int create = strcmp(argv[1], "create") == 0;
    for (int i = 2; i < argc; i++) {
        if (create && strcmp(argv[i], "--software") == 0)
            o->software = 1;
        else if (create && (strcmp(argv[i], "--cn") == 0 || strcmp(argv[i], "--csr") == 0) &&
                 i + 1 < argc) {
            *(strcmp(argv[i], "--csr") == 0 ? &o->csr : &o->cn) = argv[i + 1];
            i++;
        } else if (!create && !*cert && argv[i][0] != '-')
            *cert = argv[i];
        else
            return otter_usage_error(PROG, "identity",
                                     argv[i][0] == '-' ? "unknown option \"%s\""
                                                       : "unexpected argument \"%s\"",
                                     argv[i]);
    }
    if (!create && !*cert)
        return otter_usage_error(PROG, "identity", "install needs the certificate file");
    return 0;
}

int otter_agent_cmd_identity(const char *conf, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent_identity, stdout);
            return 0;
        }
    if (argc >= 2 && argv[1][0] == '-')
        return otter_usage_error(PROG, "identity", "unknown option \"%s\"", argv[1]);
    if (argc < 2 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "install") != 0))
        return otter_usage_error(PROG, "identity",
                                 argc < 2 ? "missing subcommand (create or install)"
                                          : "unknown subcommand \"%s\"",
                                 argv[argc < 2 ? 0 : 1]);
    struct identity_opts o = {0};
    const char *cert = NULL;
    int ret = identity_args(argc, argv, &o, &cert);
    if (ret)
        return ret;
    otter_agent_conf *c = NULL;
    otter_err err;
    ret = otter_agent_conf_parse_file(conf, &c, &err);
    if (!ret)
        ret = cert ? identity_install(c, cert, &err) : identity_create(c, &o, &err);
    otter_agent_conf_free(c);
    return ret ? fail("identity", &err) : 0;
}
