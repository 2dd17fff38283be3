/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Why libp11's PKCS11_* API and not its OpenSSL engine: the ENGINE API is
 * deprecated in OpenSSL 3, the engine prints its own errors to stderr and
 * tells neither a wrong PIN nor a missing key apart in its return value, and
 * it reads the PIN from the URI (on the command line). With the API each step
 * (module, token, login, key) fails with its own message here.
 */
#include "otter_p11.h"
#include "otter_p11_uri.h"

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

/* PKCS#11 return values (pkcs11.h) that libp11 leaves as the error reason. */
#define P11_CKR_PIN_INCORRECT 0xA0UL
#define P11_CKR_PIN_LEN_RANGE 0xA2UL
#define P11_CKR_PIN_LOCKED 0xA4UL

/* What the returned key keeps alive: the module, its slots, the session. */
typedef struct p11_session {
    PKCS11_CTX *ctx;
    PKCS11_SLOT *slots;
    unsigned nslots;
    int loaded;
} p11_session;

static void session_free(void *arg)
{
    p11_session *s = arg;
    if (!s)
        return;
    if (s->slots)
        PKCS11_release_all_slots(s->ctx, s->slots, s->nslots);
    if (s->loaded)
        PKCS11_CTX_unload(s->ctx);
    if (s->ctx)
        PKCS11_CTX_free(s->ctx);
    free(s);
}

/* The last OpenSSL/libp11 error as text, and the queue cleared. */
static unsigned long last_error(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    snprintf(buf, size, "no detail");
    if (e)
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return e;
}

static int field_matches(const char *want, const char *have)
{
    if (!want[0])
        return 1;
    if (!have)
        return 0;
    /* Token fields are blank-padded to a fixed width in PKCS#11; libp11 trims them. */
    return strcmp(want, have) == 0;
}

static PKCS11_SLOT *find_token(const p11_session *s, const otter_p11_uri *u, otter_err *err)
{
    PKCS11_SLOT *found = NULL;
    size_t matches = 0;
    for (unsigned i = 0; i < s->nslots; i++) {
        PKCS11_TOKEN *t = s->slots[i].token;
        if (!t || !t->initialized)
            continue;
        if (field_matches(u->token, t->label) && field_matches(u->serial, t->serialnr) &&
            field_matches(u->manufacturer, t->manufacturer) && field_matches(u->model, t->model)) {
            found = &s->slots[i];
            matches++;
        }
    }
    if (matches == 1)
        return found;
    if (matches)
        otter_err_set(err, OTTER_EUSAGE, "%zu tokens match token=\"%s\" (add serial= to the URI)",
                      matches, u->token);
    else
        otter_err_set(err, OTTER_EUSAGE, "no token with token=\"%s\" in the module", u->token);
    return NULL;
}

static int login(PKCS11_SLOT *slot, otter_p11_pin_fn pin, void *arg, otter_err *err)
{
    PKCS11_TOKEN *t = slot->token;
    int logged_in = 0;
    if (!t->loginRequired || (PKCS11_is_logged_in(slot, 0, &logged_in) == 0 && logged_in))
        return 0;
    char buf[256];
    int n = pin ? pin(arg, t->label, buf, sizeof buf - 1, err)
                : otter_err_set(err, OTTER_EUSAGE, "token \"%s\" needs a PIN", t->label);
    if (n < 0)
        return n;
    buf[n] = '\0';
    int rc = PKCS11_login(slot, 0, buf);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc == 0)
        return 0;
    char why[256];
    unsigned long reason = ERR_GET_REASON(last_error(why, sizeof why));
    if (reason == P11_CKR_PIN_INCORRECT || reason == P11_CKR_PIN_LEN_RANGE)
        return otter_err_set(err, OTTER_EUSAGE, "token \"%s\": wrong PIN (login refused)",
                             t->label);
    if (reason == P11_CKR_PIN_LOCKED)
        return otter_err_set(err, OTTER_EUSAGE, "token \"%s\": PIN locked (too many wrong PINs)",
                             t->label);
    return otter_err_set(err, OTTER_EIO, "token \"%s\": login failed (%s)", t->label, why);
}

