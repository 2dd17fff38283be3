/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What DDI offers a device for one action: deploymentBase, installedBase
 * and confirmationBase/{actionId} (hawkBit's user consent) share one
 * document: the modes, the maintenance window and one chunk with the
 * release's artifact (and the device's delta, docs/ddi.md "Delta
 * artifacts"). The chunk's metadata carries what a device's UI shows
 * (docs/ddi.md "User consent"): otter.size, otter.security and the signed
 * release notes as otter.notes.<lang>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_cdn.h"
#include "otter_ddi_internal.h"
#include "otter_fmt.h"
#include "otter_window.h"

json_t *ddi_href(struct ddi_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* {"href": "<base>/<tenant>/controller/v1/<cid>/<fmt...>"} */
json_t *ddi_href(struct ddi_call *c, const char *fmt, ...)
{
    char tail[256], url[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    otter_err err;
    /* A link cut short would name another resource: none (the answer fails) instead. */
    if (otter_fmt(url, sizeof url, &err, "link", "%s/%s/controller/v1/%s%s", c->base,
                  c->tenant.name, c->dev->controller_id, tail) < 0)
        return NULL;
    return json_pack("{s:s}", "href", url);
}

struct one_release {
    otter_release r;
    int found;
    json_t *notes; /* the signed manifest's "notes" object, or NULL */
};

static int take_release(void *ctx, const otter_release *r)
{
    struct one_release *o = ctx;
    o->r = *r;
    o->r.manifest = o->r.meta = NULL;
    o->found = 1;
    /* Stored manifests were verified at upload; their notes passed the manifest parser. */
    json_t *m = r->manifest ? json_loads(r->manifest, 0, NULL) : NULL;
    json_t *notes = json_object_get(m, "notes");
    if (json_is_object(notes))
        o->notes = json_incref(notes);
    json_decref(m);
    return 0;
}

#define ARTIFACT_PATH "/softwaremodules/%lld/artifacts/%s"

/*
 * s10-cdn: the bytes' link: a signed, expiring link to the [cdn] origin
 * (otter_cdn.h) when one is set, else the server's own download route.
 */
static json_t *download_href(struct ddi_call *c, long long rid, const char *filename,
                             const char *sha256)
{
    char url[1024];
    otter_err err;
    if (!c->ddi->cdn)
        return ddi_href(c, ARTIFACT_PATH, rid, filename);
    if (otter_cdn_link(c->ddi->cdn, sha256, otter_window_now(), url, sizeof url, &err) < 0)
        return NULL;
    return json_pack("{s:s}", "href", url);
}

/* One entry of a chunk's artifacts: name, hashes, size and the links to fetch it. */
static json_t *artifact_doc(struct ddi_call *c, int64_t release_id, const char *filename,
                            const char *sha1, const char *md5, const char *sha256, int64_t size)
{
    long long rid = (long long)release_id;
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:I, s:{s:o, s:o, s:o, s:o}}", "filename", filename,
                     "hashes", "sha1", sha1, "md5", md5, "sha256", sha256, "size", (json_int_t)size,
                     "_links", "download", download_href(c, rid, filename, sha256), "download-http",
                     download_href(c, rid, filename, sha256), "md5sum",
                     ddi_href(c, ARTIFACT_PATH ".MD5SUM", rid, filename), "md5sum-http",
                     ddi_href(c, ARTIFACT_PATH ".MD5SUM", rid, filename));
}

struct delta_pick {
    const char *from_version;
    otter_delta d;
    int found;
};

static int pick_delta(void *ctx, const otter_delta *d)
{
    struct delta_pick *p = ctx;
    if (!p->found && strcmp(d->from_version, p->from_version) == 0) {
        p->d = *d;
        p->found = 1;
    }
    return 0;
}

/*
 * The delta of release_id this device gets (docs/ddi.md "Delta artifacts"):
 * only when its configData says otter.delta = "1" and its version is a
 * delta's from_version. *found = 0 for every other device, foreign DDI
 * clients included, which then see exactly the one full artifact.
 */
int ddi_delta_for(struct ddi_call *c, int64_t release_id, otter_delta *out, int *found,
                  otter_err *err)
{
    *found = 0;
    json_t *attrs = json_loads(c->dev->attributes[0] ? c->dev->attributes : "{}", 0, NULL);
    const char *cap = json_string_value(json_object_get(attrs, "otter.delta"));
    const char *version = json_string_value(json_object_get(attrs, "version"));
    int ret = 0;
    if (cap && strcmp(cap, "1") == 0 && version && *version) {
        struct delta_pick p = {.from_version = version};
        ret = otter_store_delta_list(c->ddi->store, release_id, 0, pick_delta, &p, err);
        if (ret == 0 && p.found) {
            *out = p.d;
            *found = 1;
        }
    }
    json_decref(attrs);
    return ret;
}

/* {"key": k, "value": v} appended to arr. */
static void meta_add(json_t *arr, const char *key, const char *value)
{
    json_array_append_new(arr, json_pack("{s:s, s:s}", "key", key, "value", value));
}

/*
 * 1 when release r raises the security version over the release the
 * device runs (its last successful action): a security update. 0 when it
 * does not or the device's release is not known.
 */
static int security_update(struct ddi_call *c, const otter_release *r)
{
    otter_err err;
    otter_action inst;
    struct one_release cur = {0};
    int found = 0;
    if (otter_store_action_installed(c->ddi->store, c->dev->id, &inst, &found, &err) < 0 ||
        !found ||
        otter_store_release_list(c->ddi->store, c->tenant.id, inst.release_id, take_release, &cur,
                                 &err) < 0)
        return 0;
    json_decref(cur.notes);
    return cur.found && r->security_version > cur.r.security_version;
}

/* chunks[0].metadata: otter.size, otter.security (when 1), otter.notes.<lang>. */
static json_t *metadata_doc(struct ddi_call *c, const struct one_release *o, int installed)
{
    char size[24], key[64];
    json_t *arr = json_array();
    snprintf(size, sizeof size, "%lld", (long long)o->r.size);
    meta_add(arr, "otter.size", size);
    if (!installed && security_update(c, &o->r))
        meta_add(arr, "otter.security", "1");
    const char *lang;
    json_t *text;
    json_object_foreach(o->notes, lang, text)
    {
        if (json_is_string(text) &&
            snprintf(key, sizeof key, "otter.notes.%s", lang) < (int)sizeof key)
            meta_add(arr, key, json_string_value(text));
    }
    return arr;
}

int ddi_offer_doc(struct ddi_call *c, const otter_action *a, int installed, const char *key,
                  json_t **out)
{
    otter_err err;
    struct one_release o = {0};
    otter_delta delta;
    int has_delta = 0;
    *out = NULL;
    if (otter_store_release_list(c->ddi->store, c->tenant.id, a->release_id, take_release, &o,
                                 &err) < 0)
        return ddi_fail_err(c, &err);
    if (!o.found)
        return ddi_fail(c, 404, "the release of action %lld is gone", (long long)a->id);
    if (!installed && ddi_delta_for(c, o.r.id, &delta, &has_delta, &err) < 0) {
        json_decref(o.notes);
        return ddi_fail_err(c, &err);
    }
    const otter_release *r = &o.r;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)a->id);
    json_t *arts =
        json_pack("[o]", artifact_doc(c, r->id, r->filename, r->sha1, r->md5, r->sha256, r->size));
    if (arts && has_delta)
        json_array_append_new(arts, artifact_doc(c, r->id, delta.filename, delta.sha1, delta.md5,
                                                 delta.sha256, delta.size));
    json_t *chunk =
        json_pack("{s:s, s:s, s:s, s:o, s:o}", "part", "os", "version", r->version, "name",
                  r->product, "artifacts", arts, "metadata", metadata_doc(c, &o, installed));
    json_t *dep = json_pack("{s:s, s:s, s:[o]}", "download", a->download, "update", a->update,
                            "chunks", chunk);
    if (dep && a->maintenance[0])
        json_object_set_new(dep, "maintenanceWindow", json_string(a->maintenance));
    json_decref(o.notes);
    /* Schedules and deferral limits (otter_ddi_campaign.c); none for what is installed. */
    int status =
        dep && !installed ? ddi_campaign_apply(c, a, dep, json_object_get(chunk, "metadata")) : 0;
    if (status) {
        json_decref(dep);
        return status;
    }
    *out = json_pack("{s:s, s:o}", "id", id, key, dep);
    return *out ? 0 : ddi_fail(c, 500, "out of memory");
}
