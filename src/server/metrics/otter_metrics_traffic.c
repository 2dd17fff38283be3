/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact bytes by tenant (otter_metrics_traffic.h): a table of at most
 * OTTER_METRICS_TENANTS_MAX rows, looked up by name under one mutex.
 * Tenant names are otter_reqjson_name_ok() names (letters, digits, '-',
 * '_', '.'), so they need no escaping in a label; the label is escaped
 * anyway, as the exposition format says, in case the rule ever widens.
 */
#include "otter_metrics_traffic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* otter_store.h's OTTER_STORE_NAME_MAX: tenant names are at most this long. */
#define TENANT_MAX 64

struct row {
    char tenant[TENANT_MAX + 1];
    uint64_t bytes[2]; /* full, delta */
    uint64_t downloads[2];
    uint64_t full_equivalent;
};

struct otter_metrics_traffic {
    pthread_mutex_t mx;
    size_t n;
    struct row rows[OTTER_METRICS_TENANTS_MAX + 1]; /* the last: tenants beyond the bound */
};

int otter_metrics_traffic_new(otter_metrics_traffic **out, otter_err *err)
{
    otter_metrics_traffic *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    pthread_mutex_init(&t->mx, NULL);
    *out = t;
    return 0;
}

void otter_metrics_traffic_free(otter_metrics_traffic *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mx);
    free(t);
}

/* The row of tenant; a new one while there is room, else the overflow row (tenant ""). */
static struct row *row_of(otter_metrics_traffic *t, const char *tenant)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].tenant, tenant) == 0)
            return &t->rows[i];
    if (t->n == OTTER_METRICS_TENANTS_MAX || strlen(tenant) > TENANT_MAX)
        return &t->rows[OTTER_METRICS_TENANTS_MAX];
    struct row *r = &t->rows[t->n++];
    memcpy(r->tenant, tenant, strlen(tenant) + 1);
    return r;
}

void otter_metrics_traffic_add(otter_metrics_traffic *t, const char *tenant, int delta,
                               uint64_t bytes, uint64_t full_equivalent)
{
    if (!t || !tenant)
        return;
    pthread_mutex_lock(&t->mx);
    struct row *r = row_of(t, tenant);
    r->bytes[delta != 0] += bytes;
    r->downloads[delta != 0]++;
    r->full_equivalent += full_equivalent;
    pthread_mutex_unlock(&t->mx);
}

/* tenant as a label value: \ " and newline escaped (exposition format 0.0.4). */
static void label(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"' || *in == '\n')
            out[o++] = '\\';
        out[o++] = *in == '\n' ? 'n' : *in;
    }
    out[o] = '\0';
}

void otter_metrics_traffic_render(otter_metrics_traffic *t,
                                  void (*put)(void *ctx, const char *fmt, ...), void *ctx)
{
    static const char *const kinds[2] = {"full", "delta"};
    char name[2 * TENANT_MAX + 4];
    put(ctx, "# HELP otter_artifact_bytes_sent_total Artifact body bytes of DDI downloads sent in "
             "full, by tenant and kind (full package or delta).\n"
             "# TYPE otter_artifact_bytes_sent_total counter\n");
    pthread_mutex_lock(&t->mx);
    size_t n = t->n;
    int overflow = t->rows[OTTER_METRICS_TENANTS_MAX].downloads[0] +
                       t->rows[OTTER_METRICS_TENANTS_MAX].downloads[1] >
                   0;
    /* Rows are only ever appended, and each is read under the lock, so one scrape is coherent. */
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 1)
            put(ctx, "# HELP otter_artifact_downloads_total DDI artifact downloads (200 or 206) "
                     "sent in full, by tenant and kind.\n"
                     "# TYPE otter_artifact_downloads_total counter\n");
        if (pass == 2)
            put(ctx, "# HELP otter_artifact_bytes_full_equivalent_total The bytes the full "
                     "package would have cost for the same downloads, by tenant.\n"
                     "# TYPE otter_artifact_bytes_full_equivalent_total counter\n");
        for (size_t i = 0; i < n + (size_t)overflow; i++) {
            const struct row *r = &t->rows[i < n ? i : OTTER_METRICS_TENANTS_MAX];
            label(r->tenant, name, sizeof name);
            for (int k = 0; pass < 2 && k < 2; k++)
                put(ctx, "otter_artifact_%s_total{tenant=\"%s\",kind=\"%s\"} %llu\n",
                    pass ? "downloads" : "bytes_sent", name, kinds[k],
                    (unsigned long long)(pass ? r->downloads[k] : r->bytes[k]));
            if (pass == 2)
                put(ctx, "otter_artifact_bytes_full_equivalent_total{tenant=\"%s\"} %llu\n", name,
                    (unsigned long long)r->full_equivalent);
        }
    }
    pthread_mutex_unlock(&t->mx);
}
