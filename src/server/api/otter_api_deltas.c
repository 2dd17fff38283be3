/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta packages of a release (issue #12; docs/server.md "Deltas"):
 * upload (streamed to a temporary file by otter_api_upload_open, like a
 * release), listing, download and delete. The server never makes a delta;
 * it checks one fully before storing it: the source of each delta image
 * (the image of the release named by delta_from, which the server holds)
 * is unpacked from that release's stored package into an unlinked
 * temporary file, and the delta is then read through libotter like a full
 * upload (signatures against the [trust] root, every chunk and every
 * image's SHA-256 with OTTER_PKG_FULL_DIGEST). What it installs must be
 * this release's images, byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_api_internal.h"
#include "otter_artifact.h"
#include "otter_blob.h"
#include "otter_manifest.h"
#include "otter_pkg.h"
#include "otter_fmt.h"

/* ---- finding releases with their image list ---- */

/* A release of the tenant by id, or by product and version; meta parsed into images. */
struct rel_find {
    int64_t id;
    const char *product, *version;
    otter_release r;
    json_t *images; /* owned: meta.images */
    int found;
};

static int find_release(void *ctx, const otter_release *r)
{
    struct rel_find *f = ctx;
    if (f->found || (f->id && r->id != f->id) ||
        (f->version &&
         (strcmp(r->product, f->product) != 0 || strcmp(r->version, f->version) != 0)))
        return 0;
    f->r = *r;
    f->r.manifest = f->r.meta = NULL;
    json_t *meta = json_loads(r->meta ? r->meta : "{}", 0, NULL);
    f->images = json_incref(json_object_get(meta, "images"));
    json_decref(meta);
    f->found = 1;
    return 0;
}

/* The image named `key` = value in a release's meta.images, or NULL. */
static json_t *meta_image(json_t *images, const char *key, const char *value)
{
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        const char *v = json_string_value(json_object_get(img, key));
        if (v && strcmp(v, value) == 0)
            return img;
    }
    return NULL;
}

static int meta_image_is(json_t *img, const char *sha256, uint64_t size)
{
    const char *sha = json_string_value(json_object_get(img, "sha256"));
    json_t *sz = json_object_get(img, "size");
    return sha && strcmp(sha, sha256) == 0 && json_is_integer(sz) &&
           (uint64_t)json_integer_value(sz) == size;
}

/* ---- the check of an uploaded delta ---- */

struct dcheck {
    struct call *c;
    const otter_release *rel; /* the release the delta is for */
    json_t *rel_images;       /* its meta.images */
    struct rel_find from;     /* the release named by delta_from */
    int src_fd[OTTER_IMAGES_MAX];
    char src_image[OTTER_IMAGES_MAX][OTTER_IDENT_MAX + 1];
    size_t n_src;
    otter_trust *own;         /* the tenant's root (issue #13), or NULL */
    const otter_trust *trust; /* own, else the server's [trust] root */
};

static ssize_t read_fd(void *ctx, void *buf, size_t len, otter_err *err)
{
    ssize_t n;
    do
        n = read(*(int *)ctx, buf, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "reading the upload");
    return n;
}

/* What the manifest alone tells: product, version, base release, each image against both. */
static int check_manifest(struct dcheck *k, const otter_manifest *m, otter_err *err)
{
    const otter_release *rel = k->rel;
    size_t deltas = 0;
    if (strcmp(m->product, rel->product) != 0 || strcmp(m->version, rel->version) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "delta is for %s %s, not for this release (%s %s)",
                             m->product, m->version, rel->product, rel->version);
    if (m->security_version != rel->security_version)
        return otter_err_set(err, OTTER_EFORMAT,
                             "delta has security_version %lld, the release %lld",
                             (long long)m->security_version, (long long)rel->security_version);
    for (size_t i = 0; i < m->image_count; i++)
        deltas += otter_manifest_image_is_delta(&m->images[i]);
    if (!deltas || !m->delta_from[0])
        return otter_err_set(err, OTTER_EFORMAT,
                             "not a delta package: no image is a delta (upload it as a release)");
    if (!k->from.found)
        return otter_err_set(err, OTTER_EFORMAT, "delta_from %s: this tenant has no release %s %s",
                             m->delta_from, m->product, m->delta_from);
    if (k->from.r.id == rel->id || strcmp(k->from.r.kind, "otter") != 0)
        return otter_err_set(err, OTTER_EFORMAT, "delta_from %s is not an earlier Otter release",
                             m->delta_from);
    if (m->image_count != json_array_size(k->rel_images))
        return otter_err_set(err, OTTER_EFORMAT, "delta has %zu images, the release %zu",
                             m->image_count, json_array_size(k->rel_images));
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        if (!meta_image_is(meta_image(k->rel_images, "name", img->name), img->sha256, img->size))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "image %s: does not install this release's image %s", img->name,
                                 img->name);
        if (!otter_manifest_image_is_delta(img))
            continue;
        json_t *base = meta_image(k->from.images, "target", img->target);
        if (!meta_image_is(base, img->delta_base_sha256, img->delta_base_size))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "image %s: its base (sha256 %.16s..., %llu bytes) is not the "
                                 "image of target %s in release %s",
                                 img->name, img->delta_base_sha256,
                                 (unsigned long long)img->delta_base_size, img->target,
                                 m->delta_from);
        snprintf(k->src_image[k->n_src], sizeof k->src_image[0], "%s", img->name);
        k->src_fd[k->n_src++] = -1;
    }
    return 0;
}

