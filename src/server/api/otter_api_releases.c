/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Releases: upload (streamed to a temporary file by otter_api_upload_open,
 * then verified with libotter against the server's trust root and stored
 * content-addressed), listing, download and delete. A foreign artifact (a
 * SWUpdate .swu, a RAUC bundle) is stored and hashed but not verified:
 * the device's own updater does that.
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
#include "otter_fleet.h"
#include "otter_manifest.h"
#include "otter_pkg.h"

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

/* Reads every image through, so each payload's size and SHA-256 are checked. */
static int verify_package(const char *path, const otter_trust *trust, otter_release *r,
                          json_t **meta, otter_err *err)
{
    otter_pkg_reader *rd = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img;
    otter_trust_result res;
    size_t mlen = 0;
    int ret;
    *meta = NULL;
    /* Messages name "update.zip", not the server's temporary file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "opening the upload");
    /* Encrypted images are checked as ciphertext: the server never holds a key. */
    unsigned flags = OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST | OTTER_PKG_CIPHERTEXT;
    if ((ret = otter_pkg_reader_new(read_fd, &fd, "update.zip", flags, &rd, err)) < 0 ||
        (ret = otter_pkg_read_manifest(rd, trust, &m, &res, err)) < 0)
        goto out;
    while ((ret = otter_pkg_next_image(rd, &img, err)) == 1) {
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(rd, &data, &len, err)) == 1)
            ;
        if (ret < 0)
            goto out;
    }
    if (ret < 0)
        goto out;
    json_t *compatible = json_array(), *images = json_array(), *signers = json_array();
    *meta = json_pack("{s:o, s:o, s:o}", "compatible", compatible, "images", images, "signers",
                      signers);
    if (!*meta) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->compatible_count; i++)
        json_array_append_new(compatible, json_string(m->compatible[i]));
    for (size_t i = 0; i < m->image_count; i++)
        json_array_append_new(
            images, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", m->images[i].name, "handler",
                              m->images[i].handler, "target", m->images[i].target, "size",
                              (json_int_t)m->images[i].size, "sha256", m->images[i].sha256));
    for (size_t i = 0; i < res.valid; i++)
        json_array_append_new(signers, json_string(res.signers[i]));
    /* Release notes (issue #17): from the verified, signed manifest only. */
    if (m->notes.count) {
        json_t *notes = json_object();
        for (size_t i = 0; notes && i < m->notes.count; i++)
            json_object_set_new(notes, m->notes.n[i].lang, json_string(m->notes.n[i].text));
        json_object_set_new(*meta, "notes", notes);
    }
    snprintf(r->product, sizeof r->product, "%s", m->product);
    snprintf(r->version, sizeof r->version, "%s", m->version);
    r->security_version = m->security_version;
    snprintf(r->kind, sizeof r->kind, "otter");
    snprintf(r->filename, sizeof r->filename, "%s-%s.zip", m->product, m->version);
    const char *bytes = otter_pkg_manifest_bytes(rd, &mlen);
    r->manifest = strndup(bytes, mlen);
    ret = r->manifest ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
out:
    otter_pkg_reader_free(rd);
    close(fd);
    return ret;
}

/* The query of a foreign upload: filename, version, [product]. */
static int foreign_release(struct call *c, otter_release *r)
{
    const char *filename = otter_http_query(c->req, "filename");
    const char *version = otter_http_query(c->req, "version");
    const char *product = otter_http_query(c->req, "product");
    if (!filename || !otter_file_name_valid(filename))
        return api_fail(c, 400, "query.filename",
                        "a foreign release needs filename=NAME (1..128 of A-Z a-z 0-9 . _ + -, "
                        "no '/', no '..')");
    if (!version || !otter_version_valid(version))
        return api_fail(c, 400, "query.version", "a foreign release needs version=VERSION");
    snprintf(r->filename, sizeof r->filename, "%s", filename);
    snprintf(r->version, sizeof r->version, "%s", version);
    if (product) {
        if (!otter_ident_valid(product))
            return api_fail(c, 400, "query.product", "product must be an identifier");
        snprintf(r->product, sizeof r->product, "%s", product);
    } else {
        /* The file's stem names the product: "gw-image.swu" is product "gw-image". */
        snprintf(r->product, sizeof r->product, "%.*s", (int)strcspn(filename, "."), filename);
        if (!otter_ident_valid(r->product))
            return api_fail(c, 400, "query.product", "give product=NAME for this file name");
    }
    const char *dot = strrchr(filename, '.');
    snprintf(r->kind, sizeof r->kind, "%s",
             dot && strcmp(dot, ".swu") == 0     ? "swupdate"
             : dot && strcmp(dot, ".raucb") == 0 ? "rauc"
                                                 : "other");
    return 0;
}

