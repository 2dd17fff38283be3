/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_install.h"
#include "otter_fresh.h"
#include "otter_bootchooser.h"
#include "otter_crash.h"
#include "otter_digest.h"
#include "otter_handler.h"
#include "otter_hooks.h"
#include "otter_install_crypt.h"
#include "otter_install_keep.h"
#include "otter_install_delta.h"
#include "otter_sig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Step 1: everything about the package that can be judged before writing. */
static int check_package(otter_device *d, const otter_manifest *m, const otter_install_opts *o,
                         otter_err *err)
{
    int ret = otter_manifest_check_device(m, d->conf->product, d->conf->model, err);
    if (ret)
        return ret;
    uint64_t counter = 0;
    ret = otter_rollback_get(d->rollback, &counter, err);
    if (ret)
        return ret;
    if ((uint64_t)m->security_version < counter)
        return otter_err_set(err, OTTER_EROLLBACK,
                             "security version %lld is below the device's counter %llu "
                             "(downgrade refused)",
                             (long long)m->security_version, (unsigned long long)counter);
    if ((ret = otter_fresh_check(d, m, err)) != 0) /* issue #13: no replay of older releases */
        return ret;
    if (!o->factory) {
        /* A download ahead of time may wait behind a pending update. */
        if (d->state->pending.present && !o->verify_only)
            return otter_err_set(err, OTTER_ESTATE,
                                 "an update to slot %c is waiting for its reboot; reboot or "
                                 "run boot-check first",
                                 otter_bootchooser_letter(d->state->pending.slot));
        const otter_state_slot *running = &d->state->slots[d->booted];
        if (!o->force && running->present && strcmp(running->version, m->version) == 0)
            return otter_err_set(err, OTTER_ESTATE,
                                 "version %s is already running (use --force to reinstall)",
                                 m->version);
    }
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        const otter_slot_conf *s = otter_agent_conf_slot(d->conf, img->target);
        if (!s)
            return otter_err_set(err, OTTER_ECOMPAT, "image %s: this device has no slot class %s",
                                 img->name, img->target);
        if (strcmp(s->handler, img->handler) != 0)
            return otter_err_set(err, OTTER_ECOMPAT,
                                 "image %s: handler %s does not fit slot class %s (%s)", img->name,
                                 img->handler, s->name, s->handler);
        /* Format 1 judges an image at its end: a tar (or a custom handler) would act first. */
        if (m->format == 1 && (strcmp(img->handler, "archive") == 0 ||
                               otter_agent_conf_handler(d->conf, img->handler)))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "image %s: format 1 archive images are refused (the tar would "
                                 "be unpacked before its digest is known); repack with otter "
                                 "pack (format 2)",
                                 img->name);
    }
    /* A/B switches every slot class at once: each needs its new copy, from the
     * package or (a partial package) from the running slot set. */
    for (size_t i = 0; i < d->conf->n_slots; i++) {
        int found = !otter_manifest_replaces(m, d->conf->slots[i].name);
        for (size_t j = 0; j < m->image_count; j++)
            found |= strcmp(m->images[j].target, d->conf->slots[i].name) == 0;
        if (!found)
            return otter_err_set(err, OTTER_ECOMPAT, "package has no image for slot class %s",
                                 d->conf->slots[i].name);
    }
    return otter_install_keep_check(d, m, o->factory, err);
}

/*
 * What this install has opened: handlers stay open until the whole package
 * was read (nothing may follow the last image, the zip must end cleanly),
 * so a package refused after its last image never leaves a finished slot.
 */
typedef struct install_run {
    otter_device *d;
    const otter_manifest *m;
    const otter_install_opts *o;
    otter_pkg_reader *r;
    int side;
    int released; /* the inactive slot was marked invalid (before its first write) */
    otter_handler *h[OTTER_IMAGES_MAX];
    size_t n;
    uint64_t total;
    size_t index;        /* of the image being written */
    otter_resume *rec;   /* the resume record kept while writing (URL installs) */
    otter_crypt_key *ck; /* [crypt] key: opens encrypted images (NULL: none configured) */
} install_run;

/* Saves the resume record, when there is one; a failure only costs a later resume. */
static void keep_record(install_run *run)
{
    otter_err ignored;
    if (run->rec)
        otter_resume_save(run->d, run->rec, &ignored);
}

/* Hooks precede the images; custom and bootpart handlers cannot continue: such an install
 * restarts. */