/* An unlinked temporary file in the artifacts directory (sources can be large). */
static int temp_file(struct dcheck *k, otter_err *err)
{
    char path[4200];
    if (otter_fmt(path, sizeof path, err, "temporary file in the artifacts directory",
                  "%s/.delta-source-XXXXXX", k->c->api->cfg->artifacts_dir) < 0)
        return err->code;
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "creating a temporary file");
    unlink(path);
    return fd;
}

static int write_all(int fd, const void *data, size_t len, otter_err *err)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "writing a delta source");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The source fd of the delta image whose base is base release image `target`, or -1. */
static int *source_slot(struct dcheck *k, const otter_manifest *dm, const char *target)
{
    for (size_t i = 0; i < k->n_src; i++)
        for (size_t j = 0; j < dm->image_count; j++)
            if (strcmp(dm->images[j].name, k->src_image[i]) == 0 &&
                strcmp(dm->images[j].target, target) == 0)
                return &k->src_fd[i];
    return NULL;
}

/*
 * Unpacks the base images the delta needs from the base release's stored
 * package (checked on its upload; its chunk digests are checked again as
 * it is read, and each source against delta_base_sha256 by the reader).
 */
static int unpack_sources(struct dcheck *k, const otter_manifest *dm, otter_err *err)
{
    char path[4200];
    otter_pkg_reader *rd = NULL;
    const otter_manifest *m;
    const otter_manifest_image *img;
    int ret = 0;
    if (k->c->api->cfg->storage_database) /* s10-cdn: the base may be in the database only */
        ret = otter_blob_local(k->c->api->store, k->c->api->cfg->artifacts_dir, k->from.r.sha256,
                               err);
    if (ret == 0)
        ret = otter_artifact_path(k->c->api->cfg->artifacts_dir, k->from.r.sha256, path,
                                  sizeof path, err);
    if (ret == 0)
        ret = otter_pkg_reader_open_file(path, OTTER_PKG_UNVERIFIED | OTTER_PKG_HASH_THREAD, &rd,
                                         err);
    if (ret == 0)
        ret = otter_pkg_read_manifest(rd, NULL, &m, NULL, err);
    while (ret == 0 && (ret = otter_pkg_next_image(rd, &img, err)) == 1) {
        int *slot = source_slot(k, dm, img->target);
        const void *data;
        size_t len;
        ret = 0;
        if (slot && *slot < 0 && (*slot = temp_file(k, err)) < 0)
            ret = *slot;
        while (ret == 0 && (ret = otter_pkg_read_chunk(rd, &data, &len, err)) == 1)
            ret = slot ? write_all(*slot, data, len, err) : 0;
    }
    otter_pkg_reader_free(rd);
    if (ret < 0)
        return otter_err_prefix(err, "the package of release %s", k->from.r.version);
    return 0;
}

