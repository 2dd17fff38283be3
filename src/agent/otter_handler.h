/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slot handlers: they receive an image's installed (already decompressed
 * and, by the caller, hashed) bytes in chunks and put them into a slot.
 * Chosen by name from one static table:
 *   raw      image to a block device or a regular file; the first 4 KiB
 *            are held back and written last, so a half-written slot never
 *            carries a valid header; abort wipes them.
 *   file     one file, replaced atomically (temp + fsync + rename).
 *   archive  a tar stream unpacked into a directory slot (cleared first),
 *            refusing absolute paths, "..", escaping links and device nodes.
 *   ubi      a UBI volume (/dev/ubiX_Y or ubiX:NAME) through the kernel's
 *            volume update: an unfinished one leaves it marked damaged.
 *   bootpart a bootloader image to the eMMC's inactive boot partition, which
 *            becomes the active one once written and read back (bootpart.c).
 *   custom   ([handler.NAME] in agent.conf) an executable fed the bytes on
 *            stdin: otter_handler_open_exec(), docs/porting.md "Custom handlers".
 * Memory stays constant whatever the image size.
 *
 * Sequence: open, write* , then finish (commit) or abort (discard). The
 * total must equal the declared size exactly: more is refused at write,
 * fewer at finish (OTTER_EDIGEST).
 */
#ifndef OTTER_HANDLER_H
#define OTTER_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

typedef struct otter_handler otter_handler;

/* True when name is a known handler ("raw", "archive", "file", "ubi", "bootpart"). */
int otter_handler_exists(const char *name);

/* True when s names a UBI volume by name, "ubiX:NAME" (the ubi handler's slot form). */
int otter_handler_is_ubi_name(const char *s);

/*
 * Starts writing declared_size bytes into target with handler name.
 * target is the slot path (device or file for raw and file, a directory
 * for archive). Caller ends *out with otter_handler_finish() or
 * otter_handler_abort(). Errors: OTTER_EUSAGE (unknown handler, target of
 * the wrong kind, image larger than the device), OTTER_EIO, OTTER_ENOMEM.
 */
int otter_handler_open(const char *name, const char *target, uint64_t declared_size,
                       otter_handler **out, otter_err *err);

/* Per slot class options of the built-in handlers (agent.conf [slot.NAME], [emmc]). */
typedef struct otter_handler_opts {
    int direct;      /* raw: write with O_DIRECT (the unaligned tail goes through the cache) */
    int discard;     /* raw: discard the block device after the image (BLKDISCARD) */
    const char *mmc; /* bootpart: mmc-utils' mmc (borrowed for the open) */
} otter_handler_opts;

/*
 * otter_handler_open() with options o (NULL: none). A handler that takes no
 * options ignores them; an option it cannot honour (O_DIRECT on tmpfs) is
 * an error at open (OTTER_EUSAGE or OTTER_EIO).
 */
int otter_handler_open_opts(const char *name, const char *target, uint64_t declared_size,
                            const otter_handler_opts *o, otter_handler **out, otter_err *err);

/* What a custom handler is run with (all borrowed for the call). */
typedef struct otter_handler_exec_params {
    const char *name;    /* the handler's name ([handler.NAME]) */
    const char *command; /* absolute path of the executable */
    const char *args;    /* arguments before the standard ones, split on blanks */
    long timeout;        /* seconds without taking input, and to exit after EOF */
    const char *image;   /* image name */
    const char *sha256;  /* of the installed bytes (hex) */
    const char *version; /* the release */
    char slot;           /* 'A' or 'B' */
} otter_handler_exec_params;

/*
 * Starts custom handler p for declared_size bytes going to target (the slot
 * path of its class): the executable runs with the image's parameters as
 * arguments and environment, reads the bytes on stdin; finish closes stdin
 * and wants exit status 0; abort kills its process group. Errors: OTTER_EIO
 * (cannot start), OTTER_EUSAGE (too many arguments), OTTER_ENOMEM.
 */
int otter_handler_open_exec(const otter_handler_exec_params *p, const char *target,
                            uint64_t declared_size, otter_handler **out, otter_err *err);

/*
 * Passes the next len bytes (borrowed, copied or written before return).
 * Errors: OTTER_EDIGEST (beyond the declared size), OTTER_EFORMAT (archive:
 * hostile or malformed tar), OTTER_EIO. After an error, call
 * otter_handler_abort(); further writes fail.
 */
int otter_handler_write(otter_handler *h, const void *buf, size_t len, otter_err *err);

/*
 * Completes the slot durably (fsync) and frees h, whatever the result. On
 * failure the slot is invalidated as by abort. Errors: OTTER_EDIGEST (fewer
 * bytes than declared), OTTER_EFORMAT (archive), OTTER_EIO.
 */
int otter_handler_finish(otter_handler *h, otter_err *err);

/*
 * Continues writing declared_size bytes into target at offset: the bytes
 * before it are already there (the caller re-hashed them) in partial, the
 * file otter_handler_partial_path() named for the unfinished slot (raw: the
 * slot itself; file: its temp file beside the target, checked to be one);
 * head holds the first bytes the raw handler keeps back until finish (4 KiB).
 * archive cannot resume: OTTER_EUSAGE. Then write/finish/abort as usual.
 */
int otter_handler_resume(const char *name, const char *target, uint64_t declared_size,
                         uint64_t offset, const uint8_t *head, size_t head_len, const char *partial,
                         otter_handler **out, otter_err *err);

/* Where h keeps its unfinished bytes (borrowed), or NULL when it cannot resume. */
const char *otter_handler_partial_path(const otter_handler *h);

/* Discards the slot's partial content so it can never look valid; frees h. NULL is fine. */
void otter_handler_abort(otter_handler *h);

#endif
