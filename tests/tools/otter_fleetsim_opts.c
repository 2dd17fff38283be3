/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_fleetsim_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char fsim_usage[] =
    "usage: otter_fleetsim --url http://127.0.0.1:PORT --tenant T --tokens FILE [options]\n"
    "Simulates DDI devices polling one otter-server on loopback.\n"
    "  --url URL          the server: http://127.0.0.1:PORT or http://[::1]:PORT only\n"
    "  --tenant NAME      the devices' tenant\n"
    "  --tokens FILE      lines \"controller_id token\" (TargetTokens from provisioning)\n"
    "  --devices N        simulate the first N devices of FILE (default: all; 1..1000000)\n"
    "  --interval S       seconds between one device's polls (default 10; 0.001..86400)\n"
    "  --duration S       seconds to run (default 10; 0.1..3600)\n"
    "  --connections N    keep-alive connections shared by the fleet (default 64; 1..4096)\n"
    "  --timeout S        a request unanswered after S seconds is an error (default 10)\n"
    "  --server-pid PID   also report that process's CPU use and RSS\n"
    "  --seed N           seed for the spread of first polls (default 1)\n"
    "  --until-configured stop once every device has sent configData (--duration: at most)\n"
    "  --no-config        never send configData (a fleet onboarded before the run)\n"
    "  --mqtt HOST:PORT   push: each device also subscribes to its topic on this broker\n"
    "                     (127.0.0.1:PORT or [::1]:PORT, plain MQTT) and polls at once on a\n"
    "                     wake-up and on every (re)subscription, as otter-agentd's [push]\n"
    "  --mqtt-prefix P    the topics' prefix (default otter: P/TENANT/dev/CONTROLLER_ID)\n"
    "  --events FILE      log \"SECONDS DEVICE EVENT [ARG]\" lines (wall clock): sub, wake, lost,\n"
    "                     offer ACTION (a poll offered an action new to the device)\n"
    "SIGTERM or SIGINT ends the run early, with the report.\n"
    "  --help             this text\n"
    "Exit status: 0 every request answered 2xx/3xx, 1 some failed, 2 usage or setup error.\n";

/* A number from arg within [min, max], else a usage error naming opt. */
static int number(const char *opt, const char *arg, double min, double max, double *out,
                  otter_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    /* Return the code itself (not otter_err_set's result): callers read *out only on 0, and
       the compiler must see that a refusal never returns 0 (gcc 12 -O3, the Release build,
       warned that whole() read v uninitialized). */
    if (!*arg || *end || errno || v != v || v < min || v > max) {
        otter_err_set(err, OTTER_EUSAGE, "%s: '%s' is not a number in %g..%g", opt, arg, min, max);
        return OTTER_EUSAGE;
    }
    *out = v;
    return 0;
}

static int whole(const char *opt, const char *arg, long min, long max, long *out, otter_err *err)
{
    double v;
    int ret = number(opt, arg, (double)min, (double)max, &v, err);
    if (ret == 0 && v != (double)(long)v)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: '%s' is not a whole number", opt, arg);
    if (ret == 0)
        *out = (long)v;
    return ret;
}

int fsim_opts_parse(int argc, char **argv, struct opts *o, otter_err *err)
{
    static const struct option longs[] = {{"url", required_argument, NULL, 'u'},
                                          {"tenant", required_argument, NULL, 't'},
                                          {"tokens", required_argument, NULL, 'k'},
                                          {"devices", required_argument, NULL, 'n'},
                                          {"interval", required_argument, NULL, 'i'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"connections", required_argument, NULL, 'c'},
                                          {"timeout", required_argument, NULL, 'T'},
                                          {"server-pid", required_argument, NULL, 'p'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"until-configured", no_argument, NULL, 'C'},
                                          {"no-config", no_argument, NULL, 'N'},
                                          {"mqtt", required_argument, NULL, 'm'},
                                          {"mqtt-prefix", required_argument, NULL, 'P'},
                                          {"events", required_argument, NULL, 'e'},
                                          {NULL, 0, NULL, 0}};
    long seed = 1;
    int ret = 0, ch;
    *o = (struct opts){
        .interval = 10, .duration = 10, .timeout = 10, .connections = 64, .prefix = "otter"};
    opterr = 0;
    while (ret == 0 && (ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u':
            o->url = optarg;
            break;
        case 't':
            o->tenant = optarg;
            break;
        case 'k':
            o->tokens = optarg;
            break;
        case 'n':
            ret = whole("--devices", optarg, 1, 1000000, &o->devices, err);
            break;
        case 'i':
            ret = number("--interval", optarg, 0.001, 86400, &o->interval, err);
            break;
        case 'd':
            ret = number("--duration", optarg, 0.1, 3600, &o->duration, err);
            break;
        case 'c':
            ret = whole("--connections", optarg, 1, 4096, &o->connections, err);
            break;
        case 'T':
            ret = number("--timeout", optarg, 0.1, 600, &o->timeout, err);
            break;
        case 'p':
            ret = whole("--server-pid", optarg, 1, 4194304, &o->server_pid, err);
            break;
        case 's':
            ret = whole("--seed", optarg, 0, 2147483647, &seed, err);
            break;
        case 'C':
            o->until_configured = 1;
            break;
        case 'N':
            o->no_config = 1;
            break;
        case 'm':
            o->mqtt = optarg;
            break;
        case 'P':
            o->prefix = optarg;
            break;
        case 'e':
            o->events = optarg;
            break;
        case 'h':
            fputs(fsim_usage, stdout);
            exit(0);
        default:
            ret = otter_err_set(err, OTTER_EUSAGE, "unknown option or missing value: %s",
                                argv[optind - 1]);
        }
    }
    if (ret == 0 && optind < argc)
        ret = otter_err_set(err, OTTER_EUSAGE, "unexpected argument '%s'", argv[optind]);
    if (ret == 0 && (!o->url || !o->tenant || !o->tokens))
        ret = otter_err_set(err, OTTER_EUSAGE, "--url, --tenant and --tokens are required");
    if (ret == 0 && strspn(o->tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789._@-") != strlen(o->tenant))
        ret = otter_err_set(err, OTTER_EUSAGE, "--tenant: not a tenant name");
    o->seed = (unsigned long)seed;
    return ret;
}
