/* SPDX-License-Identifier: Apache-2.0 */
/* otter-agent: the device side. A thin command line over otter_agent_lib. */
#include "otter_agent_tpm_cmd.h"
#include "otter_bootchooser.h"
#include "otter_bootsim.h"
#include "otter_commit.h"
#include "otter_agent_ctl.h"
#include "otter_control_client.h"
#include "otter_device.h"
#include "otter_install.h"
#include "otter_resume.h"
#include "otter_source.h"
#include "otter_spool.h"
#include "otter_status.h"
#include "otter_help_otter_agent.h"
#include "otter_usage.h"
#include "otter_fmt.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "otter-agent"

/* Each command's --help (src/cli/help/otter-agent.CMD.txt). */
static const struct {
    const char *cmd, *text;
} helps[] = {
    {"install", otter_help_otter_agent_install},
    {"download", otter_help_otter_agent_download},
    {"factory", otter_help_otter_agent_factory},
    {"check", otter_help_otter_agent_check},
    {"run", otter_help_otter_agent_run},
    {"status", otter_help_otter_agent_status},
    {"boot-check", otter_help_otter_agent_boot_check},
    {"mark-good", otter_help_otter_agent_mark_good},
    {"rollback", otter_help_otter_agent_rollback},
    {"bootsim", otter_help_otter_agent_bootsim},
    {"tpm", otter_help_otter_agent_tpm},
    {"identity", otter_help_otter_agent_identity},
    {"progress", otter_help_otter_agent_progress},
};

static const char *help_of(const char *cmd)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(helps[i].cmd, cmd) == 0)
            return helps[i].text;
    return NULL;
}

/* A command's argument it does not take: an option or an extra operand. */
static int bad_argument(const char *cmd, const char *arg)
{
    return otter_usage_error(
        PROG, cmd, arg[0] == '-' ? "unknown option \"%s\"" : "unexpected argument \"%s\"", arg);
}

/*
 * EXIT_SOURCE: a delta whose base is not the running slot, or that uses a
 * method this agent does not know (nothing written either way);
 * otter-agentd falls back to the full package on it.
 */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_TROUBLE = 2, EXIT_SOURCE = 3 };

static int fail(const otter_err *err)
{
    fprintf(stderr, "otter-agent: %s\n", err->msg);
    if (err->code == OTTER_ESOURCE || err->code == OTTER_EMETHOD)
        return EXIT_SOURCE;
    return otter_err_is_refusal(err->code) || err->code == OTTER_ESTATE ? EXIT_REFUSED
                                                                        : EXIT_TROUBLE;
}

typedef struct progress {
    int json, tty;
    int last_percent;
    char last_image[OTTER_IDENT_MAX + 1];
} progress;

static void show_progress(void *ctx, const char *image, uint64_t done, uint64_t total)
{
    progress *p = ctx;
    int percent = total ? (int)(done * 100 / total) : 100;
    if (strcmp(p->last_image, image) != 0) {
        snprintf(p->last_image, sizeof p->last_image, "%s", image);
        p->last_percent = -1;
    }
    if (percent == p->last_percent)
        return;
    if (p->json) {
        printf("{\"event\": \"progress\", \"image\": \"%s\", \"done\": %llu, \"total\": %llu}\n",
               image, (unsigned long long)done, (unsigned long long)total);
        fflush(stdout);
    } else if (p->tty) {
        int bar = percent * 30 / 100;
        fprintf(stderr, "\r%-12.12s [%.*s%*s] %3d%%", image, bar, "##############################",
                30 - bar, "", percent);
        if (done == total)
            fputc('\n', stderr);
    } else if (percent / 10 != p->last_percent / 10 || p->last_percent < 0) {
        fprintf(stderr, "%s: %d%%\n", image, percent / 10 * 10);
    }
    p->last_percent = percent;
}

/* Set by SIGTERM/SIGINT: the install or download stops cleanly (handler abort). */
static volatile sig_atomic_t canceled;

static void on_cancel(int sig)
{
    (void)sig;
    canceled = 1;
}

