/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ui_sess.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static int random_hex(char out[OTTER_UI_TOKEN_LEN + 1])
{
    unsigned char b[OTTER_UI_TOKEN_LEN / 2];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = "0123456789abcdef"[b[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    out[OTTER_UI_TOKEN_LEN] = '\0';
    return 0;
}

static int token_eq(const char *want, const char *got)
{
    return got && strlen(got) == OTTER_UI_TOKEN_LEN && want[0] &&
           CRYPTO_memcmp(want, got, OTTER_UI_TOKEN_LEN) == 0;
}

otter_ui_session *otter_ui_sess_find(otter_ui_sessions *ss, const char *token, time_t now)
{
    for (int i = 0; i < OTTER_UI_SESSIONS; i++) {
        otter_ui_session *s = &ss->s[i];
        if (s->cookie[0] && now - s->used > OTTER_UI_IDLE)
            otter_ui_sess_drop(s);
        else if (token_eq(s->cookie, token)) {
            s->used = now;
            return s;
        }
    }
    return NULL;
}

static int password_ok(const char *hash, const char *password)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return 0;
    int ok = crypt_rn(password, hash, cd, sizeof *cd) && cd->output[0] != '*' &&
             strlen(cd->output) == strlen(hash) &&
             CRYPTO_memcmp(cd->output, hash, strlen(hash)) == 0;
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

otter_ui_session *otter_ui_sess_login(otter_ui_sessions *ss, const char *hash, const char *password,
                                      time_t now, int *why)
{
    /* After OTTER_UI_FAIL_FREE failures, each try waits out the lock-out of the
       last failure, right password or not: a guesser learns nothing meanwhile. */
    if (ss->failures >= OTTER_UI_FAIL_FREE && now - ss->last_fail < OTTER_UI_FAIL_LOCK) {
        *why = 429;
        return NULL;
    }
    if (!password_ok(hash, password)) {
        ss->failures++;
        ss->last_fail = now;
        *why = 401;
        return NULL;
    }
    ss->failures = 0;
    otter_ui_session *slot = &ss->s[0];
    for (int i = 0; i < OTTER_UI_SESSIONS; i++) /* a free slot, else the least recently used */
        if (!ss->s[i].cookie[0] || ss->s[i].used < slot->used)
            slot = &ss->s[i];
    if (random_hex(slot->cookie) || random_hex(slot->csrf)) {
        otter_ui_sess_drop(slot);
        *why = 500;
        return NULL;
    }
    slot->used = now;
    return slot;
}

void otter_ui_sess_drop(otter_ui_session *s)
{
    explicit_bzero(s, sizeof *s);
}

int otter_ui_sess_csrf_ok(const otter_ui_session *s, const char *a)
{
    return token_eq(s->csrf, a);
}
