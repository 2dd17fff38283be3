// SPDX-License-Identifier: Apache-2.0
// Tenants: your own with your role; global admins see, create and delete all.
import { h } from '../dom.js';
import { NAME_PATTERN, busy, confirmDanger, empty, field, showError, showOk, table, when } from '../ui.js';

export async function renderTenants(ctx) {
  const { api, state, caps } = ctx;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const tenants = state.tenants;
  const cols = [{ label: 'Tenant', cell: (t) => t.name }];
  if (caps.globalAdmin) cols.push({ label: 'Created', cell: (t) => when(t.created_at) });
  else cols.push({ label: 'Your role', cell: (t) => h('span', { class: 'badge' }, t.role) });
  cols.push({
    label: 'Actions',
    cell: (t) => h('div', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'secondary', 'aria-label': `Open ${t.name}`,
        on: { click: () => ctx.openTenant(t.name) },
      }, 'Open'),
      caps.manageTenants ? h('button', {
        type: 'button', class: 'danger', 'aria-label': `Delete ${t.name}`,
        on: {
          click: () => confirmDanger(`Delete the tenant ${t.name}?`,
            'Everything the tenant owns (memberships, devices, rollouts) is deleted. This cannot be undone.',
            'Delete tenant', async () => {
              await api.deleteTenant(t.name);
              state.flash = `Deleted the tenant ${t.name}.`;
              await ctx.reloadSession();
            }),
        },
      }, 'Delete') : null),
  });

  const section = h('section', { 'aria-labelledby': 'page-title' }, h('h1', { id: 'page-title' }, 'Tenants'));
  if (caps.manageTenants) {
    const name = field('Tenant name', { required: true, autocomplete: 'off', maxlength: 64, pattern: NAME_PATTERN, hint: 'Appears in device URLs: letters, digits and . _ @ -' });
    const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-tenant-title' },
      h('h2', { id: 'add-tenant-title' }, 'Create a tenant'), name.row,
      h('button', { type: 'submit', class: 'primary' }, 'Create tenant'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const n = name.input.value.trim();
      try {
        await busy(form, () => api.createTenant(n));
        state.flash = `Created the tenant ${n}.`;
        await ctx.reloadSession();
      } catch (e) { showError(box, e); }
    });
    section.append(form);
  }
  section.append(box, tenants.length
    ? table(caps.globalAdmin ? 'All tenants' : 'Your tenants', cols, tenants)
    : empty('No tenants yet.', caps.manageTenants ? 'Create the first one above.' : 'An admin gives you a role in a tenant; it appears here.'));
  if (state.flash) {
    showOk(box, state.flash);
    state.flash = '';
  }
  return section;
}
