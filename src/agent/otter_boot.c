/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_boot.h"

#include <stdlib.h>
#include <string.h>

#include "otter_boot_backend.h"

/* The only list of boot back-ends: adding one is one line here. */
static const struct otter_boot_backend *const backends[] = {
    &otter_boot_backend_file,
    &otter_boot_backend_grub,
    &otter_boot_backend_uboot,
};

struct otter_boot {
    const struct otter_boot_backend *ops;
    char *path;
};

int otter_boot_env_put(otter_boot_env *env, const char *name, size_t nlen, const char *value,
                       size_t vlen, const char *what, otter_err *err)
{
    if (nlen == 0 || nlen > OTTER_BOOT_MAX_NAME)
        return otter_err_set(err, OTTER_EFORMAT, "%s: variable name of %zu bytes (limit %d)", what,
                             nlen, OTTER_BOOT_MAX_NAME);
    if (value && vlen > OTTER_BOOT_MAX_VALUE)
        return otter_err_set(err, OTTER_EFORMAT, "%s: %.*s: value of %zu bytes (limit %d)", what,
                             (int)nlen, name, vlen, OTTER_BOOT_MAX_VALUE);
    size_t i = 0;
    while (i < env->n && (strlen(env->name[i]) != nlen || memcmp(env->name[i], name, nlen) != 0))
        i++;
    if (!value) {
        if (i < env->n) {
            free(env->name[i]);
            free(env->value[i]);
            /* Keep the order the variables had: it is how the file reads. */
            memmove(&env->name[i], &env->name[i + 1], (env->n - i - 1) * sizeof env->name[0]);
            memmove(&env->value[i], &env->value[i + 1], (env->n - i - 1) * sizeof env->value[0]);
            env->n--;
        }
        return 0;
    }
    if (i == env->n && env->n == OTTER_BOOT_MAX_VARS)
        return otter_err_set(err, OTTER_EFORMAT, "%s: more than %d variables", what,
                             OTTER_BOOT_MAX_VARS);
    char *v = strndup(value, vlen);
    if (!v)
        return otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", what);
    if (i < env->n) {
        free(env->value[i]);
        env->value[i] = v;
        return 0;
    }
    env->name[i] = strndup(name, nlen);
    if (!env->name[i]) {
        free(v);
        return otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", what);
    }
    env->value[i] = v;
    env->n++;
    return 0;
}

const char *otter_boot_env_get(const otter_boot_env *env, const char *name)
{
    for (size_t i = 0; i < env->n; i++)
        if (strcmp(env->name[i], name) == 0)
            return env->value[i];
    return NULL;
}

void otter_boot_env_clear(otter_boot_env *env)
{
    for (size_t i = 0; i < env->n; i++) {
        free(env->name[i]);
        free(env->value[i]);
    }
    env->n = 0;
}

int otter_boot_open(const char *backend, const char *path, otter_boot **out, otter_err *err)
{
    *out = NULL;
    const struct otter_boot_backend *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, backend) == 0)
            ops = backends[i];
    if (!ops)
        return otter_err_set(err, OTTER_EUSAGE, "unknown boot back-end '%s'", backend);
    otter_boot *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    b->ops = ops;
    *out = b;
    return 0;
}

void otter_boot_free(otter_boot *b)
{
    if (!b)
        return;
    free(b->path);
    free(b);
}

const char *otter_boot_backend_name(const otter_boot *b)
{
    return b->ops->name;
}

/* The env struct is large (two pointer arrays): keep it off small stacks. */
static int load(otter_boot *b, otter_boot_env **env, otter_err *err)
{
    *env = calloc(1, sizeof **env);
    if (!*env)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = b->ops->load(b->path, *env, err);
    if (ret) {
        otter_boot_env_clear(*env);
        free(*env);
        *env = NULL;
        otter_err_prefix(err, "%s boot environment", b->ops->name);
    }
    return ret;
}

static void env_free(otter_boot_env *env)
{
    if (env)
        otter_boot_env_clear(env);
    free(env);
}

int otter_boot_get(otter_boot *b, const char *name, char **value, otter_err *err)
{
    otter_boot_env *env;
    *value = NULL;
    int ret = load(b, &env, err);
    if (ret)
        return ret;
    const char *v = otter_boot_env_get(env, name);
    if (v && !(*value = strdup(v)))
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    env_free(env);
    return ret;
}

static int check_var(const otter_boot_var *v, otter_err *err)
{
    size_t n = strlen(v->name);
    if (n == 0 || n > OTTER_BOOT_MAX_NAME ||
        strspn(v->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return otter_err_set(err, OTTER_EUSAGE, "bad boot variable name '%.200s'", v->name);
    if (v->value && (strlen(v->value) > OTTER_BOOT_MAX_VALUE || strchr(v->value, '\n')))
        return otter_err_set(err, OTTER_EUSAGE, "%s: bad value (newline or too long)", v->name);
    return 0;
}

int otter_boot_set(otter_boot *b, const otter_boot_var *vars, size_t n, otter_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int ret = check_var(&vars[i], err);
        if (ret)
            return ret;
    }
    otter_boot_env *env;
    int ret = load(b, &env, err);
    if (ret)
        return ret;
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = otter_boot_env_put(env, vars[i].name, strlen(vars[i].name), vars[i].value,
                                 vars[i].value ? strlen(vars[i].value) : 0, b->path, err);
    if (ret == 0) {
        ret = b->ops->store(b->path, env, vars, n, err);
        if (ret)
            otter_err_prefix(err, "%s boot environment", b->ops->name);
    }
    env_free(env);
    return ret;
}

int otter_boot_read_vars(otter_boot *b, int default_tries, otter_bootvars *v, otter_err *err)
{
    otter_boot_env *env;
    int ret = load(b, &env, err);
    if (ret)
        return ret;
    ret = otter_bootchooser_parse(otter_boot_env_get(env, "BOOT_ORDER"),
                                  otter_boot_env_get(env, "BOOT_A_LEFT"),
                                  otter_boot_env_get(env, "BOOT_B_LEFT"), default_tries, v, err);
    if (ret)
        otter_err_prefix(err, "%s", b->path);
    env_free(env);
    return ret;
}

int otter_boot_write_vars(otter_boot *b, const otter_bootvars *v, otter_err *err)
{
    char order[8], a[4], bl[4];
    otter_bootchooser_format(v, order, a, bl);
    const otter_boot_var vars[] = {{"BOOT_ORDER", order}, {"BOOT_A_LEFT", a}, {"BOOT_B_LEFT", bl}};
    return otter_boot_set(b, vars, 3, err);
}
