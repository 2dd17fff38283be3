/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's TLS client certificate on a libcurl handle, for otter-agentd
 * (DDI requests) and otter-fetch (downloads) alike. A PEM key file goes to
 * libcurl as before (CURLOPT_SSLCERT/SSLKEY). A TPM-held key
 * (otter_tpm_key_is_tpm) cannot be named to libcurl 7.88: the handle's
 * CURLOPT_SSL_CTX_FUNCTION loads it through the tpm2-openssl provider and
 * puts it with the certificate into the connection's SSL_CTX, as a key whose
 * signatures alone are the TPM's: hashing and the verification of the server
 * stay in software (otter_tpm_signer.h says why).
 */
#ifndef OTTER_TLS_CLIENT_H
#define OTTER_TLS_CLIENT_H

typedef struct otter_tls_client {
    const char *cert; /* PEM certificate (chain); NULL or "": none */
    const char *key;  /* PEM key file, TSS2 key blob or "handle:0x81..." */
    const char *tcti; /* the TPM's tpm2-tss TCTI (TPM keys only); NULL or "": default */
} otter_tls_client;

/* Sets the client certificate of curl (a CURL *). c must live as long as the
 * handle's transfers. Nothing is set when c->cert or c->key is empty. */
void otter_tls_client_apply(void *curl, const otter_tls_client *c);

#endif
