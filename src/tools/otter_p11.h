/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing keys that stay on a PKCS#11 token (an HSM, a smart card, SoftHSM2),
 * through libp11's PKCS11_* API. The key is named by an RFC 7512 URI
 * (otter_p11_uri.h); the module is the URI's module-path, else the
 * PKCS11_MODULE_PATH environment variable. The returned otter_key signs on
 * the token (libp11 routes OpenSSL's RSA and ECDSA operations to C_Sign) and
 * keeps the module loaded and the session logged in until it is freed.
 */
#ifndef OTTER_P11_H
#define OTTER_P11_H

#include <stddef.h>

#include "otter_err.h"
#include "otter_key.h"

/*
 * Supplies the user PIN of the token labelled token: writes at most size
 * bytes to buf, returns their count, or a negative otter code with err filled.
 */
typedef int (*otter_p11_pin_fn)(void *arg, const char *token, char *buf, size_t size,
                                otter_err *err);

/*
 * Finds the private key the URI names and logs in with pin (asked only when
 * the token needs a login). Caller frees *out. OTTER_EUSAGE for a bad URI, no
 * module, no such token or key, several matching keys, a wrong PIN;
 * OTTER_EIO when the module does not load or the token fails.
 */
int otter_p11_load_key(const char *uri, otter_p11_pin_fn pin, void *arg, otter_key **out,
                       otter_err *err);

#endif