static json_t *release_doc(const otter_release *r)
{
    json_t *meta = json_loads(r->meta ? r->meta : "{}", 0, NULL);
    json_t *doc = json_pack("{s:I, s:s, s:s, s:I, s:s, s:o, s:{s:s, s:I, s:{s:s, s:s, s:s}}}", "id",
                            (json_int_t)r->id, "product", r->product, "version", r->version,
                            "security_version", (json_int_t)r->security_version, "type",
                            strcmp(r->kind, "otter") == 0 ? "otter" : "foreign", "created_at",
                            api_time(r->created_at), "artifact", "filename", r->filename, "size",
                            (json_int_t)r->size, "hashes", "sha256", r->sha256, "sha1", r->sha1,
                            "md5", r->md5);
    if (!doc) {
        json_decref(meta);
        return NULL;
    }
    json_object_set_new(doc, "format", json_string(r->kind));
    if (meta) {
        json_object_update(doc, meta);
        json_decref(meta);
    }
    return doc;
}

int api_releases_upload(struct call *c)
{
    otter_err err;
    otter_artifact_hashes h;
    otter_release r = {.tenant_id = c->tenant.id};
    json_t *meta = NULL;
    char *meta_text = NULL;
    int status;
    const char *type = otter_http_query(c->req, "type");
    otter_artifact_sink *sink = c->req->upload;
    if (!sink)
        return api_fail(c, 500, "body", "the upload could not be stored (see the server log)");
    if (type && strcmp(type, "otter") != 0 && strcmp(type, "foreign") != 0)
        return api_fail(c, 400, "query.type", "type is otter (default) or foreign");
    int foreign = type && strcmp(type, "foreign") == 0;
    if (foreign && (status = foreign_release(c, &r)) != 0)
        return status;
    if (otter_artifact_sink_finish(sink, &h, &err) < 0)
        return api_fail_err(c, "body", &err);
    if (h.size == 0)
        return api_fail(c, 400, "body", "empty upload: send the file as the request body");
    if (!foreign) {
        /* The tenant's own root when it has one (issue #13), else the server's. */
        otter_trust *own = NULL;
        const otter_trust *trust = NULL;
        if ((status = api_upload_trust(c, &own, &trust)) != 0)
            return status;
        int vret = verify_package(otter_artifact_sink_path(sink), trust, &r, &meta, &err);
        otter_trust_free(own);
        if (vret < 0) {
            status = err.code == OTTER_ENOMEM || err.code == OTTER_EIO
                         ? api_fail_err(c, "body", &err)
                         : api_fail(c, 422, "body", "%s", err.msg);
            goto out;
        }
        meta_text = json_dumps(meta, JSON_COMPACT);
        r.meta = meta_text;
    }
    r.size = (int64_t)h.size;
    memcpy(r.sha256, h.sha256, sizeof r.sha256);
    memcpy(r.sha1, h.sha1, sizeof r.sha1);
    memcpy(r.md5, h.md5, sizeof r.md5);
    char detail[200];
    snprintf(detail, sizeof detail, "{\"sha256\":\"%s\",\"type\":\"%s\"}", h.sha256,
             foreign ? "foreign" : "otter");
    char object[160];
    snprintf(object, sizeof object, "%s %s", r.product, r.version);
    if (api_begin(c, &err) < 0 ||
        otter_store_release_create(c->api->store, &r, c->user.id, c->now, &r.id, &err) < 0 ||
        api_audit(c, "release.create", object, detail, &err) < 0) {
        status = err.code == OTTER_ESTATE
                     ? api_fail(c, 409, "body", "release %s %s: %s", r.product, r.version, err.msg)
                     : api_fail_err(c, "body", &err);
        goto out;
    }
    /* The file lands before the commit: a failed commit leaves an unused file, never a row
       without its file. */
    if (otter_artifact_sink_commit(sink, &err) < 0 ||
        (c->api->cfg->storage_database && /* s10-cdn: for servers without this file */
         otter_blob_put(c->api->store, c->api->cfg->artifacts_dir, h.sha256, c->now, &err) < 0)) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    r.created_at = c->now;
    status = api_reply(c, 201, release_doc(&r));
    if (c->out) {
        otter_approval pending = {0};
        snprintf(pending.state, sizeof pending.state, "%s",
                 otter_approval_state_word(OTTER_APPROVAL_PENDING));
        json_object_set_new(c->out, "approval", api_approval_doc(&pending));
    }
out:
    json_decref(meta);
    free(meta_text);
    free((char *)r.manifest);
    return status;
}