static int can_resume(const install_run *run)
{
    const otter_manifest *m = run->m;
    if (m->hooks[OTTER_HOOK_PRE].file[0] || m->hooks[OTTER_HOOK_POST].file[0])
        return 0;
    for (size_t i = 0; i < m->image_count; i++)
        if (otter_agent_conf_handler(run->d->conf, m->images[i].handler) ||
            strcmp(m->images[i].handler, "bootpart") == 0)
            return 0;
    return 1;
}

/* The record starts with the release: from then on the slot holds this install's bytes. */
static int start_record(install_run *run, otter_err *err)
{
    if (!run->o->record_url || run->rec || !can_resume(run))
        return 0;
    size_t mlen = 0;
    const char *mbytes = otter_pkg_manifest_bytes(run->r, &mlen);
    char *sig = otter_sig_list_serialize_new(otter_pkg_signatures(run->r));
    run->rec = sig ? otter_resume_new(run->o->record_url, run->side, mbytes, mlen, sig, strlen(sig))
                   : NULL;
    free(sig);
    if (!run->rec)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* Images before this one were empty (no chunk): their offsets never serve a Range. */
    for (size_t i = 0; i <= run->index; i++)
        run->rec->images[i].has_offset = 1;
    run->rec->images[run->index].offset = otter_pkg_entry_offset(run->r);
    run->rec->n_images = run->index + 1;
    keep_record(run);
    return 0;
}

/* An image starts: where its data is in the package (what a resume asks a Range from). */
static void record_image_start(install_run *run, size_t index)
{
    if (!run->rec)
        return;
    otter_resume_image *ri = &run->rec->images[index];
    ri->has_offset = 1;
    ri->offset = otter_pkg_entry_offset(run->r);
    if (run->rec->n_images < index + 1)
        run->rec->n_images = index + 1;
    keep_record(run);
}

/*
 * Before the first byte reaches the inactive slot: forget what it held and
 * take it out of the boot order, durably. From here on a refusal (or a power
 * cut) leaves a slot that nothing will boot, roll back to or report as a
 * version; before here a refusal changes nothing at all.
 */
static int release_inactive_slot(install_run *run, otter_err *err)
{
    otter_device *d = run->d;
    otter_state_clear_slot(d->state, run->side);
    int ret = otter_device_save_state(d, err);
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    if (!ret)
        ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (!ret) {
        otter_bootchooser_mark_bad(&v, run->side);
        ret = otter_boot_write_vars(d->boot, &v, err);
    }
    otter_crash_point("install-released");
    if (!ret)
        run->released = 1;
    if (!ret)
        ret = start_record(run, err);
    /* The slot is out of the boot order: whatever the hook does to it, a failure leaves it so. */
    if (!ret)
        ret = otter_hooks_run(d, run->r, run->m, OTTER_HOOK_PRE, run->side, err);
    return ret;
}

/* A custom handler ([handler.NAME]) or a built-in one, on the slot of img's class. */
static int start_handler(install_run *run, const otter_manifest_image *img, otter_handler **h,
                         otter_err *err)
{
    const char *path = otter_device_slot_path(run->d, img->target, run->side);
    const otter_handler_conf *hc = otter_agent_conf_handler(run->d->conf, img->handler);
    if (!hc) {
        const otter_slot_conf *s = otter_agent_conf_slot(run->d->conf, img->target);
        otter_handler_opts ho = {strcmp(s->direct, "yes") == 0, strcmp(s->discard, "yes") == 0,
                                 run->d->conf->emmc_mmc};
        return otter_handler_open_opts(img->handler, path, img->size, &ho, h, err);
    }
    otter_handler_exec_params p = {
        hc->name,  hc->command, hc->args,        hc->timeout,
        img->name, img->sha256, run->m->version, otter_bootchooser_letter(run->side)};
    return otter_handler_open_exec(&p, path, img->size, h, err);
}

static int open_handler(install_run *run, const otter_manifest_image *img, otter_handler **h,
                        otter_err *err)
{
    int ret = run->released ? 0 : release_inactive_slot(run, err);
    if (!ret)
        ret = start_handler(run, img, h, err);
    if (ret)
        return otter_err_prefix(err, "image %s: slot %c", img->name,
                                otter_bootchooser_letter(run->side));
    run->h[run->n++] = *h;
    /* A file image's bytes go to a temp file first: a resume must find it. */
    const char *partial = otter_handler_partial_path(*h);
    if (run->rec && partial && strcmp(img->handler, "file") == 0) {
        snprintf(run->rec->images[run->index].partial, sizeof run->rec->images[0].partial, "%s",
                 partial);
        keep_record(run);
    }
    return 0;
}

