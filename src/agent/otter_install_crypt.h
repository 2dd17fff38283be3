/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install's side of encrypted images (docs/package-format.md,
 * "Encrypted images"; docs/agent.md, "[crypt]"): the device's decryption
 * key, named by agent.conf's [crypt] key, is loaded for each install and
 * given to the package reader before the manifest is read, so that a
 * package this device cannot open is refused before anything is written.
 * The key is a PEM file (X25519 or RSA), or "handle:0x81..." for an RSA key
 * in the TPM (otter_tpm_crypt.h: unwrapped inside the TPM, through
 * otter_crypt_key_new, so the core has no TPM code).
 */
#ifndef OTTER_INSTALL_CRYPT_H
#define OTTER_INSTALL_CRYPT_H

#include "otter_crypt.h"
#include "otter_device.h"
#include "otter_err.h"
#include "otter_pkg.h"

/*
 * With [crypt] key set: loads it into *out (caller frees with
 * otter_crypt_key_free, after the reader) and gives it to r. Without it,
 * *out is NULL and r refuses encrypted images. OTTER_EIO / OTTER_EUSAGE
 * naming the file when the key cannot be loaded.
 */
int otter_install_crypt_open(const otter_device *d, otter_pkg_reader *r, otter_crypt_key **out,
                             otter_err *err);

#endif
