/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device certificate inputs (otter_devcert.h): a proxy's certificate header,
 * an uploaded CA and an uploaded CRL, and a presented DER certificate
 * verified against a CA made of the same bytes. Any bytes give a result or
 * a clean error, never a crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otter_devcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otter_err err;
    otter_devcert_info info;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    unsigned char *der = NULL;
    size_t len = 0;
    if (otter_devcert_from_header(text, &der, &len, &err) == 0 && (!der || !len))
        __builtin_trap();
    (void)otter_devcert_ca_check(text, strlen(text), 0, &info, &err);
    const char *cas[1] = {text};
    size_t which = 9;
    if (otter_devcert_crl_check(text, strlen(text), cas, 1, &which, &info, &err) == 0 && which)
        __builtin_trap();
    char id[OTTER_DEVCERT_ID_MAX + 1], subject[OTTER_DEVCERT_SUBJECT_MAX];
    otter_devcert_anchor a = {.ca_pem = text, .crl_pem = text};
    (void)otter_devcert_verify(der ? der : data, der ? len : size, &a, 1, 0, OTTER_DEVCERT_ID_CN,
                               id, sizeof id, subject, sizeof subject, &err);
    free(der);
    free(text);
    return 0;
}
