/* SPDX-License-Identifier: Apache-2.0 */
/* otter-agent: the device side. A thin command line over otter_agent_lib. */
#include "otter_bootchooser.h"
#include "otter_bootsim.h"
#include "otter_commit.h"
#include "otter_device.h"
#include "otter_install.h"
#include "otter_source.h"
#include "otter_status.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: otter-agent [--config agent.conf] COMMAND [OPTIONS]\n"
    "\n"
    "The Otter device agent: installs verified updates into the inactive A/B\n"
    "slot, switches slots with a boot-count fallback, and commits or rolls back.\n"
    "\n"
    "Commands:\n"
    "  install FILE|URL   install a package (SD card, USB stick, manual download)\n"
    "      --force        also when this version is already running\n"
    "      --no-reboot    do not run the reboot command afterwards\n"
    "      --json         progress and result as JSON lines (for a UI)\n"
    "      --ca FILE      (URL) CA certificates; --pin sha256//...  pinned server key\n"
    "      --header 'Name: value'  (URL) a request header, e.g. the DDI TargetToken\n"
    "  status [--json]    booted slot, versions per slot, pending update, counter,\n"
    "                     last result\n"
    "  boot-check         run at start-up: commit a pending update after its health\n"
    "                     check, or record its failure\n"
    "  mark-good          commit the running, pending update now (no health check)\n"
    "  rollback [--no-reboot]  boot the other slot if it holds a valid system\n"
    "  factory FILE       flash slot A with a package and commit it (manufacture)\n"
    "  bootsim --root DIR play the bootloader of a simulated device (DIR/agent.conf):\n"
    "                     pick a slot, count a try, verify its digests, boot-check\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  agent configuration (default /etc/otter/agent.conf)\n"
    "  -h, --help         this help; `otter-agent COMMAND --help` for a command\n"
    "\n"
    "Exit status: 0 success; 1 refused (signature, digest, model, downgrade, state);\n"
    "2 usage or I/O error. See docs/agent.md.\n";

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_TROUBLE = 2 };

static int fail(const otter_err *err)
{
    fprintf(stderr, "otter-agent: %s\n", err->msg);
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
        fprintf(stderr, "\r%-12.12s [%.*s%*s] %3d%%", image, bar,
                "##############################", 30 - bar, "", percent);
        if (done == total)
            fputc('\n', stderr);
    } else if (percent / 10 != p->last_percent / 10 || p->last_percent < 0) {
        fprintf(stderr, "%s: %d%%\n", image, percent / 10 * 10);
    }
    p->last_percent = percent;
}

static int cmd_install(const char *conf, int argc, char **argv, int factory)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},     {"no-reboot", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},      {"ca", required_argument, NULL, 'C'},
        {"pin", required_argument, NULL, 'P'}, {"header", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    otter_install_opts o = {.factory = factory};
    progress p = {.tty = isatty(2), .last_percent = -1};
    const char *ca = NULL, *pin = NULL, *header = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "fnjh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o.force = 1; break;
        case 'n': o.no_reboot = 1; break;
        case 'j': p.json = 1; break;
        case 'C': ca = optarg; break;
        case 'P': pin = optarg; break;
        case 'H': header = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return EXIT_TROUBLE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "otter-agent: %s needs exactly one package\n", factory ? "factory" : "install");
        return EXIT_TROUBLE;
    }
    const char *src = argv[optind];
    o.progress = show_progress;
    o.progress_ctx = &p;
    otter_err err;
    otter_device *d = NULL;
    otter_install_result res;
    int ret = otter_device_open(conf, !factory, &d, &err);
    if (!ret && (strncmp(src, "https://", 8) == 0 || strncmp(src, "http://", 7) == 0)) {
        /* The download runs in its own process (otter-fetch): see otter_source.h. */
        char fetch[PATH_MAX];
        const char *args[6];
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
        otter_source *s = NULL;
        ret = otter_source_sibling("otter-fetch", fetch, sizeof fetch, &err);
        if (!ret)
            ret = otter_source_spawn(fetch, src, args, nargs, &s, &err);
        if (!ret)
            ret = otter_install_stream(d, otter_source_read, s, src, &o, &res, &err);
        otter_source_free(s);
    } else if (!ret) {
        ret = otter_install_file(d, src, &o, &res, &err);
    }
    int code = ret ? fail(&err) : EXIT_OK;
    if (p.json)
        printf("{\"event\": \"result\", \"ok\": %s, \"message\": \"%s\"}\n", ret ? "false" : "true",
               ret ? err.code == OTTER_EFORMAT ? "package refused" : otter_code_name(err.code)
                   : "installed");
    if (!ret && !p.json)
        printf("%s %s installed in slot %c (%llu bytes)%s\n", factory ? "factory image" : "version",
               res.version, otter_bootchooser_letter(res.slot), (unsigned long long)res.bytes,
               factory ? "" : o.no_reboot ? "; reboot to try it" : "; rebooting");
    otter_device_free(d);
    return code;
}

static int cmd_simple(const char *conf, const char *cmd, int argc, char **argv)
{
    int json = 0, no_reboot = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && strcmp(cmd, "status") == 0)
            json = 1;
        else if (strcmp(argv[i], "--no-reboot") == 0 && strcmp(cmd, "rollback") == 0)
            no_reboot = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "otter-agent %s: unexpected argument \"%s\"\n", cmd, argv[i]);
            return EXIT_TROUBLE;
        }
    }
    otter_err err;
    otter_device *d = NULL;
    int ret = otter_device_open(conf, 1, &d, &err);
    int outcome = 0;
    if (!ret && strcmp(cmd, "status") == 0)
        ret = otter_status_print(d, json, stdout, &err);
    else if (!ret && strcmp(cmd, "boot-check") == 0) {
        ret = otter_commit_boot_check(d, &outcome, &err);
        if (!ret)
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
    return strcmp(cmd, "boot-check") == 0 && outcome == OTTER_CHECK_FAILED ? EXIT_REFUSED : EXIT_OK;
}

static int cmd_bootsim(const char *conf, int argc, char **argv)
{
    char path[PATH_MAX];
    const char *use = conf;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            snprintf(path, sizeof path, "%s/agent.conf", argv[++i]);
            use = path;
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "otter-agent bootsim: unexpected argument \"%s\"\n", argv[i]);
            return EXIT_TROUBLE;
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
                                                : "no update pending");
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *conf = "/etc/otter/agent.conf";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
            conf = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("otter-agent %s\n", OTTER_VERSION);
            return EXIT_OK;
        } else {
            fprintf(stderr, "otter-agent: unknown option \"%s\"\n\n%s", argv[i], usage);
            return EXIT_TROUBLE;
        }
    }
    if (i == argc) {
        fputs(usage, stderr);
        return EXIT_TROUBLE;
    }
    const char *cmd = argv[i];
    argc -= i;
    argv += i;
    if (strcmp(cmd, "install") == 0 || strcmp(cmd, "factory") == 0)
        return cmd_install(conf, argc, argv, strcmp(cmd, "factory") == 0);
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "boot-check") == 0 ||
        strcmp(cmd, "mark-good") == 0 || strcmp(cmd, "rollback") == 0)
        return cmd_simple(conf, cmd, argc, argv);
    if (strcmp(cmd, "bootsim") == 0)
        return cmd_bootsim(conf, argc, argv);
    fprintf(stderr, "otter-agent: unknown command \"%s\"\n\n%s", cmd, usage);
    return EXIT_TROUBLE;
}
