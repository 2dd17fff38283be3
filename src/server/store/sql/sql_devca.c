/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for a tenant's device CAs, their CRLs and its DDI
 * authentication mode (issue #13, otter_store_devca.h), on either engine.
 * The CA writes are quiet: a tenant whose devices present certificates is
 * never answered from the poll cache (its mode says so, and setting the
 * mode is a counted change to any device, so cached token polls of the
 * tenant go back to the store at once).
 */
#include <string.h>

#include "otter_sql.h"

static const char *const mode_names[] = {"token", "certificate", "certificate+token"};
static const char *const id_from_names[] = {"cn", "serial_number", "san_dns"};

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static int auth_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    otter_ddi_auth *a = ctx;
    int m = name_index(mode_names, 3, otter_sql_text(st, 0));
    int f = name_index(id_from_names, 3, otter_sql_text(st, 1));
    if (m < 0 || f < 0)
        return otter_err_set(err, OTTER_EFORMAT, "tenant_ddi_auth: unknown mode or id_from");
    a->mode = (otter_ddi_auth_mode)m;
    a->id_from = f;
    return 0;
}

int otter_store_ddi_auth_get(otter_store *s, int64_t tenant_id, otter_ddi_auth *out, otter_err *err)
{
    *out = (otter_ddi_auth){.mode = OTTER_DDI_AUTH_TOKEN, .id_from = 0};
    return otter_sql_read(s, "reading the DDI authentication mode", auth_row, out, err,
                          "SELECT mode, id_from FROM tenant_ddi_auth WHERE tenant_id = ?", "i",
                          tenant_id);
}

int otter_store_ddi_auth_set(otter_store *s, int64_t tenant_id, const otter_ddi_auth *a,
                             otter_err *err)
{
    if ((unsigned)a->mode > 2 || a->id_from < 0 || a->id_from > 2)
        return otter_err_set(err, OTTER_EUSAGE, "unknown DDI authentication mode");
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "setting the DDI authentication mode", NULL,
                            err,
                            "INSERT INTO tenant_ddi_auth(tenant_id, mode, id_from) VALUES (?, ?, ?)"
                            " ON CONFLICT (tenant_id) DO UPDATE SET mode = excluded.mode,"
                            " id_from = excluded.id_from",
                            "itt", tenant_id, mode_names[a->mode], id_from_names[a->id_from]);
}

int otter_store_device_ca_add(otter_store *s, int64_t tenant_id, const otter_device_ca *ca,
                              int64_t now, int64_t *id, otter_err *err)
{
    return otter_sql_write_quiet(
        s, "adding device CA", id, err,
        "INSERT INTO device_cas(tenant_id, subject, sha256, not_after, pem,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        "ittiti", tenant_id, ca->subject, ca->sha256, ca->not_after, ca->pem, now);
}

typedef OTTER_SQL_WALK(otter_device_ca, otter_store_device_ca_cb) ca_walk;

static int ca_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    ca_walk *w = ctx;
    otter_device_ca ca = {.id = otter_sql_int(st, 0),
                          .tenant_id = otter_sql_int(st, 1),
                          .subject = otter_sql_text(st, 2),
                          .sha256 = otter_sql_text(st, 3),
                          .not_after = otter_sql_int(st, 4),
                          .pem = otter_sql_text(st, 5),
                          .created_at = otter_sql_int(st, 6),
                          .crl_pem = otter_sql_text(st, 7),
                          .crl_sha256 = otter_sql_text(st, 8),
                          .crl_this_update = otter_sql_int(st, 9),
                          .crl_next_update = otter_sql_int(st, 10),
                          .crl_uploaded_at = otter_sql_int(st, 11)};
    if (!ca.subject || !ca.sha256 || !ca.pem)
        return 0;
    return w->cb(w->ctx, &ca);
}

int otter_store_device_ca_list(otter_store *s, int64_t tenant_id, int64_t ca_id,
                               otter_store_device_ca_cb cb, void *ctx, otter_err *err)
{
    ca_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing device CAs", ca_row, &w, err,
                          "SELECT id, tenant_id, subject, sha256, not_after, pem, created_at,"
                          " crl_pem, crl_sha256, crl_this_update, crl_next_update, crl_uploaded_at"
                          " FROM device_cas WHERE tenant_id = ?1 AND (?2 = 0 OR id = ?2)"
                          " ORDER BY id",
                          "ii", tenant_id, ca_id);
}

int otter_store_device_ca_delete(otter_store *s, int64_t tenant_id, int64_t id, int *found,
                                 otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(otter_sql_write_quiet(s, "deleting device CA", &n, err,
                                                      "DELETE FROM device_cas WHERE id = ? AND"
                                                      " tenant_id = ?",
                                                      "ii", id, tenant_id),
                                &n, found);
}

int otter_store_device_ca_set_crl(otter_store *s, int64_t tenant_id, int64_t id,
                                  const otter_device_ca *crl, int64_t now, int *found,
                                  otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(
        otter_sql_write_quiet(s, "setting the CRL of a device CA", &n, err,
                              "UPDATE device_cas SET crl_pem = ?, crl_sha256 = ?,"
                              " crl_this_update = ?, crl_next_update = ?, crl_uploaded_at = ?"
                              " WHERE id = ? AND tenant_id = ?",
                              "ttiiiii", crl->crl_pem, crl->crl_sha256, crl->crl_this_update,
                              crl->crl_next_update, now, id, tenant_id),
        &n, found);
}
