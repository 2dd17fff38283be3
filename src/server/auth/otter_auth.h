/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets of the management API: password hashing (libxcrypt yescrypt) and
 * bearer tokens (32 random bytes from OpenSSL, only their SHA-256 is ever
 * stored, so a leaked database does not hand out sessions).
 */
#ifndef OTTER_AUTH_H
#define OTTER_AUTH_H

#include <stddef.h>

#include "otter_err.h"

/* Passwords outside these bounds are refused before hashing (cost is per byte). */
#define OTTER_AUTH_PASSWORD_MIN 8
#define OTTER_AUTH_PASSWORD_MAX 1024

/* A token is "<prefix>_" + 64 hex digits; prefixes tell sessions from API tokens. */
#define OTTER_AUTH_TOKEN_PREFIX_SESSION "ots"
#define OTTER_AUTH_TOKEN_PREFIX_API "ota"
#define OTTER_AUTH_TOKEN_PREFIX_TICKET "otk" /* event-stream tickets (?ticket=) */
#define OTTER_AUTH_TOKEN_MAX 80              /* bytes including NUL */
#define OTTER_AUTH_SHA256_HEX 65             /* 64 hex digits + NUL */

/* OTTER_EFORMAT when password is shorter/longer than the bounds above. */
int otter_auth_password_policy(const char *password, otter_err *err);

/*
 * Hashes password with a fresh yescrypt salt; *hash is a new string
 * ("$y$...") the caller frees. OTTER_EFORMAT for a password outside policy,
 * OTTER_EIO when libxcrypt fails.
 */
int otter_auth_password_hash(const char *password, char **hash, otter_err *err);

/*
 * Sets *match to 1 when password hashes to stored (compared in constant
 * time), else 0. A NULL or malformed stored hash is a mismatch, after the
 * same amount of work, so unknown user names are not told apart by timing.
 */
int otter_auth_password_verify(const char *password, const char *stored, int *match,
                               otter_err *err);

/*
 * Makes a new random token "<prefix>_<64 hex>" into token (cap >=
 * OTTER_AUTH_TOKEN_MAX) and its SHA-256 hex into sha. OTTER_EIO when the
 * random generator fails.
 */
int otter_auth_token_new(const char *prefix, char *token, size_t cap,
                         char sha[OTTER_AUTH_SHA256_HEX], otter_err *err);

/* SHA-256 hex of token (what the store keeps and looks up). */
void otter_auth_token_hash(const char *token, char sha[OTTER_AUTH_SHA256_HEX]);

/* The same SHA-256 as 32 raw bytes (the poll cache key); OTTER_EIO if libcrypto fails. */
int otter_auth_token_digest(const char *token, unsigned char md[32]);

/* A random 24-character password for the first admin (cap >= 25). */
int otter_auth_password_generate(char *out, size_t cap, otter_err *err);

#endif
