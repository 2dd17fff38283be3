/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_resume.h"
#include "otter_bootchooser.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_json.h"
#include "otter_sig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESUME_FORMAT 1

otter_resume *otter_resume_new(const char *url, int side, const char *manifest, size_t manifest_len,
                               const char *sig, size_t sig_len)
{
    otter_resume *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->side = side;
    r->url = strdup(url);
    r->manifest = malloc(manifest_len + 1);
    r->sig = malloc(sig_len + 1);
    if (!r->url || !r->manifest || !r->sig) {
        otter_resume_free(r);
        return NULL;
    }
    memcpy(r->manifest, manifest, manifest_len);
    r->manifest[manifest_len] = '\0';
    r->manifest_len = manifest_len;
    memcpy(r->sig, sig, sig_len);
    r->sig[sig_len] = '\0';
    r->sig_len = sig_len;
    return r;
}

void otter_resume_free(otter_resume *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->manifest);
    free(r->sig);
    free(r);
}

void otter_resume_path(const otter_device *d, char *buf, size_t size)
{
    snprintf(buf, size, "%s/resume.json", d->conf->state_dir);
}

/* A base64 field into a new NUL-terminated buffer of at most max bytes. */
static int get_b64(const json_t *o, const char *key, size_t max, const char *where, char **out,
                   size_t *len, otter_err *err)
{
    const char *text = NULL;
    int ret = otter_json_get_string(o, key, 0, (max + 2) / 3 * 4, where, &text, err);
    uint8_t *raw = NULL;
    if (!ret)
        ret = otter_base64_decode_new(text, max, &raw, len, err);
    if (ret)
        return otter_err_prefix(err, "%s.%s", where, key);
    char *buf = realloc(raw, *len + 1);
    if (!buf) {
        free(raw);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    buf[*len] = '\0';
    *out = buf;
    return 0;
}

static int parse_image(const json_t *o, const char *where, otter_resume_image *img, otter_err *err)
{
    static const char *const known[] = {"offset", "head", "partial", NULL};
    if (!json_is_object(o))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(o, known, where, err);
    json_t *off = json_object_get(o, "offset");
    if (!ret && off && !json_is_null(off)) {
        int64_t v = 0;
        ret = otter_json_get_int(o, "offset", 0, 0, OTTER_JSON_INT_MAX, where, &v, err);
        img->has_offset = 1;
        img->offset = (uint64_t)v;
    }
    char *head = NULL;
    if (!ret && json_object_get(o, "head")) /* only a raw image has one */
        ret = get_b64(o, "head", OTTER_RESUME_HEAD, where, &head, &img->head_len, err);
    if (!ret && head)
        memcpy(img->head, head, img->head_len);
    free(head);
    const char *partial = "";
    if (!ret)
        ret = otter_json_get_string(o, "partial", 1, OTTER_RESUME_PATH_MAX, where, &partial, err);
    if (!ret)
        snprintf(img->partial, sizeof img->partial, "%s", partial);
    return ret;
}

static int parse_root(const json_t *root, const char *name, otter_resume *r, otter_err *err)
{
    static const char *const known[] = {"format", "url", "side", "manifest", "sig", "images", NULL};
    char where[300];
    snprintf(where, sizeof where, "%s:", name);
    int64_t format = 0;
    const char *url = NULL, *side = NULL;
    json_t *images = NULL;
    if (!json_is_object(root))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON object", name);
    int ret = otter_json_known_keys(root, known, where, err);
    if (!ret)
        ret = otter_json_get_int(root, "format", 0, RESUME_FORMAT, RESUME_FORMAT, where, &format,
                                 err);
    if (!ret)
        ret = otter_json_get_string(root, "url", 0, OTTER_RESUME_URL_MAX, where, &url, err);
    if (!ret)
        ret = otter_json_get_string(root, "side", 0, 1, where, &side, err);
    if (!ret && (r->side = otter_bootchooser_index(side)) == OTTER_SLOT_NONE)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s side: \"%s\" is not A or B", where, side);
    if (!ret)
        ret = get_b64(root, "manifest", OTTER_MANIFEST_MAX, where, &r->manifest, &r->manifest_len,
                      err);
    if (!ret)
        ret = get_b64(root, "sig", OTTER_SIG_FILE_MAX, where, &r->sig, &r->sig_len, err);
    if (!ret)
        ret = otter_json_get_array(root, "images", 0, OTTER_IMAGES_MAX, where, &images, err);
    if (ret)
        return ret;
    if (!(r->url = strdup(url)))
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    size_t i;
    json_t *item;
    json_array_foreach(images, i, item)
    {
        char at[320];
        snprintf(at, sizeof at, "%s images[%zu]", name, i);
        if ((ret = parse_image(item, at, &r->images[i], err)) != 0)
            return ret;
        r->n_images++;
    }
    return 0;
}

