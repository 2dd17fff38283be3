/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver: verifies a package streamed over HTTP(S) with the resumable
 * source, as the agent will install one. Prints the verdict, the resumes and
 * the bytes read. Exit 0 ok, 1 refused, 2 network or usage error.
 *   fetch_verify URL ROOT.json [--ca F] [--pin P] [--retries N] [--stall S]
 */
#include "otter_fetch.h"
#include "otter_pkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: fetch_verify URL ROOT.json [--ca F] [--pin P] [--retries N] [--stall S]\n");
        return 2;
    }
    otter_fetch_opts o = {.url = argv[1], .max_retries = 5, .retry_delay_ms = 20};
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ca"))
            o.ca_file = argv[i + 1];
        else if (!strcmp(argv[i], "--pin"))
            o.pinned_pubkey = argv[i + 1];
        else if (!strcmp(argv[i], "--retries"))
            o.max_retries = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--stall"))
            o.stall_timeout = atol(argv[i + 1]);
    }
    otter_err err;
    otter_trust *trust = NULL;
    otter_fetch *http = NULL;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    uint64_t payload = 0;
    int ret = otter_trust_load_file(argv[2], &trust, &err);
    if (!ret)
        ret = otter_fetch_new(&o, &http, &err);
    if (!ret)
        ret =
            otter_pkg_reader_new(otter_fetch_read, http, argv[1], OTTER_PKG_HASH_THREAD, &r, &err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, &err);
    while (!ret && (ret = otter_pkg_next_image(r, &img, &err)) == 1) {
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(r, &data, &len, &err)) == 1)
            payload += len;
    }
    printf("%s resumes=%u offset=%llu payload=%llu\n", ret ? "FAIL" : "OK",
           http ? otter_fetch_resumes(http) : 0,
           http ? (unsigned long long)otter_fetch_offset(http) : 0ULL, (unsigned long long)payload);
    if (ret)
        fprintf(stderr, "%s\n", err.msg);
    otter_pkg_reader_free(r);
    otter_fetch_free(http);
    otter_trust_free(trust);
    return ret == 0 ? 0 : otter_err_is_refusal(ret) ? 1 : 2;
}
