/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 7512 PKCS#11 URIs naming a signing key on a token, e.g.
 *   pkcs11:token=release;object=root-1;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
 * libp11's public API has no URI parser (the one in its OpenSSL engine is
 * internal), so this module parses them: strictly, every attribute at most
 * once, percent-escapes decoded, unknown attributes refused. A PIN in the URI
 * (pin-value, pin-source) is refused: the URI is a command-line argument, and
 * a PIN there lands in shell history and in ps.
 */
#ifndef OTTER_P11_URI_H
#define OTTER_P11_URI_H

#include <stddef.h>

#include "otter_err.h"

#define OTTER_P11_URI_SCHEME "pkcs11:"
#define OTTER_P11_ATTR_MAX 256
#define OTTER_P11_ID_MAX 128

typedef struct otter_p11_uri {
    /* Empty string: not given (matches anything). */
    char token[OTTER_P11_ATTR_MAX];
    char manufacturer[OTTER_P11_ATTR_MAX];
    char serial[OTTER_P11_ATTR_MAX];
    char model[OTTER_P11_ATTR_MAX];
    char object[OTTER_P11_ATTR_MAX];
    char type[OTTER_P11_ATTR_MAX];
    char module_path[OTTER_P11_ATTR_MAX];
    unsigned char id[OTTER_P11_ID_MAX];
    size_t id_len; /* 0: no id given */
} otter_p11_uri;

/* 1 when s starts with "pkcs11:" (case-insensitive, as RFC 3986 schemes are). */
int otter_p11_uri_is(const char *s);

/*
 * Parses s into *out. OTTER_EUSAGE naming the attribute for: a missing
 * scheme, an unknown or repeated attribute, a bad %-escape, a value too long,
 * a PIN in the URI, a type other than private, a module-name (only
 * module-path is supported), or no object and no id.
 */
int otter_p11_uri_parse(const char *s, otter_p11_uri *out, otter_err *err);

#endif
