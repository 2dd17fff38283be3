/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_tpm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

struct otter_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
};

/* The TPM's own response code without the layer and the handle/parameter number. */
static TSS2_RC rc_base(TSS2_RC rc)
{
    rc &= 0xffff;
    if (rc & TPM2_RC_FMT1)
        rc &= TPM2_RC_FMT1 | 0x3f;
    return rc;
}

static int tss_fail(TSS2_RC rc, const char *what, uint32_t index, otter_err *err)
{
    return otter_err_set(err, OTTER_EIO, "TPM %s (index 0x%08" PRIx32 "): %s", what, index,
                         Tss2_RC_Decode(rc));
}

int otter_tpm_open(const char *tcti, otter_tpm **out, otter_err *err)
{
    *out = NULL;
    otter_tpm *t = calloc(1, sizeof *t);
    if (!t)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* tpm2-tss logs to stderr what we report anyway (an absent index is a normal
     * answer at provisioning); TSS2_LOG set by the user still wins. */
    setenv("TSS2_LOG", "all+NONE", 0);
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Initialize(&t->esys, t->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        otter_tpm_free(t);
        return otter_err_set(err, OTTER_EIO, "TPM at '%s': %s", tcti, Tss2_RC_Decode(rc));
    }
    *out = t;
    return 0;
}

void otter_tpm_free(otter_tpm *t)
{
    if (!t)
        return;
    if (t->esys)
        Esys_Finalize(&t->esys);
    if (t->tcti)
        Tss2_TctiLdr_Finalize(&t->tcti);
    free(t);
}

/* The index's ESYS handle after checking it is what we define: an 8-byte counter,
 * written at least once. *absent: it does not exist (nothing else is set). */
static int open_counter(otter_tpm *t, uint32_t index, ESYS_TR *nv, int *absent, int *written,
                        otter_err *err)
{
    *absent = 0;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nv);
    if (rc_base(rc) == TPM2_RC_HANDLE) {
        *absent = 1;
        return 0;
    }
    if (rc != TSS2_RC_SUCCESS)
        return tss_fail(rc, "cannot open", index, err);
    TPM2B_NV_PUBLIC *pub = NULL;
    rc = Esys_NV_ReadPublic(t->esys, *nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Esys_TR_Close(t->esys, nv);
        return tss_fail(rc, "cannot read the public area", index, err);
    }
    TPMA_NV a = pub->nvPublic.attributes;
    int kind = (int)((a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT);
    int size = pub->nvPublic.dataSize;
    Esys_Free(pub);
    *written = (a & TPMA_NV_WRITTEN) != 0;
    if (kind != TPM2_NT_COUNTER || size != 8) {
        Esys_TR_Close(t->esys, nv);
        return otter_err_set(err, OTTER_EFORMAT,
                             "TPM NV index 0x%08" PRIx32 " is not a counter (type %d, %d bytes):"
                             " not taken as the rollback counter",
                             index, kind, size);
    }
    return 0;
}

static int not_provisioned(uint32_t index, otter_err *err)
{
    return otter_err_set(err, OTTER_ESTATE,
                         "TPM NV counter 0x%08" PRIx32
                         " is not provisioned: run 'otter-agent tpm provision'",
                         index);
}

static int read_open(otter_tpm *t, uint32_t index, ESYS_TR nv, uint64_t *value, otter_err *err)
{
    TPM2B_MAX_NV_BUFFER *data = NULL;
    TSS2_RC rc =
        Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &data);
    if (rc != TSS2_RC_SUCCESS)
        return tss_fail(rc, "cannot read the counter", index, err);
    uint64_t v = 0;
    for (int i = 0; i < 8 && i < data->size; i++)
        v = v << 8 | data->buffer[i]; /* TPM byte order: big-endian */
    int short_read = data->size != 8;
    Esys_Free(data);
    if (short_read)
        return otter_err_set(err, OTTER_EFORMAT, "TPM NV counter 0x%08" PRIx32 ": short read",
                             index);
    *value = v;
    return 0;
}

int otter_tpm_counter_read(otter_tpm *t, uint32_t index, uint64_t *value, otter_err *err)
{
    ESYS_TR nv;
    int absent, written = 0;
    int ret = open_counter(t, index, &nv, &absent, &written, err);
    if (ret)
        return ret;
    if (absent)
        return not_provisioned(index, err);
    ret = written ? read_open(t, index, nv, value, err) : not_provisioned(index, err);
    Esys_TR_Close(t->esys, &nv);
    return ret;
}