struct release_walk {
    struct call *c;
    json_t *arr;
    otter_err *err;
};

/* A release document with its approval in the caller's tenant. */
static int add_release(void *ctx, const otter_release *r)
{
    struct release_walk *w = ctx;
    otter_approval a;
    json_t *doc = release_doc(r);
    int ret = doc ? api_approval_get(w->c, r->id, &a, w->err) : OTTER_ENOMEM;
    if (ret == 0)
        ret = json_object_set_new(doc, "approval", api_approval_doc(&a)) == 0 ? 0 : OTTER_ENOMEM;
    json_t *deltas = NULL;
    if (ret == 0)
        ret = api_deltas_of(w->c, r->id, &deltas, w->err);
    if (ret == 0)
        ret = json_object_set_new(doc, "deltas", deltas) == 0 ? 0 : OTTER_ENOMEM;
    if (ret == 0)
        return json_array_append_new(w->arr, doc) == 0 ? 0 : OTTER_ENOMEM;
    json_decref(doc);
    return ret;
}

int api_releases_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    struct release_walk w = {c, arr, &err};
    if (!arr ||
        otter_store_release_list(c->api->store, c->tenant.id, 0, add_release, &w, &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "releases", &err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "releases", arr));
}

int api_releases_get(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    struct release_walk w = {c, arr, &err};
    int64_t id = api_id_param(c->param[0]);
    if (!arr || (id && otter_store_release_list(c->api->store, c->tenant.id, id, add_release, &w,
                                                &err) < 0)) {
        json_decref(arr);
        return api_fail_err(c, "path", &err);
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return api_fail(c, 404, "path", "no release '%.20s'", c->param[0]);
    }
    json_t *doc = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return api_reply(c, 200, doc);
}

int api_releases_download(struct call *c)
{
    otter_release r;
    char what[64];
    int status = api_load_release(c, api_id_param(c->param[0]), &r);
    if (status)
        return status;
    snprintf(what, sizeof what, "release %lld", (long long)r.id);
    return api_send_artifact(c, r.sha256, r.filename, what);
}

int api_releases_delete(struct call *c)
{
    otter_err err;
    otter_release r;
    int found = 0, unused = 0;
    int status = api_load_release(c, api_id_param(c->param[0]), &r);
    if (status)
        return status;
    char object[160];
    snprintf(object, sizeof object, "%s %s", r.product, r.version);
    if (api_begin(c, &err) < 0 ||
        otter_store_release_delete(c->api->store, r.id, &found, &unused, &err) < 0 ||
        api_audit(c, "release.delete", object, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    /*
     * The file goes before the commit: a failed commit would then leave a
     * release whose download answers 500 until it is uploaded again; the
     * other order could leak a file nobody refers to. The store lock is
     * held until commit, so no deployment can pick this release meanwhile.
     */
    if (unused && otter_artifact_remove(c->api->cfg->artifacts_dir, r.sha256, &err) < 0)
        fprintf(stderr, "otter-server: %s\n", err.msg);
    if (unused && c->api->cfg->storage_database && /* s10-cdn */
        otter_store_blob_delete(c->api->store, r.sha256, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}