int otter_resume_parse_mem(const char *buf, size_t len, const char *name, otter_resume **out,
                           otter_err *err)
{
    json_t *root = NULL;
    otter_resume *r = calloc(1, sizeof *r);
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_json_load(buf, len, OTTER_RESUME_MAX_BYTES, name, &root, err);
    if (!ret)
        ret = parse_root(root, name, r, err);
    json_decref(root);
    if (ret) {
        otter_resume_free(r);
        return ret;
    }
    *out = r;
    return 0;
}

static json_t *b64_json(const void *data, size_t len)
{
    char *text = otter_base64_encode_new(data, len);
    json_t *v = text ? json_string(text) : NULL;
    free(text);
    return v;
}

char *otter_resume_to_json_new(const otter_resume *r)
{
    char side[2] = {otter_bootchooser_letter(r->side), '\0'};
    json_t *images = json_array();
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:o, s:o, s:o}", "format", RESUME_FORMAT, "url", r->url, "side",
                  side, "manifest", b64_json(r->manifest, r->manifest_len), "sig",
                  b64_json(r->sig, r->sig_len), "images", images);
    int ok = root != NULL;
    for (size_t i = 0; ok && i < r->n_images; i++) {
        const otter_resume_image *img = &r->images[i];
        json_t *o =
            json_pack("{s:o}", "offset",
                      img->has_offset ? json_integer((json_int_t)img->offset) : json_null());
        if (o && img->head_len &&
            json_object_set_new(o, "head", b64_json(img->head, img->head_len)) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (o && img->partial[0] &&
            json_object_set_new(o, "partial", json_string(img->partial)) < 0) {
            json_decref(o);
            o = NULL;
        }
        ok = o && json_array_append_new(images, o) == 0;
    }
    char *text = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

int otter_resume_save(const otter_device *d, const otter_resume *r, otter_err *err)
{
    char *text = otter_resume_to_json_new(r);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    char path[4200];
    otter_resume_path(d, path, sizeof path);
    int ret = otter_file_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return ret;
}

void otter_resume_remove(const otter_device *d)
{
    char path[4200];
    otter_resume_path(d, path, sizeof path);
    unlink(path);
}

/*
 * The first chunk of img that path does not hold as the table says (for a
 * raw image the head from the record stands in for the handler's held-back
 * first bytes); chunk_count when all of it is there.
 */
static size_t first_missing(const char *path, const otter_manifest_image *img,
                            const otter_resume_image *ri)
{
    int raw = strcmp(img->handler, "raw") == 0;
    size_t head = !raw ? 0 : img->size < OTTER_RESUME_HEAD ? (size_t)img->size : OTTER_RESUME_HEAD;
    if (raw && img->chunk_count && ri->head_len != head)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = fd >= 0 ? malloc(img->chunk_size) : NULL;
    int readable = buf != NULL;
    size_t i = 0;
    for (; readable && i < img->chunk_count; i++) {
        const otter_manifest_chunk *c = &img->chunks[i];
        ssize_t n = pread(fd, buf, c->size, (off_t)((uint64_t)i * img->chunk_size));
        if (n != (ssize_t)c->size && !(i == 0 && c->size <= head))
            break;
        if (i == 0 && head)
            memcpy(buf, ri->head, head);
        uint8_t md[OTTER_SHA256_LEN];
        otter_sha256_buf(buf, c->size, md);
        if (memcmp(md, c->sha256, sizeof md) != 0)
            break;
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    return readable || !img->chunk_count ? i : 0;
}

/* The last chunk of the images before `end` that have chunks: where a read resumes
 * when everything before end is there. 0 when there is none. */
static int last_chunk_before(const otter_manifest *m, size_t end, otter_resume_point *p)
{
    while (end > 0 && m->images[end - 1].chunk_count == 0)
        end--;
    if (end == 0)
        return 0;
    p->image = end - 1;
    p->chunk = m->images[end - 1].chunk_count - 1;
    return 1;
}

/* Where the stream continues: the first chunk any image lacks. 0: nowhere. */
static int find_point(otter_device *d, const otter_resume *rec, const otter_manifest *m,
                      otter_resume_point *p)
{
    for (size_t k = 0; k < m->image_count; k++) {
        const otter_manifest_image *img = &m->images[k];
        /* Its header never came: read the previous image's last chunk again. */
        if (k >= rec->n_images || !rec->images[k].has_offset)
            return last_chunk_before(m, k, p);
        const otter_resume_image *ri = &rec->images[k];
        const char *partial = strcmp(img->handler, "raw") == 0
                                  ? otter_device_slot_path(d, img->target, rec->side)
                              : strcmp(img->handler, "file") == 0 && ri->partial[0] ? ri->partial
                                                                                    : NULL;
        size_t j = partial ? first_missing(partial, img, ri) : 0;
        if (j < img->chunk_count) {
            p->image = k;
            p->chunk = j;
            return 1;
        }
    }
    /* Every chunk is there, the end of the zip was not: read the last chunk again. */
    return last_chunk_before(m, m->image_count, p);
}

/* The record's manifest, verified against the device's trust root. */
static int verified_manifest(otter_device *d, const otter_resume *rec, otter_manifest **m,
                             otter_err *err)
{
    otter_sig_list *sigs = NULL;
    int ret = otter_sig_list_parse(rec->sig, rec->sig_len, "manifest.sig", &sigs, err);
    if (!ret)
        ret = otter_trust_verify(d->trust, rec->manifest, rec->manifest_len, sigs, NULL, err);
    if (!ret)
        ret = otter_manifest_parse(rec->manifest, rec->manifest_len, "manifest.json", m, err);
    otter_sig_list_free(sigs);
    return ret;
}

int otter_resume_plan(otter_device *d, const char *url, otter_resume **recp, otter_manifest **mp,
                      otter_resume_point *point, char *why, size_t why_size)
{
    char path[4200], *buf = NULL;
    size_t len = 0;
    otter_resume *rec = NULL;
    otter_manifest *m = NULL;
    otter_err err = {0};
    const char *reason = NULL;
    otter_resume_path(d, path, sizeof path);
    if (access(path, F_OK) != 0)
        reason = "no resume record";
    else if (otter_file_read_all(path, OTTER_RESUME_MAX_BYTES, &buf, &len, &err) != 0 ||
             otter_resume_parse_mem(buf, len, path, &rec, &err) != 0)
        reason = err.msg;
    else if (strcmp(rec->url, url) != 0)
        reason = "the record is for another URL";
    else if (rec->side != 1 - d->booted || d->state->slots[rec->side].present ||
             d->state->pending.present)
        reason = "the inactive slot was not left by an unfinished install";
    else if (verified_manifest(d, rec, &m, &err) != 0)
        reason = err.msg;
    else if (m->format != 2)
        reason = "not a format 2 package";
    else if (!find_point(d, rec, m, point) || (point->image == 0 && point->chunk == 0))
        reason = "nothing in the slot to keep";
    free(buf);
    if (reason) {
        if (why)
            snprintf(why, why_size, "%s", reason);
        otter_resume_free(rec);
        otter_manifest_free(m);
        return 0;
    }
    point->from = rec->images[point->image].offset +
                  m->images[point->image].chunks[point->chunk].stored_offset;
    *recp = rec;
    *mp = m;
    return 1;
}
