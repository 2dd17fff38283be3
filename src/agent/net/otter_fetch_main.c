/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-fetch: downloads one URL to standard output with the resumable,
 * pinned source. The agent runs it as a child for `install URL`, so the
 * network code (libcurl, TLS) lives in its own process: the installer that
 * writes slots neither links nor maps it, and a network bug cannot reach
 * the slot-writing process's memory.
 */
#include "otter_fetch.h"
#include "otter_help_otter_fetch.h"
#include "otter_usage.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "otter-fetch"

/* The whole body to standard output, as it arrives. */
static int copy_to_stdout(otter_fetch *f, otter_err *err)
{
    static char buf[64 * 1024];
    for (;;) {
        ssize_t n = otter_fetch_read(f, buf, sizeof buf, err);
        if (n <= 0)
            return (int)n;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return otter_err_sys(err, OTTER_EIO, errno, "writing standard output");
            off += w;
        }
    }
}

/* Ends option parsing with an exit status. */
static int stop_with(int *code, int status)
{
    *code = status;
    return 1;
}

/* One option into o: 0 taken, 1 stop with *code (help, version, a usage error). */
static int fetch_option(int c, char **argv, otter_fetch_opts *o, int *code)
{
    char *end = NULL;
    switch (c) {
    case 'C':
        o->ca_file = optarg;
        return 0;
    case 'P':
        o->pinned_pubkey = optarg;
        return 0;
    case 'c':
        o->client_cert = optarg;
        return 0;
    case 'k':
        o->client_key = optarg;
        return 0;
    case 'T':
        o->tpm_tcti = optarg;
        return 0;
    case 'H':
        o->auth_header = optarg;
        return 0;
    case 'r':
        o->max_retries = (unsigned)strtoul(optarg, NULL, 10);
        return 0;
    case 's':
        o->stall_timeout = strtol(optarg, NULL, 10);
        return 0;
    case 'l':
        o->max_recv_speed = strtol(optarg, NULL, 10);
        return 0;
    case 'x':
        o->proxy = optarg;
        return 0;
    case 'o':
        errno = 0;
        o->start_offset = strtoull(optarg, &end, 10);
        if (errno || end == optarg || *end || optarg[0] == '-')
            return stop_with(
                code,
                otter_usage_error(PROG, NULL, "--offset: \"%s\" is not a byte offset", optarg));
        return 0;
    case 'E':
        o->auth_header = getenv(optarg);
        if (!o->auth_header || !*o->auth_header) {
            fprintf(stderr, "otter-fetch: --header-env %s: no such environment variable\n", optarg);
            return stop_with(code, 2);
        }
        return 0;
    case 'h':
        fputs(otter_help_otter_fetch, stdout);
        return stop_with(code, 0);
    case 'v':
        return stop_with(code, otter_usage_version(PROG));
    default:
        return stop_with(code, otter_usage_bad_option(PROG, NULL, c, argv));
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'C'},
        {"pin", required_argument, NULL, 'P'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"header", required_argument, NULL, 'H'},
        {"retries", required_argument, NULL, 'r'},
        {"stall", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},
        {"proxy", required_argument, NULL, 'x'},
        {"header-env", required_argument, NULL, 'E'},
        {"offset", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {"tcti", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    otter_fetch_opts o = {.max_retries = 10};
    int c;
    opterr = 0; /* bad options are named by otter_usage_bad_option */
    int stop = 0, code = 0;
    while (!stop && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        stop = fetch_option(c, argv, &o, &code);
    if (stop)
        return code;
    if (optind == argc)
        return otter_usage_error(PROG, NULL, "expected a URL");
    if (optind + 1 != argc)
        return otter_usage_error(PROG, NULL, "unexpected argument \"%s\"", argv[optind + 1]);
    signal(SIGPIPE, SIG_IGN); /* a reader that stops is an EPIPE, not a crash */
    o.url = argv[optind];
    otter_err err;
    otter_fetch *f = NULL;
    int ret = otter_fetch_new(&o, &f, &err);
    if (!ret)
        ret = copy_to_stdout(f, &err);
    long refused = otter_fetch_refused(f);
    otter_fetch_free(f);
    if (ret) {
        fprintf(stderr, "otter-fetch: %s\n", err.msg);
        /* s10-cdn: the refusals a signed link gets, told apart (otter_source.c words them). */
        if (refused == 403 || refused == 404 || refused == 410)
            return refused == 403 ? 3 : refused == 404 ? 4 : 5;
        return ret == OTTER_ESIG ? 1 : 2;
    }
    return 0;
}