static void catch_cancel(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cancel; /* no SA_RESTART: a blocked read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/*
 * --confirm-switch: otter-agentd's last word before the slot switch. The
 * package is verified; we say so on stdout and wait for "switch" on stdin.
 * Anything else (a cancel arrived meanwhile, the daemon died) stops here,
 * with nothing recorded and nothing switched.
 */
static int confirm_switch(void *ctx, const char *version)
{
    (void)ctx;
    char line[64];
    printf("{\"event\": \"verified\", \"version\": \"%s\"}\n", version);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 1;
    return strcmp(line, "switch\n") != 0;
}

enum { MODE_INSTALL, MODE_FACTORY, MODE_DOWNLOAD };

/* The package source for src: a file, or a URL through otter-fetch (a child). */
static int open_url(const otter_device *d, const char *src, const char *ca, const char *pin,
                    const char *header, const char *header_env, const char *cert, const char *key,
                    uint64_t from, otter_source **s, otter_err *err)
{
    char fetch[PATH_MAX], stall[24], rate[24], offset[24];
    const char *args[24];
    size_t nargs = 0;
    if (ca) {
        args[nargs++] = "--ca";
        args[nargs++] = ca;
    }
    if (pin) {
        args[nargs++] = "--pin";
        args[nargs++] = pin;
    }
    if (header) {
        args[nargs++] = "--header";
        args[nargs++] = header;
    }
    if (header_env) { /* otter-fetch inherits the environment */
        args[nargs++] = "--header-env";
        args[nargs++] = header_env;
    }
    snprintf(stall, sizeof stall, "%ld", d->conf->server_stall_timeout);
    args[nargs++] = "--stall";
    args[nargs++] = stall;
    /* Device-wide network settings: every download obeys them. */
    if (d->conf->server_max_rate_kib > 0) {
        snprintf(rate, sizeof rate, "%ld", d->conf->server_max_rate_kib * 1024);
        args[nargs++] = "--limit";
        args[nargs++] = rate;
    }
    if (d->conf->server_proxy[0]) {
        args[nargs++] = "--proxy";
        args[nargs++] = d->conf->server_proxy;
    }
    if (cert) {
        args[nargs++] = "--cert";
        args[nargs++] = cert;
    }
    if (key) {
        args[nargs++] = "--key";
        args[nargs++] = key;
        args[nargs++] = "--tcti"; /* for a TPM-held key */
        args[nargs++] = d->conf->tpm_tcti;
    }
    if (from) { /* a resumed install: the package from its first missing chunk */
        snprintf(offset, sizeof offset, "%llu", (unsigned long long)from);
        args[nargs++] = "--offset";
        args[nargs++] = offset;
    }
    int ret = otter_source_sibling("otter-fetch", fetch, sizeof fetch, err);
    if (!ret)
        ret = otter_source_spawn(fetch, src, args, nargs, d->conf->server_fetch_user, s, err);
    if (!ret)
        otter_source_set_cancel(*s, &canceled);
    return ret;
}

static int is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* What the command line says, besides the package. */
typedef struct install_args {
    otter_install_opts o;
    progress p;
    const char *ca, *pin, *header, *header_env, *cert, *key;
    unsigned long long max_size;
} install_args;

/* One option into a: 0 taken, 1 stop with *code (help or a usage error). */
static int install_option(int c, char **argv, const char *name, install_args *a, int *code)
{
    char *end = NULL;
    switch (c) {
    case 'f':
        a->o.force = 1;
        return 0;
    case 'n':
        a->o.no_reboot = 1;
        return 0;
    case 'j':
        a->p.json = 1;
        return 0;
    case 'C':
        a->ca = optarg;
        return 0;
    case 'P':
        a->pin = optarg;
        return 0;
    case 'H':
        a->header = optarg;
        return 0;
    case 'E':
        a->header_env = optarg;
        return 0;
    case 'S':
        a->o.verified = confirm_switch;
        return 0;
    case 'M':
        errno = 0;
        a->max_size = strtoull(optarg, &end, 10);
        if (errno || end == optarg || *end || optarg[0] == '-') {
            *code = otter_usage_error(PROG, name, "--max-size: \"%s\" is not a number of bytes",
                                      optarg);
            return 1;
        }
        return 0;
    case 'c':
        a->cert = optarg;
        return 0;
    case 'k':
        a->key = optarg;
        return 0;
    case 'h':
        fputs(help_of(name), stdout);
        *code = EXIT_OK;
        return 1;
    default:
        *code = otter_usage_bad_option(PROG, name, c, argv);
        return 1;
    }
}

/* Where the package's bytes come from: a file, a URL (otter-fetch), through the spool. */
typedef struct package_input {
    otter_pkg_read_fn fn;
    void *ctx;
    FILE *f;
    otter_source *s;
    otter_spool *spool;
    otter_resume *rec;
    otter_manifest *rec_manifest;
    otter_resume_point point;
} package_input;

/* After a reboot: keep what the inactive slot already holds (otter_resume.h). */
static void plan_resume(otter_device *d, const char *src, install_args *a, package_input *in)
{
    char why[OTTER_ERR_MSG_MAX];
    a->o.record_url = src;
    if (otter_resume_plan(d, src, &in->rec, &in->rec_manifest, &in->point, why, sizeof why)) {
        a->o.resume = in->rec;
        a->o.resume_point = &in->point;
        fprintf(stderr, "otter-agent: resuming at image %s chunk %zu (package byte %llu)\n",
                in->rec_manifest->images[in->point.image].name, in->point.chunk,
                (unsigned long long)in->point.from);
    } else if (strcmp(why, "no resume record") != 0) {
        fprintf(stderr, "otter-agent: starting from byte 0: %s\n", why);
    }
}

static int open_package(otter_device *d, const char *src, int mode, install_args *a,
                        package_input *in, otter_err *err)
{
    int ret = 0;
    in->fn = otter_install_file_read;
    if (is_url(src) && mode == MODE_INSTALL)
        plan_resume(d, src, a, in);
    if (is_url(src)) {
        /* The download runs in its own process (otter-fetch): see otter_source.h. */
        ret = open_url(d, src, a->ca, a->pin, a->header, a->header_env, a->cert, a->key,
                       in->point.from, &in->s, err);
        in->fn = otter_source_read;
        in->ctx = in->s;
    } else {
        in->f = strcmp(src, "-") == 0 ? stdin : fopen(src, "rb");
        if (!in->f)
            ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", src);
        in->ctx = in->f;
    }
    if (!ret && mode == MODE_DOWNLOAD) {
        uint64_t limit = (uint64_t)d->conf->server_spool_max_mb << 20;
        if (a->max_size && a->max_size < limit)
            limit = a->max_size;
        ret = otter_spool_open(d->conf->server_spool, limit, in->fn, in->ctx, &in->spool, err);
        in->fn = otter_spool_read;
        in->ctx = in->spool;
    }
    return ret;
}

static void close_package(package_input *in)
{
    otter_spool_free(in->spool);
    otter_source_free(in->s);
    otter_resume_free(in->rec);
    otter_manifest_free(in->rec_manifest);
    if (in->f && in->f != stdin)
        fclose(in->f);
}

static void print_result(const otter_device *d, int mode, const install_args *a,
                         const otter_install_result *res, int ret, const otter_err *err)
{
    if (a->p.json)
        printf("{\"event\": \"result\", \"ok\": %s, \"message\": \"%s\"}\n", ret ? "false" : "true",
               ret ? err->code == OTTER_EFORMAT ? "package refused" : otter_code_name(err->code)
               : mode == MODE_DOWNLOAD ? "downloaded"
                                       : "installed");
    if (!ret && !a->p.json && mode == MODE_DOWNLOAD)
        printf("version %s downloaded and verified into %s/update.zip\n", res->version,
               d->conf->server_spool);
    else if (!ret && !a->p.json)
        printf("%s %s installed in slot %c (%llu bytes)%s\n",
               mode == MODE_FACTORY ? "factory image" : "version", res->version,
               otter_bootchooser_letter(res->slot), (unsigned long long)res->bytes,
               mode == MODE_FACTORY ? ""
               : a->o.no_reboot     ? "; reboot to try it"
                                    : "; rebooting");
}

/* Opens the device and the package, installs (or downloads into the spool), says the result. */
static int run_install(const char *conf, const char *src, int mode, install_args *a)
{
    otter_err err;
    otter_device *d = NULL;
    otter_install_result res;
    package_input in = {0};
    a->o.progress = show_progress;
    a->o.progress_ctx = &a->p;
    catch_cancel();
    int ret = otter_device_open(conf, mode != MODE_FACTORY, &d, &err);
    if (!ret)
        ret = open_package(d, src, mode, a, &in, &err);
    if (!ret)
        ret = otter_install_stream(d, in.fn, in.ctx, src, &a->o, &res, &err);
    if (!ret && in.spool)
        ret = otter_spool_commit(in.spool, &err);
    close_package(&in);
    int code = ret ? fail(&err) : EXIT_OK;
    print_result(d, mode, a, &res, ret, &err);
    otter_device_free(d);
    return code;
}

static int cmd_install(const char *conf, int argc, char **argv, int mode)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"no-reboot", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"ca", required_argument, NULL, 'C'},
        {"pin", required_argument, NULL, 'P'},
        {"header", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {"confirm-switch", no_argument, NULL, 'S'},
        {"max-size", required_argument, NULL, 'M'},
        {"from-server", no_argument, NULL, 'F'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"header-env", required_argument, NULL, 'E'},
        {NULL, 0, NULL, 0},
    };
    const char *name = mode == MODE_DOWNLOAD  ? "download"
                       : mode == MODE_FACTORY ? "factory"
                                              : "install";
    int help = 0;
    for (int i = 1; i < argc; i++)
        help |= otter_usage_is_help(argv[i]);
    /* the person-at-the-device forms: the running daemon's (its control socket), else
       otter-agentd's one-shot commands */
    for (int i = 1; i < argc && !help; i++)
        if (strcmp(argv[i], "--from-server") == 0 && mode == MODE_INSTALL)
            return otter_agent_through_daemon(conf, OTTER_CLI_START, argc, argv, "install", i);
    if (mode == MODE_DOWNLOAD && (argc == 1 || (argc == 2 && strcmp(argv[1], "--json") == 0)))
        return otter_agent_through_daemon(conf, OTTER_CLI_DOWNLOAD, argc, argv, "download", 0);
    install_args a = {
        .o = {.factory = mode == MODE_FACTORY,
              .verify_only = mode == MODE_DOWNLOAD,
              .cancel = &canceled},
        .p = {.tty = isatty(2), .last_percent = -1},
    };
    int c, code = EXIT_OK;
    while ((c = getopt_long(argc, argv, ":fnjh", opts, NULL)) != -1)
        if (install_option(c, argv, name, &a, &code))
            return code;
    if (optind + 1 != argc)
        return otter_usage_error(PROG, name, "expected exactly one package");
    if (a.header && a.header_env)
        return otter_usage_error(PROG, name,
                                 "--header and --header-env: one request header at most");
    return run_install(conf, argv[optind], mode, &a);
}