/* A raw image's first bytes, which its handler writes last: the record keeps them. */
static void record_head(install_run *run, size_t index, const void *data, size_t len)
{
    if (!run->rec || strcmp(run->m->images[index].handler, "raw") != 0)
        return;
    otter_resume_image *ri = &run->rec->images[index];
    ri->head_len = len < OTTER_RESUME_HEAD ? len : OTTER_RESUME_HEAD;
    memcpy(ri->head, data, ri->head_len);
    keep_record(run);
}

/* Resuming inside this image: its handler continues at the resume chunk. */
static int resume_handler(install_run *run, size_t index, uint64_t offset, otter_handler **h,
                          otter_err *err)
{
    const otter_manifest_image *img = &run->m->images[index];
    const otter_resume_image *ri = &run->rec->images[index];
    int ret = otter_handler_resume(
        img->handler, otter_device_slot_path(run->d, img->target, run->side), img->size, offset,
        ri->head, ri->head_len, ri->partial[0] ? ri->partial : NULL, h, err);
    if (ret)
        return otter_err_prefix(err, "image %s: slot %c", img->name,
                                otter_bootchooser_letter(run->side));
    run->h[run->n++] = *h;
    return 0;
}

/*
 * Step 2 for one image: stream it into the slot. The handler opens with the
 * first chunk the reader hands out (format 2: the first verified chunk), so
 * a package refused at its first chunk has not touched the slot.
 */
static int write_image(install_run *run, const otter_manifest_image *img, otter_err *err)
{
    const otter_install_opts *o = run->o;
    size_t index = (size_t)(img - run->m->images);
    otter_handler *h = NULL;
    uint64_t done = 0;
    const void *data;
    size_t len;
    int ret = 0;
    run->index = index;
    record_image_start(run, index);
    if (o->resume && index == o->resume_point->image) {
        done = (uint64_t)o->resume_point->chunk * img->chunk_size;
        if (o->resume_point->chunk > 0 && (ret = resume_handler(run, index, done, &h, err)) != 0)
            return ret;
    }
    while ((ret = otter_pkg_read_chunk(run->r, &data, &len, err)) == 1) {
        if (o->cancel && *o->cancel)
            return otter_err_set(err, OTTER_ECANCELED, "image %s: canceled", img->name);
        if (!o->verify_only) {
            if (!h && (ret = open_handler(run, img, &h, err)) != 0)
                return ret;
            ret = otter_handler_write(h, data, len, err);
            if (ret)
                return otter_err_prefix(err, "image %s: slot %c", img->name,
                                        otter_bootchooser_letter(run->side));
            if (done == 0)
                record_head(run, index, data, len);
            otter_crash_bytes("install-write", run->total + done, run->total + done + len);
        }
        done += len;
        if (o->progress)
            o->progress(o->progress_ctx, img->name, done, img->size);
    }
    if (ret)
        return ret;
    /* An empty image still empties its slot. */
    if (!o->verify_only && !h && (ret = open_handler(run, img, &h, err)) != 0)
        return ret;
    run->total += done;
    return 0;
}

/* Resuming: the images before the resume point are whole in the slot; their
 * handlers continue at their end, so that finish writes their heads. */
static int resume_whole_images(install_run *run, otter_err *err)
{
    const otter_install_opts *o = run->o;
    run->rec = otter_resume_new(o->resume->url, o->resume->side, o->resume->manifest,
                                o->resume->manifest_len, o->resume->sig, o->resume->sig_len);
    if (!run->rec)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    memcpy(run->rec->images, o->resume->images, sizeof run->rec->images);
    run->rec->n_images = o->resume->n_images;
    run->released = 1; /* by the install this one continues */
    for (size_t i = 0; i < o->resume_point->image; i++) {
        otter_handler *h = NULL;
        int ret = resume_handler(run, i, run->m->images[i].size, &h, err);
        if (ret)
            return ret;
        run->total += run->m->images[i].size;
    }
    return 0;
}

/* The package was read whole: now the slots may become durable, in order. */
static int finish_handlers(install_run *run, const otter_manifest *m, otter_err *err)
{
    int ret = 0;
    size_t i = 0;
    for (; !ret && i < run->n; i++) {
        otter_handler *h = run->h[i];
        run->h[i] = NULL;
        ret = otter_handler_finish(h, err);
        if (ret)
            otter_err_prefix(err, "image %s: slot %c", m->images[i].name,
                             otter_bootchooser_letter(run->side));
        else
            otter_crash_point("install-image-done");
    }
    return ret;
}

/* A refusal: every slot this install opened is invalidated. */
static void abort_handlers(install_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        otter_handler_abort(run->h[i]);
        run->h[i] = NULL;
    }
}

