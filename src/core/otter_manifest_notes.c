/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest_notes.h"

#include <stdlib.h>
#include <string.h>

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int otter_notes_lang_valid(const char *s)
{
    size_t len = strlen(s), i = 0, run = 0, subtags = 0;
    if (len < 2 || len > OTTER_NOTES_LANG_MAX)
        return 0;
    /* The primary language: letters only. */
    while (is_alpha(s[i]))
        i++;
    if (i < 2 || i > 8 || (s[i] && s[i] != '-'))
        return 0;
    for (; s[i]; i++) {
        if (s[i] == '-') {
            if (run == 0 && subtags > 0)
                return 0;
            if (++subtags > 3)
                return 0;
            run = 0;
            continue;
        }
        if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
        if (++run > 8)
            return 0;
    }
    return run > 0 || subtags == 0;
}

int otter_manifest_notes_add(otter_manifest_notes *n, const char *lang, const char *text,
                             size_t len, otter_err *err)
{
    if (!otter_notes_lang_valid(lang))
        return otter_err_set(err, OTTER_EFORMAT,
                             "notes: '%.40s' is not a language tag (like en, de-CH, zh-Hans-CN)",
                             lang);
    if (otter_manifest_notes_get(n, lang))
        return otter_err_set(err, OTTER_EFORMAT, "notes: %s given twice", lang);
    if (n->count == OTTER_NOTES_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "notes: more than %d languages", OTTER_NOTES_MAX);
    if (len == 0 || len > OTTER_NOTES_TEXT_MAX || memchr(text, '\0', len))
        return otter_err_set(err, OTTER_EFORMAT,
                             "notes: %s: the text must be 1..%d bytes without NUL", lang,
                             OTTER_NOTES_TEXT_MAX);
    char *copy = malloc(len + 1);
    if (!copy)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    strcpy(n->n[n->count].lang, lang);
    n->n[n->count++].text = copy;
    return 0;
}

void otter_manifest_notes_clear(otter_manifest_notes *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++)
        free(n->n[i].text);
    memset(n, 0, sizeof *n);
}

const char *otter_manifest_notes_get(const otter_manifest_notes *n, const char *lang)
{
    for (size_t i = 0; n && i < n->count; i++)
        if (strcmp(n->n[i].lang, lang) == 0)
            return n->n[i].text;
    return NULL;
}