static int cmd_simple(const char *conf, const char *cmd, int argc, char **argv)
{
    int json = 0, no_reboot = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && strcmp(cmd, "status") == 0)
            json = 1;
        else if (strcmp(argv[i], "--no-reboot") == 0 && strcmp(cmd, "rollback") == 0)
            no_reboot = 1;
        else if (otter_usage_is_help(argv[i])) {
            fputs(help_of(cmd), stdout);
            return EXIT_OK;
        } else
            return bad_argument(cmd, argv[i]);
    }
    otter_err err;
    otter_device *d = NULL;
    int ret = otter_device_open(conf, 1, &d, &err);
    int outcome = 0;
    if (!ret && strcmp(cmd, "status") == 0) {
        ret = otter_status_print(d, json, stdout, &err);
        otter_cli_opts o = {0};
        int handled = 0;
        /* The running daemon's update state below the device's (text only: the JSON keeps
           its schema; `progress --json` is the daemon's state as JSON). */
        if (!ret && !json) {
            fflush(stdout);
            otter_control_cli(conf, OTTER_CLI_STATUS, &o, &handled);
        }
    } else if (!ret && strcmp(cmd, "boot-check") == 0) {
        ret = otter_commit_boot_check(d, &outcome, &err);
        if (!ret && outcome == OTTER_CHECK_REFUSED)
            printf("slot %c is below the anti-rollback counter: not kept, slot %c boots next\n",
                   otter_bootchooser_letter(d->booted), otter_bootchooser_letter(1 - d->booted));
        else if (!ret && outcome == OTTER_CHECK_NOT_SWITCHED)
            printf("the switch to slot %c never happened (power cut before it was durable): "
                   "the update was not tried; install it again\n",
                   otter_bootchooser_letter(1 - d->booted));
        else if (!ret)
            printf("%s\n", outcome == OTTER_CHECK_NOTHING     ? "no update pending"
                           : outcome == OTTER_CHECK_COMMITTED ? "update committed"
                                                              : d->state->last.reason);
    } else if (!ret && strcmp(cmd, "mark-good") == 0) {
        ret = otter_commit_mark_good(d, &err);
        if (!ret)
            printf("slot %c committed\n", otter_bootchooser_letter(d->booted));
    } else if (!ret) {
        ret = otter_commit_rollback(d, no_reboot, &err);
        if (!ret)
            printf("slot %c will boot next\n", otter_bootchooser_letter(1 - d->booted));
    }
    otter_device_free(d);
    if (ret)
        return fail(&err);
    return strcmp(cmd, "boot-check") == 0 &&
                   (outcome == OTTER_CHECK_FAILED || outcome == OTTER_CHECK_REFUSED)
               ? EXIT_REFUSED
               : EXIT_OK;
}