/*
 * Step 3b: the boot variables put side first; once that is durable, the
 * pending record says so (pending.switched). A cut before the switch is
 * durable leaves a record that boot-check in the old slot reads as "never
 * switched" instead of "slot did not boot" (docs/agent.md, "Power loss").
 */
static int switch_boot(otter_device *d, int side, int pending, otter_err *err)
{
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    int ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (!ret) {
        otter_bootchooser_activate(&v, side, tries);
        ret = otter_boot_write_vars(d->boot, &v, err);
    }
    otter_crash_point("install-activated");
    if (ret || !pending)
        return ret;
    /* Not fatal: the switch is done. Without the mark, boot-check asks the boot variables,
     * which tell the same except after a verified-boot refusal (docs/agent.md). */
    otter_err ignored;
    d->state->pending.switched = 1;
    if (otter_device_save_state(d, &ignored) != 0)
        fprintf(stderr, "otter-agent: warning: the switch to slot %c is not recorded: %s\n",
                otter_bootchooser_letter(side), ignored.msg);
    otter_crash_point("install-switched");
    return 0;
}

/* Step 3: record, then activate. The order matters for power loss (docs/agent.md). */
static int record_and_activate(otter_device *d, const otter_manifest *m, const char *manifest_sha,
                               int side, const otter_install_opts *o, otter_err *err)
{
    otter_state_image images[OTTER_STATE_MAX_IMAGES];
    if (m->image_count > OTTER_STATE_MAX_IMAGES)
        return otter_err_set(err, OTTER_EFORMAT, "more than %d images", OTTER_STATE_MAX_IMAGES);
    for (size_t i = 0; i < m->image_count; i++) {
        images[i].name = (char *)m->images[i].name;
        images[i].target = (char *)m->images[i].target;
        memcpy(images[i].sha256, m->images[i].sha256, sizeof images[i].sha256);
        images[i].size = m->images[i].size;
    }
    /* A partial package: the new slot also holds the classes copied from the running one. */
    size_t n = m->image_count + otter_install_keep_images(d, m, images + m->image_count,
                                                          OTTER_STATE_MAX_IMAGES - m->image_count);
    uint64_t secver = (uint64_t)m->security_version;
    int64_t now = otter_device_now();
    int ret =
        otter_state_set_slot(d->state, side, m->version, secver, manifest_sha, images, n, err);
    if (!ret && o->factory) {
        d->state->booted = side;
        ret = otter_state_set_result(d->state, OTTER_RESULT_SUCCESS, m->version, "", now, err);
    } else if (!ret) {
        ret = otter_state_set_pending(d->state, side, m->version, secver, manifest_sha, now, err);
    }
    if (!ret)
        ret = otter_device_save_state(d, err);
    /* A factory image is whatever manufacturing flashes, packed at any time (often after the
     * first update): the freshness history starts with the first update over the air. */
    if (!ret && !o->factory)
        ret = otter_fresh_note(d, m, err);
    otter_crash_point("install-recorded");
    if (!ret)
        ret = switch_boot(d, side, !o->factory, err);
    if (!ret && o->factory)
        ret = otter_rollback_raise(d->rollback, secver, err);
    return ret;
}

/* The package reader: from the start, or from a resume point. */
static int open_reader(otter_device *d, otter_pkg_read_fn fn, void *ctx, const char *name,
                       const otter_install_opts *o, otter_pkg_reader **r, otter_err *err)
{
    if (!o->resume)
        return otter_pkg_reader_new(fn, ctx, name, OTTER_PKG_HASH_THREAD, r, err);
    const otter_resume *rec = o->resume;
    const otter_resume_point *p = o->resume_point;
    otter_pkg_resume_point at = {
        rec->manifest, rec->manifest_len,           rec->sig, rec->sig_len, p->image,
        p->chunk,      rec->images[p->image].offset};
    return otter_pkg_reader_resume(fn, ctx, name, OTTER_PKG_HASH_THREAD, &at, r, err);
}