/* Reads the whole delta against its sources, every image's SHA-256 included. */
static int read_through(struct dcheck *k, otter_pkg_reader *rd, otter_err *err)
{
    const otter_manifest_image *img;
    int ret = 0;
    for (size_t i = 0; i < k->n_src && ret == 0; i++)
        ret = otter_pkg_reader_set_source(rd, k->src_image[i], k->src_fd[i], err);
    while (ret == 0 && (ret = otter_pkg_next_image(rd, &img, err)) == 1) {
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(rd, &data, &len, err)) == 1)
            ;
    }
    return ret < 0 ? ret : 0;
}

/* The whole check; on success d gets from_release_id, from_version and filename. */
static int verify_delta(struct dcheck *k, const char *path, otter_delta *d, otter_err *err)
{
    otter_pkg_reader *rd = NULL;
    const otter_manifest *m = NULL;
    otter_trust_result res;
    int ret;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "opening the upload");
    unsigned flags = OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST;
    if ((ret = otter_pkg_reader_new(read_fd, &fd, "delta.zip", flags, &rd, err)) < 0 ||
        (ret = otter_pkg_read_manifest(rd, k->trust, &m, &res, err)) < 0)
        goto out;
    k->from.product = m->product;
    k->from.version = m->delta_from;
    if (m->delta_from[0] && (ret = otter_store_release_list(k->c->api->store, k->c->tenant.id, 0,
                                                            find_release, &k->from, err)) < 0)
        goto out;
    if ((ret = check_manifest(k, m, err)) < 0 || (ret = unpack_sources(k, m, err)) < 0 ||
        (ret = read_through(k, rd, err)) < 0)
        goto out;
    d->from_release_id = k->from.r.id;
    snprintf(d->from_version, sizeof d->from_version, "%s", m->delta_from);
    snprintf(d->filename, sizeof d->filename, "%s-%s.from-%s.delta.zip", m->product, m->version,
             m->delta_from);
out:
    otter_pkg_reader_free(rd);
    close(fd);
    return ret;
}

/* ---- documents ---- */

static json_t *delta_doc(const otter_delta *d)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:{s:s, s:s, s:s}, s:o}", "id", (json_int_t)d->id,
                     "from_release", (json_int_t)d->from_release_id, "from_version",
                     d->from_version, "filename", d->filename, "size", (json_int_t)d->size,
                     "hashes", "sha256", d->sha256, "sha1", d->sha1, "md5", d->md5, "created_at",
                     api_time(d->created_at));
}

static int add_delta(void *ctx, const otter_delta *d)
{
    json_t *doc = delta_doc(d);
    return doc && json_array_append_new(ctx, doc) == 0 ? 0 : OTTER_ENOMEM;
}

int api_deltas_of(struct call *c, int64_t release_id, json_t **arr, otter_err *err)
{
    *arr = json_array();
    if (!*arr)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_store_delta_list(c->api->store, release_id, 0, add_delta, *arr, err);
    if (ret < 0) {
        json_decref(*arr);
        *arr = NULL;
    }
    return ret;
}

/* ---- handlers ---- */

