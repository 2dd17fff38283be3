/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_tls_client.h"

#include <curl/curl.h>
#include <stdio.h>

#include "otter_tpm_key.h"

/* libcurl calls this with each new connection's SSL_CTX, after its own set-up. */
static CURLcode use_tpm_key(CURL *curl, void *ssl_ctx, void *arg)
{
    (void)curl;
    const otter_tls_client *c = arg;
    otter_err err;
    if (otter_tpm_key_init(c->tcti, &err) != 0 ||
        otter_tpm_key_use(ssl_ctx, c->cert, c->key, &err) != 0) {
        /* libcurl's own message would say only "SSL certificate problem". */
        fprintf(stderr, "TLS client key: %s\n", err.msg);
        return CURLE_SSL_CERTPROBLEM;
    }
    return CURLE_OK;
}

void otter_tls_client_apply(void *curl, const otter_tls_client *c)
{
    CURL *e = curl;
    if (!c->cert || !c->cert[0] || !c->key || !c->key[0])
        return;
    if (!otter_tpm_key_is_tpm(c->key)) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
        return;
    }
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, use_tpm_key);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)c);
}
