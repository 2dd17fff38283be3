/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the release tool's signing keys come from, for every command that
 * signs (pack, sign, root sign, delta): a PEM file, plain or encrypted PKCS#8
 * (passphrase from --passphrase-file or a no-echo prompt on the terminal), or
 * a PKCS#11 URI (PIN from --pin-file or a no-echo prompt). A PIN or a
 * passphrase is never taken from the command line.
 */
#ifndef OTTER_KEYSRC_H
#define OTTER_KEYSRC_H

#include <getopt.h>
#include <stddef.h>

#include "otter_err.h"
#include "otter_key.h"

typedef struct otter_keysrc {
    const char *pin_file;  /* NULL: prompt on the terminal */
    const char *pass_file; /* NULL: prompt on the terminal */
} otter_keysrc;

/* getopt_long values of the two options, outside the range of short options. */
enum { OTTER_KEYSRC_OPT_PIN_FILE = 0x1001, OTTER_KEYSRC_OPT_PASS_FILE = 0x1002 };

/* The two options' table entries, for a command's struct option list. */
#define OTTER_KEYSRC_OPTIONS                                                                       \
    {"pin-file", required_argument, NULL, OTTER_KEYSRC_OPT_PIN_FILE},                              \
    {                                                                                              \
        "passphrase-file", required_argument, NULL, OTTER_KEYSRC_OPT_PASS_FILE                     \
    }

/* Takes c (a getopt_long value) when it is one of the two options: 1 taken, 0 not ours. */
int otter_keysrc_option(otter_keysrc *src, int c, const char *arg);

/*
 * Loads the private key spec names: "pkcs11:..." is a key on a token, anything
 * else a PEM file. Caller frees *out. Errors name the key and say why.
 */
int otter_keysrc_load(const otter_keysrc *src, const char *spec, otter_key **out, otter_err *err);

/*
 * A new passphrase for an encrypted key file: from pass_file, or typed twice
 * at the prompt. Writes at most size bytes to buf; their count, or a negative
 * otter code (no terminal, empty, the two differ).
 */
int otter_keysrc_new_passphrase(const char *pass_file, const char *what, char *buf, size_t size,
                                otter_err *err);

/* Overwrites n bytes at p (a PIN or passphrase) so the compiler cannot drop it. */
void otter_keysrc_wipe(void *p, size_t n);

#endif
