/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error convention for all of Otter: fallible functions return 0 on
 * success or a negative otter_code, and fill an otter_err with a bounded,
 * human-readable message saying what went wrong and where. Callers add
 * context with otter_err_prefix() as the error travels up
 * ("update.zip: image rootfs: sha256 mismatch ...").
 */
#ifndef OTTER_ERR_H
#define OTTER_ERR_H

#include <stddef.h>

enum otter_code {
    OTTER_OK = 0,
    OTTER_EIO = -1,        /* the system failed us: open, read, write, fsync */
    OTTER_ENOMEM = -2,     /* allocation failed */
    OTTER_EFORMAT = -3,    /* malformed or hostile input: refused */
    OTTER_ESIG = -4,       /* signature or trust failure: refused */
    OTTER_EDIGEST = -5,    /* size or SHA-256 mismatch: refused */
    OTTER_ECOMPAT = -6,    /* built for another product or model: refused */
    OTTER_EROLLBACK = -7,  /* security version below the device counter: refused */
    OTTER_EUSAGE = -8,     /* bad argument from the caller or the command line */
    OTTER_ESTATE = -9,     /* operation not allowed in the current state */
    OTTER_ECANCELED = -10, /* stopped on request */
    OTTER_ESOURCE = -11,   /* a delta's source (the running slot) is not its base: refused */
    OTTER_EMETHOD = -12    /* a chunk method this reader does not know (a newer delta): refused */
};

#define OTTER_ERR_MSG_MAX 1024

typedef struct otter_err {
    int code;
    char msg[OTTER_ERR_MSG_MAX];
} otter_err;

/* Clears err (code 0, empty message). err may be NULL. */
void otter_err_clear(otter_err *err);

/*
 * Sets err to code and a printf-style message; returns code so callers can
 * write `return otter_err_set(err, OTTER_EFORMAT, "...")`. err may be NULL.
 * Messages longer than OTTER_ERR_MSG_MAX - 1 are cut with "...".
 */
int otter_err_set(otter_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like otter_err_set, with ": <strerror(errnum)>" appended. */
int otter_err_sys(otter_err *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Prepends "<context>: " to the current message; returns err->code.
 * err may be NULL (then returns OTTER_EIO).
 */
int otter_err_prefix(otter_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True for codes that mean "the input was refused" rather than "we failed". */
int otter_err_is_refusal(int code);

/* Short, stable name of a code ("format", "signature", ...). */
const char *otter_code_name(int code);

#endif
