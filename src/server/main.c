/* SPDX-License-Identifier: Apache-2.0 */
/* otter-server: command line only; the work is in otter_server_lib. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_server.h"
#include "otter_server_config.h"
#include "otter_help_otter_server.h"
#include "otter_usage.h"

#define DEFAULT_CONFIG "/etc/otter/server.conf"

#define PROG "otter-server"

static int fail(const otter_err *err)
{
    fprintf(stderr, "otter-server: %s\n", err->msg);
    return err->code == OTTER_EUSAGE ? 2 : 1;
}

static int load_config(const char *path, otter_server_config **cfg, otter_err *err)
{
    return otter_server_config_parse_file(path ? path : DEFAULT_CONFIG, cfg, err);
}

/* Reads one line of stdin as the password (without the newline). */
static int read_password(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *config = NULL, *admin = "admin";
    int c;
    while ((c = getopt_long(argc, argv, ":c:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'a':
            admin = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_server_init, stdout);
            return 0;
        default:
            return otter_usage_bad_option(PROG, "init", c, argv);
        }
    }
    if (optind != argc)
        return otter_usage_error(PROG, "init", "unexpected argument \"%s\"", argv[optind]);
    otter_err err;
    otter_server_config *cfg = NULL;
    int ret = load_config(config, &cfg, &err);
    if (ret == 0)
        ret = otter_server_init(cfg, admin, getenv("OTTER_ADMIN_PASSWORD"), stdout, &err);
    otter_server_config_free(cfg);
    return ret < 0 ? fail(&err) : 0;
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"ready-file", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *config = NULL, *ready = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":c:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_server_serve, stdout);
            return 0;
        default:
            return otter_usage_bad_option(PROG, "serve", c, argv);
        }
    }
    if (optind != argc)
        return otter_usage_error(PROG, "serve", "unexpected argument \"%s\"", argv[optind]);
    otter_err err;
    otter_server_config *cfg = NULL;
    int ret = load_config(config, &cfg, &err);
    if (ret == 0)
        ret = otter_server_serve(cfg, ready, &err);
    otter_server_config_free(cfg);
    return ret < 0 ? fail(&err) : 0;
}

static int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"admin", no_argument, NULL, 'A'},
                                         {"tenant", required_argument, NULL, 't'},
                                         {"role", required_argument, NULL, 'R'},
                                         {"password-stdin", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return otter_usage_error(PROG, "user", "expected a command: add, passwd or list");
        fputs(otter_help_otter_server_user, stdout);
        return 0;
    }
    const char *sub = argv[1];
    const char *config = NULL, *tenant = NULL, *role = NULL;
    int is_admin = 0, from_stdin = 0, c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, ":c:At:R:ph", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'A':
            is_admin = 1;
            break;
        case 't':
            tenant = optarg;
            break;
        case 'R':
            role = optarg;
            break;
        case 'p':
            from_stdin = 1;
            break;
        case 'h':
            fputs(otter_help_otter_server_user, stdout);
            return 0;
        default:
            return otter_usage_bad_option(PROG, "user", c, argv);
        }
    }
    int is_list = strcmp(sub, "list") == 0;
    if (sub[0] == '-')
        return otter_usage_error(PROG, "user", "unknown option \"%s\"", sub);
    if (!is_list && strcmp(sub, "add") != 0 && strcmp(sub, "passwd") != 0)
        return otter_usage_error(PROG, "user", "unknown command \"%s\" (add, passwd or list)", sub);
    if (argc - optind != (is_list ? 0 : 1))
        return otter_usage_error(PROG, "user", "%s: wrong number of arguments", sub);
    char buf[1100];
    const char *password = getenv("OTTER_PASSWORD");
    if (from_stdin) {
        if (read_password(buf, sizeof buf) < 0)
            return otter_usage_error(PROG, "user", "no password on stdin");
        password = buf;
    }
    otter_err err;
    otter_server_config *cfg = NULL;
    int ret = load_config(config, &cfg, &err);
    if (ret == 0 && is_list)
        ret = otter_server_user_list(cfg, stdout, &err);
    else if (ret == 0 && strcmp(sub, "add") == 0)
        ret = otter_server_user_add(cfg, argv[optind], is_admin, tenant, role, password, stdout,
                                    &err);
    else if (ret == 0)
        ret = otter_server_user_passwd(cfg, argv[optind], password, stdout, &err);
    otter_server_config_free(cfg);
    memset(buf, 0, sizeof buf);
    return ret < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
    opterr = 0; /* bad options are named by otter_usage_bad_option */
    if (argc < 2)
        return otter_usage_error(PROG, NULL, "expected a command: init, serve or user");
    const char *cmd = argv[1];
    if (otter_usage_is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(otter_help_otter_server, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0)
        return otter_usage_version(PROG);
    if (strcmp(cmd, "init") == 0)
        return cmd_init(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return otter_usage_error(PROG, NULL, "unknown option \"%s\"", cmd);
    return otter_usage_error(PROG, NULL, "unknown command \"%s\"", cmd);
}
