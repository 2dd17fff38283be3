/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The anti-rollback store: one monotonic counter (the lowest
 * security_version the device still accepts). Back-ends sit behind one
 * vtable chosen from a static table: "file" (a counter file replaced
 * atomically: whoever can write it can lower it) and "tpm" (a TPM 2.0 NV
 * counter, otter_tpm.h: the TPM is the only copy, nothing on disk); eMMC
 * RPMB would fit the same three operations.
 * The counter only goes up: a lower value is refused, an equal one is a
 * no-op.
 */
#ifndef OTTER_ROLLBACK_H
#define OTTER_ROLLBACK_H

#include <stdint.h>

#include "otter_agent_conf.h"
#include "otter_err.h"

typedef struct otter_rollback otter_rollback;

/*
 * Opens back-end `backend` at path (for "file": the counter file; it need
 * not exist yet, which reads as 0). Caller frees *out with
 * otter_rollback_free(). Errors: OTTER_EUSAGE (unknown back-end), OTTER_EIO,
 * OTTER_ENOMEM.
 */
int otter_rollback_open(const char *backend, const char *path, otter_rollback **out,
                        otter_err *err);

/*
 * Opens the "tpm" back-end: the NV counter nv_index (hex, owner range) of the
 * TPM behind tcti (a tpm2-tss TCTI string). Nothing is connected yet: each
 * get and raise talks to the TPM. Errors: OTTER_EUSAGE (bad index),
 * OTTER_ENOMEM.
 */
int otter_rollback_open_tpm(const char *tcti, const char *nv_index, otter_rollback **out,
                            otter_err *err);

/* The back-end conf names ([rollback] backend, path; [tpm] tcti, nv_index). */
int otter_rollback_open_conf(const otter_agent_conf *conf, otter_rollback **out, otter_err *err);

/* Frees r. NULL is fine. */
void otter_rollback_free(otter_rollback *r);

/*
 * Reads the counter into *value. Errors: OTTER_EIO, OTTER_EFORMAT (stored
 * value corrupt: never read as 0, which would re-open old versions).
 */
int otter_rollback_get(otter_rollback *r, uint64_t *value, otter_err *err);

/*
 * Raises the counter to value. Equal: nothing happens. Lower: refused with
 * OTTER_EROLLBACK and the counter unchanged. Errors: also OTTER_EIO,
 * OTTER_EFORMAT.
 */
int otter_rollback_raise(otter_rollback *r, uint64_t value, otter_err *err);

#endif