static int cmd_bootsim(const char *conf, int argc, char **argv)
{
    char path[PATH_MAX];
    const char *use = conf;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            otter_err err;
            if (otter_fmt(path, sizeof path, &err, "--root", "%s/agent.conf", argv[++i]) < 0)
                return otter_usage_error(PROG, "bootsim", "%s", err.msg);
            use = path;
        } else if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent_bootsim, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--root") == 0) {
            return otter_usage_error(PROG, "bootsim", "option \"--root\" needs a value");
        } else {
            return bad_argument("bootsim", argv[i]);
        }
    }
    otter_err err;
    otter_bootsim_result res;
    int ret = otter_bootsim_boot(use, &res, &err);
    for (int s = 0; s < 2; s++)
        if (res.refused[s])
            printf("verified boot refused slot %c: %s\n", otter_bootchooser_letter(s),
                   res.refusal[s]);
    if (ret)
        return fail(&err);
    printf("booted slot %c: %s\n", otter_bootchooser_letter(res.booted),
           res.outcome == OTTER_CHECK_COMMITTED ? "update committed"
           : res.outcome == OTTER_CHECK_FAILED  ? "update failed, kept the previous system"
           : res.outcome == OTTER_CHECK_REFUSED
               ? "below the anti-rollback counter: refused, the other slot boots next"
           : res.outcome == OTTER_CHECK_NOT_SWITCHED
               ? "the switch to the update never happened, install it again"
               : "no update pending");
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *conf = "/etc/otter/agent.conf";
    int i = 1;
    opterr = 0; /* bad options are named by otter_usage_bad_option */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
            if (i + 1 == argc)
                return otter_usage_error(PROG, NULL, "option \"%s\" needs a value", argv[i]);
            conf = argv[++i];
        } else if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            return otter_usage_version(PROG);
        } else {
            return otter_usage_error(PROG, NULL, "unknown option \"%s\"", argv[i]);
        }
    }
    if (i == argc) {
        fputs(otter_help_otter_agent, stderr);
        return EXIT_TROUBLE;
    }
    const char *cmd = argv[i];
    argc -= i;
    argv += i;
    if (strcmp(cmd, "install") == 0)
        return cmd_install(conf, argc, argv, MODE_INSTALL);
    if (strcmp(cmd, "factory") == 0)
        return cmd_install(conf, argc, argv, MODE_FACTORY);
    if (strcmp(cmd, "download") == 0)
        return cmd_install(conf, argc, argv, MODE_DOWNLOAD);
    /* The network side is otter-agentd's: libcurl never runs in this process. Its usage is
       this program's, though: `otter-agent run --help` says how otter-agent runs it. */
    if (strcmp(cmd, "check") == 0 || strcmp(cmd, "run") == 0) {
        int verify = 0;
        for (int j = 1; j < argc; j++) {
            if (otter_usage_is_help(argv[j])) {
                fputs(help_of(cmd), stdout);
                return EXIT_OK;
            }
            verify |= strcmp(argv[j], "--verify") == 0;
        }
        if (strcmp(cmd, "check") == 0)
            return otter_agent_through_daemon(conf, verify ? OTTER_CLI_VERIFY : OTTER_CLI_CHECK,
                                              argc, argv, "check", 0);
        if (argc == 2 && strcmp(argv[1], "--once") == 0)
            return otter_agent_through_daemon(conf, OTTER_CLI_CHECK, argc, argv, "run", 0);
        return otter_agent_exec_sibling("otter-agentd", conf, cmd, argc, argv, 0);
    }
    if (strcmp(cmd, "progress") == 0)
        return otter_agent_progress(conf, argc, argv);
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "boot-check") == 0 ||
        strcmp(cmd, "mark-good") == 0 || strcmp(cmd, "rollback") == 0)
        return cmd_simple(conf, cmd, argc, argv);
    if (strcmp(cmd, "bootsim") == 0)
        return cmd_bootsim(conf, argc, argv);
    if (strcmp(cmd, "tpm") == 0)
        return otter_agent_cmd_tpm(conf, argc, argv);
    if (strcmp(cmd, "identity") == 0)
        return otter_agent_cmd_identity(conf, argc, argv);
    return otter_usage_error(PROG, NULL, "unknown command \"%s\"", cmd);
}
