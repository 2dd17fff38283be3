/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package reader over hostile bytes. Unverified mode, so the fuzzer gets
 * past the signature to the zip, zstd and size/digest logic; with a trust
 * root it could never forge its way in.
 */
#include "otter_pkg.h"

#include <string.h>
#include <sys/types.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

typedef struct mem_source {
    const unsigned char *data;
    size_t size, pos;
} mem_source;

static ssize_t mem_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    mem_source *s = ctx;
    size_t n = s->size - s->pos < len ? s->size - s->pos : len;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    mem_source src = {data, size, 0};
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    if (otter_pkg_reader_new(mem_read, &src, "fuzz", OTTER_PKG_UNVERIFIED, &r, &err) != 0)
        return 0;
    if (otter_pkg_read_manifest(r, NULL, &m, NULL, &err) == 0) {
        int rc;
        while ((rc = otter_pkg_next_image(r, &img, &err)) == 1) {
            const void *chunk;
            size_t len;
            while (otter_pkg_read_chunk(r, &chunk, &len, &err) == 1)
                ;
        }
    }
    otter_pkg_reader_free(r);
    return 0;
}
