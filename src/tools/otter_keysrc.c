/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_keysrc.h"
#include "otter_file.h"
#include "otter_p11.h"
#include "otter_p11_uri.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* A PIN or passphrase file is one line; anything larger is the wrong file. */
#define SECRET_FILE_MAX 1024

void otter_keysrc_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

int otter_keysrc_option(otter_keysrc *src, int c, const char *arg)
{
    if (c == OTTER_KEYSRC_OPT_PIN_FILE)
        src->pin_file = arg;
    else if (c == OTTER_KEYSRC_OPT_PASS_FILE)
        src->pass_file = arg;
    else
        return 0;
    return 1;
}

/* The first line of path (without its newline) into buf; its length or a negative code. */
static int secret_from_file(const char *path, const char *what, char *buf, size_t size,
                            otter_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, SECRET_FILE_MAX, &data, &len, err);
    if (ret)
        return otter_err_prefix(err, "%s file", what);
    size_t file_len = len;
    char *nl = memchr(data, '\n', len);
    if (nl)
        len = (size_t)(nl - data);
    if (len > 0 && data[len - 1] == '\r')
        len--;
    if (len == 0)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: empty %s file", path, what);
    else if (len > size)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: %s longer than %zu bytes", path, what, size);
    else
        memcpy(buf, data, len);
    OPENSSL_cleanse(data, file_len);
    free(data);
    return ret ? ret : (int)len;
}

/* The terminal settings to put back if a signal (Ctrl-C) ends us at the prompt. */
static volatile sig_atomic_t guarded_fd = -1;
static struct termios guarded_tty;
static const int guarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction saved_actions[sizeof guarded_signals / sizeof guarded_signals[0]];

static void restore_tty_and_die(int sig)
{
    if (guarded_fd >= 0)
        tcsetattr(guarded_fd, TCSAFLUSH, &guarded_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* on: echo is about to go off on fd (old: the settings to restore); off: it is back. */
static void guard_signals(int fd, const struct termios *old, int on)
{
    size_t n = sizeof guarded_signals / sizeof guarded_signals[0];
    if (on) {
        guarded_tty = *old;
        guarded_fd = fd;
        struct sigaction sa = {.sa_handler = restore_tty_and_die};
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < n; i++) {
            sigaction(guarded_signals[i], &sa, &saved_actions[i]);
            /* A signal the caller ignores (nohup) stays ignored. */
            if (saved_actions[i].sa_handler == SIG_IGN)
                sigaction(guarded_signals[i], &saved_actions[i], NULL);
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        sigaction(guarded_signals[i], &saved_actions[i], NULL);
    guarded_fd = -1;
}

/* Reads one line from the terminal with echo off; its length or a negative code. */
static int secret_from_tty(const char *prompt, const char *option, char *buf, size_t size,
                           otter_err *err)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_set(err, OTTER_EUSAGE, "no terminal to ask on: give %s", option);
    struct termios old, quiet;
    int have_tty = tcgetattr(fd, &old) == 0;
    if (have_tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        guard_signals(fd, &old, 1);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    dprintf(fd, "%s: ", prompt);
    size_t len = 0;
    int ret = 0;
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == '\n' || c == '\r')
            break;
        if (len == size) {
            ret = otter_err_set(err, OTTER_EUSAGE, "%s: longer than %zu bytes", prompt, size);
            break;
        }
        buf[len++] = c;
    }
    if (have_tty) {
        tcsetattr(fd, TCSAFLUSH, &old);
        guard_signals(fd, &old, 0);
    }
    dprintf(fd, "\n");
    close(fd);
    if (!ret && len == 0)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: nothing typed", prompt);
    return ret ? ret : (int)len;
}

/* The PIN for a token: --pin-file, else the prompt. */
static int token_pin(void *arg, const char *token, char *buf, size_t size, otter_err *err)
{
    const otter_keysrc *src = arg;
    if (src->pin_file)
        return secret_from_file(src->pin_file, "PIN", buf, size, err);
    char prompt[320];
    snprintf(prompt, sizeof prompt, "PIN for token \"%s\"", token);
    return secret_from_tty(prompt, "--pin-file", buf, size, err);
}

/* What the passphrase callback gets: the options and the key file's name. */
typedef struct pass_arg {
    const otter_keysrc *src;
    const char *path;
} pass_arg;

static int key_passphrase(void *arg, char *buf, size_t size, otter_err *err)
{
    const pass_arg *pa = arg;
    if (pa->src->pass_file)
        return secret_from_file(pa->src->pass_file, "passphrase", buf, size, err);
    char prompt[4200];
    snprintf(prompt, sizeof prompt, "Passphrase for %s", pa->path);
    return secret_from_tty(prompt, "--passphrase-file", buf, size, err);
}

int otter_keysrc_load(const otter_keysrc *src, const char *spec, otter_key **out, otter_err *err)
{
    if (otter_p11_uri_is(spec)) {
        int ret = otter_p11_load_key(spec, token_pin, (void *)src, out, err);
        /* The URI names the key in the error; a URI never holds a PIN (refused above). */
        return ret ? otter_err_prefix(err, "%s", spec) : 0;
    }
    pass_arg pa = {src, spec};
    return otter_key_load_private_file_pass(spec, key_passphrase, &pa, out, err);
}

int otter_keysrc_new_passphrase(const char *pass_file, const char *what, char *buf, size_t size,
                                otter_err *err)
{
    if (pass_file)
        return secret_from_file(pass_file, "passphrase", buf, size, err);
    char prompt[4200], again[1024];
    snprintf(prompt, sizeof prompt, "New passphrase for %s", what);
    int n = secret_from_tty(prompt, "--passphrase-file", buf, size, err);
    if (n < 0)
        return n;
    int m = secret_from_tty("The same passphrase again", "--passphrase-file", again,
                            sizeof again < size ? sizeof again : size, err);
    int same = m == n && memcmp(buf, again, (size_t)n) == 0;
    OPENSSL_cleanse(again, sizeof again);
    if (m < 0)
        return m;
    return same ? n : otter_err_set(err, OTTER_EUSAGE, "the two passphrases differ");
}