static int increment_open(otter_tpm *t, uint32_t index, ESYS_TR nv, otter_err *err)
{
    TSS2_RC rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    return rc == TSS2_RC_SUCCESS ? 0 : tss_fail(rc, "cannot increment the counter", index, err);
}

int otter_tpm_counter_increment(otter_tpm *t, uint32_t index, otter_err *err)
{
    ESYS_TR nv;
    int absent, written = 0;
    int ret = open_counter(t, index, &nv, &absent, &written, err);
    if (ret)
        return ret;
    if (absent || !written)
        ret = not_provisioned(index, err);
    else
        ret = increment_open(t, index, nv, err);
    if (!absent)
        Esys_TR_Close(t->esys, &nv);
    return ret;
}

/* Anyone with the TPM may read and increment (empty authorization): an increment
 * can only refuse more, never accept older. Not orderly: each increment is in NV
 * at once, a power cut cannot lose it. */
static int define_counter(otter_tpm *t, uint32_t index, ESYS_TR *nv, otter_err *err)
{
    TPM2B_AUTH auth = {.size = 0};
    TPM2B_NV_PUBLIC pub = {.nvPublic = {
                               .nvIndex = index,
                               .nameAlg = TPM2_ALG_SHA256,
                               .attributes = (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) |
                                             TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD |
                                             TPMA_NV_OWNERREAD | TPMA_NV_NO_DA,
                               .authPolicy = {.size = 0},
                               .dataSize = 8,
                           }};
    TSS2_RC rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &auth, &pub, nv);
    return rc == TSS2_RC_SUCCESS ? 0 : tss_fail(rc, "cannot define the counter", index, err);
}

int otter_tpm_counter_provision(otter_tpm *t, uint32_t index, uint64_t *value, otter_err *err)
{
    ESYS_TR nv;
    int absent, written = 0;
    int ret = open_counter(t, index, &nv, &absent, &written, err);
    if (ret)
        return ret;
    if (absent && (ret = define_counter(t, index, &nv, err)) != 0)
        return ret;
    if (!written)
        ret = increment_open(t, index, nv, err);
    if (!ret)
        ret = read_open(t, index, nv, value, err);
    Esys_TR_Close(t->esys, &nv);
    return ret;
}

/* The storage primary key: the TCG "SRK" ECC template (the same key each time from
 * the owner seed), only to create the device key under it. */
static const TPM2B_PUBLIC srk_template = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA,
        .parameters.eccDetail = {.symmetric = {.algorithm = TPM2_ALG_AES,
                                               .keyBits.aes = 128,
                                               .mode.aes = TPM2_ALG_CFB},
                                 .scheme = {.scheme = TPM2_ALG_NULL},
                                 .curveID = TPM2_ECC_NIST_P256,
                                 .kdf = {.scheme = TPM2_ALG_NULL}},
    }};

/* The device key: ECDSA P-256 for signing only, created in the TPM (sensitive data
 * origin), bound to it (fixedTPM: it cannot be duplicated out). */
static const TPM2B_PUBLIC key_template = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA,
        .parameters.eccDetail = {.symmetric = {.algorithm = TPM2_ALG_NULL},
                                 .scheme = {.scheme = TPM2_ALG_NULL},
                                 .curveID = TPM2_ECC_NIST_P256,
                                 .kdf = {.scheme = TPM2_ALG_NULL}},
    }};

/* The device's decryption key: RSA-3072, decrypt only (not restricted, no fixed scheme:
 * the caller picks OAEP-SHA256), created in the TPM and bound to it like the TLS key. */
static const TPM2B_PUBLIC crypt_template = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA,
        .parameters.rsaDetail = {.symmetric = {.algorithm = TPM2_ALG_NULL},
                                 .scheme = {.scheme = TPM2_ALG_NULL},
                                 .keyBits = 3072,
                                 .exponent = 0},
    }};

