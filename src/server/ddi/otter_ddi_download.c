/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact download for DDI clients:
 * /{tenant}/controller/v1/{cid}/softwaremodules/{releaseId}/artifacts/{filename}.
 * The file name is compared with the stored one and never used as a path
 * (files live under their SHA-256), so traversal has nothing to reach. A
 * device may fetch only releases it has an action for. One byte range per
 * request (206); a request with several ranges gets the whole file (200),
 * which RFC 9110 allows; an unsatisfiable range gets 416. If-Range with a
 * stale ETag also gets the whole file. Bodies go out with sendfile.
 * The device must have started an action of that release (fetched its
 * deploymentBase): an action not offered yet, or withdrawn or canceled
 * before it started, gives no bytes.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_artifact.h"
#include "otter_blob.h"
#include "otter_ddi_internal.h"
#include "otter_fleet.h"

struct dl_release {
    otter_release r;
    int found;
};

static int take(void *ctx, const otter_release *r)
{
    struct dl_release *o = ctx;
    o->r = *r;
    o->r.manifest = o->r.meta = NULL;
    o->found = 1;
    return 0;
}

struct uses {
    int64_t release_id;
    int found;            /* the device has a started action of the release */
    int64_t rollout_id;   /* the newest started one's rollout (0: direct), for the byte count */
    otter_action waiting; /* else its newest scheduled or canceled one (id 0: none) */
};

static int uses_release(void *ctx, const otter_action *a)
{
    struct uses *u = ctx;
    if (a->release_id != u->release_id)
        return 0;
    if (otter_action_is_started(otter_action_state_of(a))) {
        if (!u->found)
            u->rollout_id = a->rollout_id; /* newest first */
        u->found = 1;
    } else if (!u->waiting.id)
        u->waiting = *a; /* newest first */
    return 0;
}