static int key_matches(const PKCS11_KEY *k, const otter_p11_uri *u)
{
    if (u->object[0] && (!k->label || strcmp(k->label, u->object) != 0))
        return 0;
    return u->id_len == 0 || (k->id_len == u->id_len && memcmp(k->id, u->id, u->id_len) == 0);
}

/* The one private key on the token that the URI names. */
static int find_key(PKCS11_TOKEN *t, const otter_p11_uri *u, PKCS11_KEY **out, otter_err *err)
{
    PKCS11_KEY *keys = NULL;
    unsigned n = 0;
    if (PKCS11_enumerate_keys(t, &keys, &n) != 0) {
        char why[256];
        last_error(why, sizeof why);
        /* Measured on Debian 12: libp11 0.4.12 fails to list any key on a token that holds an
           Ed25519 (CKK_EC_EDWARDS) key. */
        return otter_err_set(err, OTTER_EIO,
                             "token \"%s\": cannot list the private keys (%s); libp11 0.4.12 "
                             "cannot read a token that holds an Ed25519 key (see docs/keys.md)",
                             t->label, why);
    }
    size_t matches = 0;
    for (unsigned i = 0; i < n; i++)
        if (key_matches(&keys[i], u)) {
            *out = &keys[i];
            matches++;
        }
    if (matches == 1)
        return 0;
    const char *object = u->object[0] ? u->object : "(any)";
    if (matches)
        return otter_err_set(err, OTTER_EUSAGE,
                             "token \"%s\": %zu private keys match object=\"%s\" (add id=)",
                             t->label, matches, object);
    return otter_err_set(err, OTTER_EUSAGE, "token \"%s\": no private key with object=\"%s\"%s",
                         t->label, object, u->id_len ? " and that id" : "");
}

/* Loads the module and lists its slots into s. */
static int open_module(p11_session *s, const otter_p11_uri *u, otter_err *err)
{
    const char *module = u->module_path[0] ? u->module_path : getenv("PKCS11_MODULE_PATH");
    if (!module || !module[0])
        return otter_err_set(err, OTTER_EUSAGE,
                             "no PKCS#11 module: add ?module-path=/path/to/module.so to the URI "
                             "or set PKCS11_MODULE_PATH");
    char why[256];
    s->ctx = PKCS11_CTX_new();
    if (!s->ctx)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (PKCS11_CTX_load(s->ctx, module) != 0) {
        last_error(why, sizeof why);
        return otter_err_set(err, OTTER_EIO, "PKCS#11 module %s does not load (%s)", module, why);
    }
    s->loaded = 1;
    if (PKCS11_enumerate_slots(s->ctx, &s->slots, &s->nslots) != 0) {
        s->slots = NULL;
        last_error(why, sizeof why);
        return otter_err_set(err, OTTER_EIO, "PKCS#11 module %s: cannot list slots (%s)", module,
                             why);
    }
    return 0;
}

int otter_p11_load_key(const char *uri, otter_p11_pin_fn pin, void *arg, otter_key **out,
                       otter_err *err)
{
    otter_p11_uri u;
    int ret = otter_p11_uri_parse(uri, &u, err);
    if (ret)
        return ret;
    p11_session *s = calloc(1, sizeof *s);
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    ret = open_module(s, &u, err);
    PKCS11_SLOT *slot = ret ? NULL : find_token(s, &u, err);
    PKCS11_KEY *key = NULL;
    if (!ret && !slot)
        ret = err ? err->code : OTTER_EUSAGE;
    if (!ret)
        ret = login(slot, pin, arg, err);
    if (!ret)
        ret = find_key(slot->token, &u, &key, err);
    EVP_PKEY *pkey = ret ? NULL : PKCS11_get_private_key(key);
    if (!ret && !pkey) {
        char why[256];
        last_error(why, sizeof why);
        ret = otter_err_set(err, OTTER_EIO, "token \"%s\": cannot use key \"%s\" (%s)",
                            slot->token->label, key->label ? key->label : "", why);
    }
    if (ret) {
        session_free(s);
        return ret;
    }
    /* Takes pkey and s: the session lives as long as the key. */
    return otter_key_from_private_pkey(pkey, session_free, s, out, err);
}