/* Creates a key from template under the storage primary key, persistent at handle. */
static int persist(otter_tpm *t, uint32_t handle, const TPM2B_PUBLIC *template, otter_err *err)
{
    ESYS_TR primary = ESYS_TR_NONE, key = ESYS_TR_NONE, persist = ESYS_TR_NONE;
    TPM2B_SENSITIVE_CREATE sens = {.size = 0};
    TPM2B_DATA outside = {.size = 0};
    TPML_PCR_SELECTION pcrs = {.count = 0};
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &persist);
    if (rc == TSS2_RC_SUCCESS) {
        Esys_TR_Close(t->esys, &persist);
        return otter_err_set(err, OTTER_ESTATE,
                             "TPM handle 0x%08" PRIx32 " holds a key already: a device key is "
                             "not replaced (tpm2_evictcontrol it first to make a new identity)",
                             handle);
    }
    const char *what = "cannot create the storage primary key";
    rc =
        Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sens, &srk_template, &outside, &pcrs, &primary, NULL, NULL, NULL, NULL);
    if (rc == TSS2_RC_SUCCESS && (what = "cannot create the key") != NULL)
        rc = Esys_Create(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                         template, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
    if (rc == TSS2_RC_SUCCESS && (what = "cannot load the key") != NULL)
        rc = Esys_Load(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub,
                       &key);
    if (rc == TSS2_RC_SUCCESS && (what = "cannot make the key persistent") != NULL)
        rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, handle, &persist);
    /* Without a resource manager (swtpm, small TPMs) nothing else frees the slots. */
    if (key != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, key);
    if (primary != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, primary);
    if (persist != ESYS_TR_NONE)
        Esys_TR_Close(t->esys, &persist);
    Esys_Free(priv);
    Esys_Free(pub);
    return rc == TSS2_RC_SUCCESS ? 0 : tss_fail(rc, what, handle, err);
}

int otter_tpm_key_persist(otter_tpm *t, uint32_t handle, otter_err *err)
{
    return persist(t, handle, &key_template, err);
}

int otter_tpm_crypt_key_persist(otter_tpm *t, uint32_t handle, otter_err *err)
{
    return persist(t, handle, &crypt_template, err);
}

int otter_tpm_rsa_public(otter_tpm *t, uint32_t handle, uint8_t *n, size_t *n_len,
                         uint32_t *exponent, otter_err *err)
{
    ESYS_TR obj = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &obj);
    if (rc != TSS2_RC_SUCCESS)
        return tss_fail(rc, "no key at the handle", handle, err);
    rc = Esys_ReadPublic(t->esys, obj, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
    Esys_TR_Close(t->esys, &obj);
    if (rc != TSS2_RC_SUCCESS)
        return tss_fail(rc, "cannot read the public area", handle, err);
    const TPMT_PUBLIC *p = &pub->publicArea;
    int ret = 0;
    if (p->type != TPM2_ALG_RSA || !(p->objectAttributes & TPMA_OBJECT_DECRYPT) ||
        (p->objectAttributes & TPMA_OBJECT_RESTRICTED) || p->unique.rsa.size > *n_len)
        ret = otter_err_set(err, OTTER_EUSAGE,
                            "TPM handle 0x%08" PRIx32 ": not an RSA decryption key (TPM 2.0 has "
                            "no X25519; make one with otter-agent tpm crypt-key create)",
                            handle);
    if (!ret) {
        memcpy(n, p->unique.rsa.buffer, p->unique.rsa.size);
        *n_len = p->unique.rsa.size;
        *exponent = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
    }
    Esys_Free(pub);
    return ret;
}

int otter_tpm_rsa_oaep_decrypt(otter_tpm *t, uint32_t handle, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t *out_len, otter_err *err)
{
    TPM2B_PUBLIC_KEY_RSA cipher = {.size = (UINT16)in_len};
    TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_OAEP, .details.oaep.hashAlg = TPM2_ALG_SHA256};
    TPM2B_DATA label = {.size = 0};
    TPM2B_PUBLIC_KEY_RSA *msg = NULL;
    ESYS_TR obj = ESYS_TR_NONE;
    if (in_len > sizeof cipher.buffer)
        return otter_err_set(err, OTTER_EFORMAT, "wrapped key of %zu bytes: too long", in_len);
    memcpy(cipher.buffer, in, in_len);
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &obj);
    if (rc != TSS2_RC_SUCCESS)
        return tss_fail(rc, "no key at the handle", handle, err);
    rc = Esys_RSA_Decrypt(t->esys, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &cipher,
                          &scheme, &label, &msg);
    Esys_TR_Close(t->esys, &obj);
    int ret = 0;
    if (rc != TSS2_RC_SUCCESS)
        ret = otter_err_set(err, OTTER_ESIG,
                            "TPM RSA-OAEP-SHA256 decryption (handle 0x%08" PRIx32 "): %s", handle,
                            Tss2_RC_Decode(rc));
    else if (msg->size > *out_len)
        ret = otter_err_set(err, OTTER_EFORMAT, "decrypted key of %u bytes: too long", msg->size);
    else {
        memcpy(out, msg->buffer, msg->size);
        *out_len = msg->size;
    }
    if (msg)
        memset(msg->buffer, 0, sizeof msg->buffer); /* the content key, in tpm2-tss's buffer */
    Esys_Free(msg);
    return ret;
}