/*
 * Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against size. Returns 1 with
 * [*first, *last] set, 0 when the header is to be ignored (not bytes, or
 * several ranges), -1 when unsatisfiable or malformed.
 */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (strncmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0;
    char *end;
    if (*h == '-') {
        if (h[1] < '0' || h[1] > '9')
            return -1;
        uint64_t n = strtoull(h + 1, &end, 10);
        if (*end || n == 0 || size == 0)
            return -1;
        *first = n >= size ? 0 : size - n;
        *last = size - 1;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return -1;
    uint64_t a = strtoull(h, &end, 10);
    if (*end != '-')
        return -1;
    uint64_t b = size ? size - 1 : 0;
    if (end[1]) {
        if (end[1] < '0' || end[1] > '9')
            return -1;
        char *e2;
        b = strtoull(end + 1, &e2, 10);
        if (*e2 || b < a)
            return -1;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *first = a;
    *last = b;
    return 1;
}

/* The file a download names: its name, digests, and whether the .MD5SUM was asked for. */
struct served {
    char filename[OTTER_STORE_FILENAME_MAX + 1];
    char sha256[65];
    char md5[33];
    int md5sum;
    const char *asked; /* the path's file name */
    int delta;         /* a delta, not the full package */
    int64_t rollout_id;
    int64_t full_size; /* of the release's full package */
};

/* Fills f when name (or name.MD5SUM) is what was asked for. */
static void match_file(struct served *f, const char *name, const char *sha256, const char *md5)
{
    size_t n = strlen(name);
    int plain = strcmp(f->asked, name) == 0;
    int sum = strncmp(f->asked, name, n) == 0 && strcmp(f->asked + n, ".MD5SUM") == 0;
    if (f->filename[0] || (!plain && !sum))
        return;
    snprintf(f->filename, sizeof f->filename, "%s", name);
    snprintf(f->sha256, sizeof f->sha256, "%s", sha256);
    snprintf(f->md5, sizeof f->md5, "%s", md5);
    f->md5sum = sum;
}

static int match_delta(void *ctx, const otter_delta *d)
{
    struct served *f = ctx;
    if (!f->filename[0]) {
        match_file(f, d->filename, d->sha256, d->md5);
        f->delta = f->filename[0] != '\0';
    }
    return 0;
}

/* The release's full artifact or delta that c names; f->filename "" when none. */
static int pick_file(struct ddi_call *c, const otter_release *r, struct served *f, otter_err *err)
{
    f->asked = c->seg[3];
    f->full_size = r->size;
    match_file(f, r->filename, r->sha256, r->md5);
    if (f->filename[0])
        return 0;
    return otter_store_delta_list(c->ddi->store, r->id, 0, match_delta, f, err);
}

/*
 * The file c names, if the device may have it: an action of the device for
 * that release that it started; 0 and f filled, else the answer's status.
 */
static int find_served(struct ddi_call *c, struct served *f)
{
    otter_err err;
    struct dl_release o = {0};
    struct uses u = {0};
    char *end = NULL;
    long long rid = strtoll(c->seg[1], &end, 10);
    if (!c->seg[1][0] || *end || rid <= 0)
        return ddi_fail(c, 404, "no such artifact");
    u.release_id = rid;
    if (otter_store_action_list_device(c->ddi->store, c->dev->id, uses_release, &u, &err) < 0 ||
        (u.found &&
         otter_store_release_list(c->ddi->store, c->tenant.id, rid, take, &o, &err) < 0)) {
        fprintf(stderr, "otter-server: ddi download: %s\n", err.msg);
        return ddi_fail(c, 500, "internal error");
    }
    if (!u.found && u.waiting.id && otter_action_state_of(&u.waiting) == OTTER_ACTION_CANCELED)
        return ddi_refuse_canceled(c, &u.waiting);
    if (!u.found && u.waiting.id)
        return ddi_fail(c, 404, "action %lld has not started: fetch its deploymentBase first",
                        (long long)u.waiting.id);
    if (!u.found || !o.found)
        return ddi_fail(c, 404, "no such artifact");
    /* The full artifact, or one of the release's deltas (docs/ddi.md "Delta artifacts"). */
    if (pick_file(c, &o.r, f, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!f->filename[0])
        return ddi_fail(c, 404, "no such artifact");
    f->rollout_id = u.rollout_id;
    return 0;
}

/* hawkBit's md5sum link: FILENAME.MD5SUM holds "MD5  FILENAME" (md5sum -c input). */
static int send_md5sum(struct ddi_call *c, const struct served *f)
{
    size_t cap = strlen(f->md5) + strlen(f->filename) + 4;
    free(c->resp->body);
    c->resp->body_len = 0;
    if (!(c->resp->body = malloc(cap)))
        return ddi_fail(c, 500, "out of memory");
    c->resp->body_len = (size_t)snprintf(c->resp->body, cap, "%s  %s\n", f->md5, f->filename);
    c->resp->content_type = "text/plain";
    return 200;
}

/* The file itself (sendfile), with ETag, If-None-Match, one Range and If-Range. */
static int send_file(struct ddi_call *c, const struct served *f)
{
    otter_err err;
    char path[4200], etag[80], cr[96];
    struct stat st;
    /* s10-cdn: a server that did not take the upload fills its directory from the database. */
    if (c->ddi->cfg->storage_database &&
        otter_blob_local(c->ddi->store, c->ddi->cfg->artifacts_dir, f->sha256, &err) < 0)
        fprintf(stderr, "otter-server: ddi download: %s\n", err.msg);
    if (otter_artifact_path(c->ddi->cfg->artifacts_dir, f->sha256, path, sizeof path, &err) < 0)
        return ddi_fail(c, 500, "internal error");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "otter-server: artifact %s missing\n", path);
        return ddi_fail(c, 500, "artifact file missing");
    }
    uint64_t size = (uint64_t)st.st_size, first = 0, last = size ? size - 1 : 0;
    snprintf(etag, sizeof etag, "\"%s\"", f->sha256);
    otter_http_add_header(c->resp, "ETag", etag);
    otter_http_add_header(c->resp, "Accept-Ranges", "bytes");
    const char *inm = otter_http_header(c->req, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        close(fd);
        return 304;
    }
    int status = 200, ranged = 0;
    const char *range = otter_http_header(c->req, "Range");
    const char *if_range = otter_http_header(c->req, "If-Range");
    /* If-Range: the range applies only to the representation the client already has. */
    if (range && (!if_range || strcmp(if_range, etag) == 0)) {
        ranged = parse_range(range, size, &first, &last);
        if (ranged < 0) {
            close(fd);
            snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
            otter_http_add_header(c->resp, "Content-Range", cr);
            return ddi_fail(c, 416, "range not satisfiable (size %" PRIu64 ")", size);
        }
    }
    if (ranged > 0) {
        status = 206;
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        otter_http_add_header(c->resp, "Content-Range", cr);
    }
    char disp[OTTER_STORE_FILENAME_MAX + 40];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", f->filename);
    otter_http_add_header(c->resp, "Content-Disposition", disp);
    c->resp->content_type = "application/octet-stream";
    c->resp->fd_set = 1;
    c->resp->fd = fd;
    c->resp->fd_offset = first;
    c->resp->fd_len = size ? last - first + 1 : 0;
    ddi_traffic_attach(c, f->rollout_id, f->delta, first, size, (uint64_t)f->full_size);
    ddi_bwcap_attach(c, f->rollout_id); /* issue #15: server-side bandwidth caps */
    return status;
}

int ddi_download(struct ddi_call *c)
{
    struct served f = {0};
    int status = find_served(c, &f);
    if (status)
        return status;
    return f.md5sum ? send_md5sum(c, &f) : send_file(c, &f);
}
