/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package reader over hostile bytes. Unverified mode, so the fuzzer gets
 * past the signature to the zip, zstd and size/digest logic; with a trust
 * root it could never forge its way in.
 */
#include "otter_crypt.h"
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

/*
 * Encrypted images: a stand-in recipient key (the key id of the X25519 key
 * corpus/fuzz_pkg/encrypted.zip is encrypted for) whose unwrap hands out a
 * fixed content key, so hostile chunks reach the decryption and tag check.
 */
#define FUZZ_KEYID "331fa94ef5c3fa57343b8f9be5c7e3aef2cb516012dd5aa35cffba07fa3faec8"

static int fixed_unwrap(void *ctx, const otter_crypt_recipient *rc,
                        uint8_t key[OTTER_CRYPT_KEY_LEN], otter_err *err)
{
    (void)ctx;
    (void)rc;
    (void)err;
    memset(key, 0x42, OTTER_CRYPT_KEY_LEN);
    return 0;
}

static const otter_crypt_key_ops fixed_ops = {fixed_unwrap, NULL};

/* One read through: with a key (decrypting) or without (OTTER_PKG_CIPHERTEXT). */
static void read_all(const unsigned char *data, size_t size, const otter_crypt_key *key)
{
    mem_source src = {data, size, 0};
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    unsigned flags = OTTER_PKG_UNVERIFIED | (key ? 0 : OTTER_PKG_CIPHERTEXT);
    if (otter_pkg_reader_new(mem_read, &src, "fuzz", flags, &r, &err) != 0)
        return;
    if (key)
        otter_pkg_reader_set_decryption_key(r, key);
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
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    otter_crypt_key *key = otter_crypt_key_new(&fixed_ops, NULL, FUZZ_KEYID);
    read_all(data, size, NULL);
    if (key)
        read_all(data, size, key);
    otter_crypt_key_free(key);
    return 0;
}