int api_deltas_upload(struct call *c)
{
    otter_err err;
    otter_artifact_hashes h;
    struct dcheck k = {.c = c};
    otter_delta d = {0};
    struct rel_find rf = {.id = api_id_param(c->param[0])};
    int status;
    otter_artifact_sink *sink = c->req->upload;
    if (!sink)
        return api_fail(c, 500, "body", "the upload could not be stored (see the server log)");
    if (rf.id &&
        otter_store_release_list(c->api->store, c->tenant.id, rf.id, find_release, &rf, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    if (!rf.found) {
        status = api_fail(c, 404, "path", "no release '%.20s'", c->param[0]);
        goto out;
    }
    if (strcmp(rf.r.kind, "otter") != 0) {
        status = api_fail(c, 422, "path", "release %lld is a foreign artifact: no deltas",
                          (long long)rf.r.id);
        goto out;
    }
    if (otter_artifact_sink_finish(sink, &h, &err) < 0) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    if (h.size == 0) {
        status = api_fail(c, 400, "body", "empty upload: send the delta as the request body");
        goto out;
    }
    if ((status = api_upload_trust(c, &k.own, &k.trust)) != 0)
        goto out;
    k.rel = &rf.r;
    k.rel_images = rf.images;
    if (verify_delta(&k, otter_artifact_sink_path(sink), &d, &err) < 0) {
        status = err.code == OTTER_ENOMEM || err.code == OTTER_EIO
                     ? api_fail_err(c, "body", &err)
                     : api_fail(c, 422, "body", "%s", err.msg);
        goto out;
    }
    d.release_id = rf.r.id;
    d.size = (int64_t)h.size;
    memcpy(d.sha256, h.sha256, sizeof d.sha256);
    memcpy(d.sha1, h.sha1, sizeof d.sha1);
    memcpy(d.md5, h.md5, sizeof d.md5);
    char detail[300], object[200];
    snprintf(detail, sizeof detail, "{\"sha256\":\"%s\",\"from_version\":\"%s\"}", h.sha256,
             d.from_version);
    snprintf(object, sizeof object, "%s %s from %s", rf.r.product, rf.r.version, d.from_version);
    if (api_begin(c, &err) < 0 ||
        otter_store_delta_create(c->api->store, &d, c->user.id, c->now, &d.id, &err) < 0 ||
        api_audit(c, "delta.create", object, detail, &err) < 0) {
        status = err.code == OTTER_ESTATE
                     ? api_fail(c, 409, "body", "release %s %s already has a delta from %s",
                                rf.r.product, rf.r.version, d.from_version)
                     : api_fail_err(c, "body", &err);
        goto out;
    }
    /* As for releases: the file lands before the commit, never a row without its file. */
    if (otter_artifact_sink_commit(sink, &err) < 0 ||
        (c->api->cfg->storage_database && /* s10-cdn: for servers without this file */
         otter_blob_put(c->api->store, c->api->cfg->artifacts_dir, h.sha256, c->now, &err) < 0)) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    d.created_at = c->now;
    status = api_reply(c, 201, delta_doc(&d));
out:
    for (size_t i = 0; i < k.n_src; i++)
        if (k.src_fd[i] >= 0)
            close(k.src_fd[i]);
    json_decref(k.from.images);
    json_decref(rf.images);
    otter_trust_free(k.own);
    return status;
}

int api_deltas_list(struct call *c)
{
    otter_err err;
    otter_release r;
    json_t *arr;
    int status = api_load_release(c, api_id_param(c->param[0]), &r);
    if (status)
        return status;
    if (api_deltas_of(c, r.id, &arr, &err) < 0)
        return api_fail_err(c, "deltas", &err);
    return api_reply(c, 200, json_pack("{s:o}", "deltas", arr));
}

static int take_delta(void *ctx, const otter_delta *d)
{
    *(otter_delta *)ctx = *d;
    return 0;
}

/* Delta {param[1]} of release {param[0]} of the tenant, or the 404 answered. */
static int get_delta(struct call *c, otter_release *r, otter_delta *d)
{
    otter_err err;
    int64_t id = api_id_param(c->param[1]);
    int status = api_load_release(c, api_id_param(c->param[0]), r);
    if (status)
        return status;
    d->id = 0;
    if (id && otter_store_delta_list(c->api->store, r->id, id, take_delta, d, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!d->id)
        return api_fail(c, 404, "path", "release %lld has no delta '%.20s'", (long long)r->id,
                        c->param[1]);
    return 0;
}

int api_deltas_download(struct call *c)
{
    otter_release r;
    otter_delta d;
    char what[64];
    int status = get_delta(c, &r, &d);
    if (status)
        return status;
    snprintf(what, sizeof what, "delta %lld", (long long)d.id);
    return api_send_artifact(c, d.sha256, d.filename, what);
}

int api_deltas_delete(struct call *c)
{
    otter_err err;
    otter_release r;
    otter_delta d;
    int found = 0, unused = 0;
    int status = get_delta(c, &r, &d);
    if (status)
        return status;
    char object[200];
    snprintf(object, sizeof object, "%s %s from %s", r.product, r.version, d.from_version);
    if (api_begin(c, &err) < 0 ||
        otter_store_delta_delete(c->api->store, r.id, d.id, &found, &unused, &err) < 0 ||
        api_audit(c, "delta.delete", object, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    /* Before the commit, as for releases (api_releases_delete says why). */
    if (unused && otter_artifact_remove(c->api->cfg->artifacts_dir, d.sha256, &err) < 0)
        fprintf(stderr, "otter-server: %s\n", err.msg);
    if (unused && c->api->cfg->storage_database && /* s10-cdn */
        otter_store_blob_delete(c->api->store, d.sha256, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}