int otter_install_stream(otter_device *d, otter_pkg_read_fn fn, void *ctx, const char *name,
                         const otter_install_opts *o, otter_install_result *res, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    otter_install_sources sources = {0};
    install_run run = {.d = d, .o = o, .side = o->factory ? OTTER_SLOT_A : 1 - d->booted};
    int ret = open_reader(d, fn, ctx, name, o, &r, err);
    run.r = r;
    if (!ret)
        ret = otter_install_crypt_open(d, r, &run.ck, err);
    if (!ret && d->conf->install_workers > 0)
        otter_pkg_reader_set_workers(r, (unsigned)d->conf->install_workers);
    if (!ret)
        ret = otter_pkg_read_manifest(r, d->trust, &m, NULL, err);
    run.m = m;
    if (!ret && (ret = check_package(d, m, o, err)) != 0)
        otter_err_prefix(err, "%s", name);
    /* Delta images: their sources are checked here, once, before anything is written
     * (a resume checks them again: the record keeps the manifest, not the answer). */
    if (!ret && (ret = otter_install_delta_open(d, m, o->factory ? OTTER_SLOT_NONE : d->booted, r,
                                                &sources, err)) != 0)
        otter_err_prefix(err, "%s", name);
    if (!ret && o->resume)
        ret = resume_whole_images(&run, err);
    while (!ret && (ret = otter_pkg_next_image(r, &img, err)) == 1)
        ret = write_image(&run, img, err);
    if (!ret && o->verified && o->verified(o->verified_ctx, m->version) != 0)
        ret = otter_err_set(err, OTTER_ECANCELED, "canceled before the slot switch");
    if (!ret)
        ret = finish_handlers(&run, m, err);
    if (!ret && !o->verify_only) /* the slots are whole: the kept classes, then the hook */
        ret = otter_install_keep_copy(d, m, run.side, err);
    if (!ret && !o->verify_only)
        ret = otter_hooks_run(d, r, m, OTTER_HOOK_POST, run.side, err);
    if (ret) {
        abort_handlers(&run);
        if (run.rec)
            otter_resume_remove(d);
        if (!strstr(err->msg, name))
            otter_err_prefix(err, "%s", name);
        goto out;
    }
    if (res) {
        res->slot = run.side;
        snprintf(res->version, sizeof res->version, "%s", m->version);
        res->security_version = m->security_version;
        res->bytes = run.total;
    }
    if (o->verify_only)
        goto out;
    size_t mlen = 0;
    const char *mbytes = otter_pkg_manifest_bytes(r, &mlen);
    char manifest_sha[OTTER_SHA256_HEX_LEN + 1];
    otter_sha256_hex(mbytes, mlen, manifest_sha);
    ret = record_and_activate(d, m, manifest_sha, run.side, o, err);
    if (run.rec)
        otter_resume_remove(d); /* the slot is whole (or, on an error here, no longer ours) */
    if (ret)
        goto out;
    if (!o->no_reboot && !o->factory && d->conf->reboot_command[0]) {
        int rc = otter_install_run_command(d->conf->reboot_command, 60, run.side, m->version);
        if (rc != 0)
            ret = otter_err_set(err, OTTER_EIO, "reboot command exited with %d", rc);
    }
out:
    otter_resume_free(run.rec);
    otter_pkg_reader_free(r);
    otter_crypt_key_free(run.ck);        /* after the reader: it holds the key */
    otter_install_delta_close(&sources); /* after the reader: it reads them until freed */
    return ret;
}

int otter_install_file(otter_device *d, const char *path, const otter_install_opts *o,
                       otter_install_result *res, otter_err *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", path);
    int ret = otter_install_stream(d, otter_install_file_read, f, path, o, res, err);
    if (f != stdin)
        fclose(f);
    return ret;
}

ssize_t otter_install_file_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    FILE *f = ctx;
    size_t n = fread(buf, 1, len, f);
    if (n == 0 && ferror(f))
        return otter_err_sys(err, OTTER_EIO, errno, "read failed");
    return (ssize_t)n;
}

int otter_install_run_command(const char *command, long timeout_seconds, int slot,
                              const char *version)
{
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        char letter[2] = {otter_bootchooser_letter(slot), '\0'};
        setenv("OTTER_SLOT", letter, 1);
        setenv("OTTER_VERSION", version ? version : "", 1);
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    struct timespec step = {0, 20 * 1000 * 1000};
    long waited_ms = 0;
    for (;;) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (w < 0 && errno != EINTR)
            return 127;
        if (waited_ms >= timeout_seconds * 1000) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 124;
        }
        nanosleep(&step, NULL);
        waited_ms += 20;
    }
}

int otter_install_run_reboot(const otter_agent_conf *conf, const char *version)
{
    char path[PATH_MAX];
    otter_state *s = NULL;
    otter_err err;
    int slot = OTTER_SLOT_NONE;
    /* The installer wrote the pending update before it exited: its slot is where we go. */
    if ((size_t)snprintf(path, sizeof path, "%s/state.json", conf->state_dir) < sizeof path &&
        otter_state_load(path, &s, &err) == 0 && s->pending.present)
        slot = s->pending.slot;
    otter_state_free(s);
    return otter_install_run_command(conf->reboot_command, 60, slot, version);
}
