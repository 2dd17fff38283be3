/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "pkg_fixture.h"

#include <zip.h>

int fx_format;
uint32_t fx_chunk_size;

void fx_write_content(const char *path, size_t len, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    /* Words and numbers: compressible like real binaries, never all zeros. */
    uint32_t x = seed * 2654435761u + 1;
    char line[64];
    size_t done = 0;
    while (done < len) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int n =
            snprintf(line, sizeof line, "block %u value %08x\n", (unsigned)(done / 4096), x % 1000);
        size_t take = (size_t)n < len - done ? (size_t)n : len - done;
        fwrite(line, 1, take, f);
        done += take;
    }
    fclose(f);
}

otter_trust *fx_trust(otter_key *const *keys, size_t n, unsigned k)
{
    otter_err err;
    otter_trust *t = NULL;
    assert_otter_ok(otter_trust_new(k, &t, &err), err);
    for (size_t i = 0; i < n; i++) {
        char *pem = otter_key_public_pem_new(keys[i]);
        otter_key *pub = NULL;
        assert_otter_ok(otter_key_load_public_pem(pem, strlen(pem), "test", &pub, &err), err);
        free(pem);
        assert_otter_ok(otter_trust_add_key(t, pub, &err), err);
    }
    return t;
}

void fx_pack(const char *out, const char *dir, size_t rootfs_len, otter_key *const *keys,
             size_t nkeys)
{
    char rootfs[PATH_MAX], app[PATH_MAX];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs.img", dir);
    snprintf(app, sizeof app, "%s/app.bin", dir);
    fx_write_content(rootfs, rootfs_len, 1);
    fx_write_content(app, 1000, 2);
    const char *models[] = {"model-a", "model-b"};
    otter_pkg_input inputs[] = {
        {.name = "rootfs", .path = rootfs, .handler = "raw", .target = "rootfs", .compress = 1},
        {.name = "app", .path = app, .handler = "file", .target = "app", .compress = 0},
    };
    otter_pkg_write_opts opts = {
        .product = "gw",
        .compatible = models,
        .compatible_count = 2,
        .version = "1.2.3",
        .security_version = 5,
        .created = "2026-11-25T10:00:00Z",
        .level = 3,
        .threads = 1,
        .format = fx_format,
        .chunk_size = fx_chunk_size,
        .keys = (const otter_key *const *)keys,
        .key_count = nkeys,
    };
    otter_err err;
    assert_otter_ok(otter_pkg_write(out, &opts, inputs, 2, &err), err);
}

void fx_zip(const char *path, const fx_entry *entries, size_t n)
{
    int zerr = 0;
    unlink(path);
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(za);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(za, entries[i].data, entries[i].len, 0);
        assert_non_null(src);
        zip_int64_t idx = zip_file_add(za, entries[i].name, src, ZIP_FL_ENC_UTF_8);
        assert_true(idx >= 0);
        zip_set_file_compression(za, (zip_uint64_t)idx,
                                 entries[i].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    assert_int_equal(zip_close(za), 0);
}

size_t fx_unzip(const char *path, fx_entry *entries, size_t max)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
    assert_non_null(za);
    size_t n = (size_t)zip_get_num_entries(za, 0);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        zip_stat_t st;
        assert_int_equal(zip_stat_index(za, i, 0, &st), 0);
        entries[i].name = strdup(st.name);
        uint8_t *buf = malloc(st.size + 1);
        zip_file_t *zf = zip_fopen_index(za, i, 0);
        assert_non_null(zf);
        assert_int_equal(zip_fread(zf, buf, st.size), (zip_int64_t)st.size);
        zip_fclose(zf);
        buf[st.size] = 0; /* text entries are used as strings */
        entries[i].data = buf;
        entries[i].len = st.size;
        entries[i].deflate = 0;
    }
    zip_close(za);
    return n;
}

void fx_entries_free(fx_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)entries[i].name);
        free((void *)entries[i].data);
    }
}

int fx_read_all(const char *path, const otter_trust *trust, const char *model, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    int ret = otter_pkg_reader_open_file(path, OTTER_PKG_HASH_THREAD, &r, err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, err);
    if (!ret && model)
        ret = otter_manifest_check_device(m, NULL, model, err);
    while (!ret && (ret = otter_pkg_next_image(r, &img, err)) == 1) {
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(r, &data, &len, err)) == 1)
            ;
    }
    otter_pkg_reader_free(r);
    return ret;
}

uint8_t *fx_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void fx_spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

size_t fx_patch_all(const char *path, const char *from, const char *to)
{
    size_t len = 0, count = 0, n = strlen(from);
    assert_int_equal(n, strlen(to));
    uint8_t *buf = fx_slurp(path, &len);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            count++;
        }
    fx_spit(path, buf, len);
    free(buf);
    return count;
}
