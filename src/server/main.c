/* SPDX-License-Identifier: Apache-2.0 */
/* otter-server: command line only; the work is in otter_server_lib. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_server.h"
#include "otter_server_config.h"

#define DEFAULT_CONFIG "/etc/otter/server.conf"

static const char usage_main[] =
    "Usage: otter-server [--help] [--version] COMMAND [OPTIONS]\n"
    "\n"
    "The Otter update server: management API (users, tenants, roles, audit)\n"
    "today; device API, releases and rollouts as they land.\n"
    "\n"
    "Commands:\n"
    "  init      create or migrate the database and create the first admin\n"
    "  serve     serve the HTTP/HTTPS API until SIGINT or SIGTERM\n"
    "  user      offline user administration (add, passwd, list)\n"
    "\n"
    "Every command takes --config FILE (default " DEFAULT_CONFIG ")\n"
    "and --help. The configuration is described in docs/server.md.\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char usage_init[] =
    "Usage: otter-server init [--config FILE] [--admin NAME]\n"
    "\n"
    "Creates the database named by [database] url, or migrates it to the\n"
    "schema this server needs, and creates [storage] artifacts. When the\n"
    "database has no global admin yet, creates one named NAME (default\n"
    "\"admin\"). Its password is taken from the environment variable\n"
    "OTTER_ADMIN_PASSWORD, or generated and printed once on stdout.\n"
    "Running init again is safe: it changes nothing that is current.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   server configuration (default " DEFAULT_CONFIG ")\n"
    "  -a, --admin NAME    name of the first global admin (default admin)\n"
    "  -h, --help          show this text\n";

static const char usage_serve[] =
    "Usage: otter-server serve [--config FILE] [--ready-file FILE]\n"
    "\n"
    "Serves the API on every [http] listen (HTTP) and listen_tls (HTTPS)\n"
    "address until SIGINT or SIGTERM. The database must have been created\n"
    "by `otter-server init` with this version.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE       server configuration (default " DEFAULT_CONFIG ")\n"
    "  -r, --ready-file FILE   once listening, write the base URLs there, one per\n"
    "                          line (with port 0 this tells which port was chosen)\n"
    "  -h, --help              show this text\n";

static const char usage_user[] =
    "Usage: otter-server user add [--config FILE] [--admin] [--tenant T --role R]\n"
    "                             [--password-stdin] NAME\n"
    "       otter-server user passwd [--config FILE] [--password-stdin] NAME\n"
    "       otter-server user list [--config FILE]\n"
    "\n"
    "Offline user administration on the database (the server may be running).\n"
    "  add      creates user NAME; --admin makes a global admin; --tenant and\n"
    "           --role (admin, publisher, approver, operator, viewer) add a role\n"
    "  passwd   sets the password of NAME and revokes all their tokens\n"
    "  list     prints every user with their roles\n"
    "\n"
    "The password is read from stdin (one line) with --password-stdin, else\n"
    "taken from OTTER_PASSWORD, else generated and printed once.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE    server configuration (default " DEFAULT_CONFIG ")\n"
    "  -A, --admin          (add) make the user a global admin\n"
    "  -t, --tenant NAME    (add) tenant to add the user to\n"
    "  -R, --role ROLE      (add) role in that tenant\n"
    "  -p, --password-stdin read the password from stdin\n"
    "  -h, --help           show this text\n";

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "otter-server: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage);
    return 2;
}

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
    while ((c = getopt_long(argc, argv, "c:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'a':
            admin = optarg;
            break;
        case 'h':
            fputs(usage_init, stdout);
            return 0;
        default:
            return usage_error(usage_init, "bad option");
        }
    }
    if (optind != argc)
        return usage_error(usage_init, "unexpected argument '%s'", argv[optind]);
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
    while ((c = getopt_long(argc, argv, "c:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'h':
            fputs(usage_serve, stdout);
            return 0;
        default:
            return usage_error(usage_serve, "bad option");
        }
    }
    if (optind != argc)
        return usage_error(usage_serve, "unexpected argument '%s'", argv[optind]);
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
            return usage_error(usage_user, "user: missing sub-command");
        fputs(usage_user, stdout);
        return 0;
    }
    const char *sub = argv[1];
    const char *config = NULL, *tenant = NULL, *role = NULL;
    int is_admin = 0, from_stdin = 0, c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "c:At:R:ph", opts, NULL)) != -1) {
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
            fputs(usage_user, stdout);
            return 0;
        default:
            return usage_error(usage_user, "bad option");
        }
    }
    int is_list = strcmp(sub, "list") == 0;
    if (!is_list && strcmp(sub, "add") != 0 && strcmp(sub, "passwd") != 0)
        return usage_error(usage_user, "user: unknown sub-command '%s'", sub);
    if (argc - optind != (is_list ? 0 : 1))
        return usage_error(usage_user, "user %s: wrong number of arguments", sub);
    char buf[1100];
    const char *password = getenv("OTTER_PASSWORD");
    if (from_stdin) {
        if (read_password(buf, sizeof buf) < 0)
            return usage_error(usage_user, "no password on stdin");
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
    if (argc < 2)
        return usage_error(usage_main, "missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("otter-server %s\n", OTTER_VERSION);
        return 0;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown command '%s'", cmd);
}
