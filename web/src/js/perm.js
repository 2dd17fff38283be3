// SPDX-License-Identifier: Apache-2.0
// What the dashboard shows to whom. Only presentation: the server checks
// every request again (see docs/server.md, "Users, tenants and roles").

export const ROLES = ['viewer', 'operator', 'approver', 'publisher', 'admin'];

/** The caller's role in tenant from GET /me, or null. */
export function roleIn(me, tenant) {
  const m = (me?.memberships || []).find((x) => x.tenant === tenant);
  return m ? m.role : null;
}

/** What the signed-in user may do in tenant (null: no tenant chosen). */
export function capabilities(me, tenant) {
  const globalAdmin = Boolean(me?.is_admin);
  const role = tenant ? roleIn(me, tenant) : null;
  const tenantAdmin = Boolean(tenant) && (globalAdmin || role === 'admin');
  // Roles are duties, not a ladder: a tenant admin (or global admin) may do each of them.
  const may = (duty) => tenantAdmin || (Boolean(tenant) && role === duty);
  return {
    globalAdmin,
    role,
    // Tenant pages
    readTenant: Boolean(tenant) && (globalAdmin || role !== null),
    manageMembers: tenantAdmin,
    readAudit: tenantAdmin || globalAdmin,
    uploadRelease: may('publisher'), // POST/DELETE releases
    approveRelease: may('approver'), // approve, reject, revoke
    operateRollouts: may('operator'), // preview, create, start, pause, resume, advance, cancel
    manageDevices: may('operator'),
    // Server-wide
    manageTenants: globalAdmin,
    manageAccounts: globalAdmin,
  };
}
