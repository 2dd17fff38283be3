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
  return {
    globalAdmin,
    role,
    // Tenant pages
    readTenant: Boolean(tenant) && (globalAdmin || role !== null),
    manageMembers: tenantAdmin,
    readAudit: tenantAdmin || globalAdmin,
    // Server-wide
    manageTenants: globalAdmin,
    manageAccounts: globalAdmin,
  };
}
