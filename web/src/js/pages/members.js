// SPDX-License-Identifier: Apache-2.0
// Users of the current tenant (GET /tenants/{t}/users). Tenant admins (and
// global admins) add users, change roles, reset passwords and remove
// members; everyone else reads.
import { h } from '../dom.js';
import { ROLES } from '../perm.js';
import { NAME_PATTERN, PASSWORD_MIN, busy, confirmDanger, empty, field, openDialog, showError, showOk, table } from '../ui.js';

export async function renderMembers(ctx) {
  const { api, state, caps } = ctx;
  const tenant = state.tenant;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});
  const section = h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Users', h('span', { class: 'sub' }, tenant)));

  async function refresh() {
    const users = await api.members(tenant);
    listArea.replaceChildren(users.length
      ? table(`Users of ${tenant}`, columns(), users)
      : empty('No users in this tenant yet.', caps.manageMembers ? 'Add the first one with the form above.' : 'A tenant admin adds them.'));
  }

  function columns() {
    const cols = [
      { label: 'User name', cell: (u) => u.username },
      { label: 'Role', cell: (u) => h('span', { class: 'badge' }, u.role) },
      { label: 'Global admin', cell: (u) => (u.is_admin ? 'yes' : 'no') },
    ];
    if (caps.manageMembers) cols.push({ label: 'Actions', cell: actions });
    return cols;
  }

  function actions(u) {
    const role = h('select', { 'aria-label': `Role of ${u.username}` },
      ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
    const save = h('button', {
      type: 'button', class: 'secondary',
      on: {
        click: async () => {
          try {
            await api.setRole(tenant, u.username, role.value);
            showOk(box, `${u.username} is now ${role.value} in ${tenant}.`);
            await refresh();
          } catch (e) { showError(box, e); }
        },
      },
    }, 'Set role');
    // Your own password changes on "Your account", with the current one (the server refuses it here).
    const reset = u.username === state.me.username ? null
      : h('button', { type: 'button', class: 'secondary', on: { click: () => resetPassword(u.username) } }, 'Reset password');
    const remove = h('button', {
      type: 'button', class: 'danger',
      on: {
        click: () => confirmDanger(`Remove ${u.username} from ${tenant}?`,
          'The account stays; it loses its role in this tenant and everything the role allowed here.',
          'Remove from tenant', async () => {
            await api.removeMember(tenant, u.username);
            showOk(box, `${u.username} was removed from ${tenant}.`);
            await refresh();
          }),
      },
    }, 'Remove');
    return h('div', { class: 'row-actions' }, role, save, reset, remove);
  }

  function resetPassword(username) {
    const pw = field('New password', { type: 'password', autocomplete: 'new-password', minlength: PASSWORD_MIN, required: true, hint: `${PASSWORD_MIN} characters or more. The user’s sessions and API tokens are revoked.` });
    openDialog({
      title: `Reset the password of ${username}`,
      body: pw.row,
      confirmLabel: 'Set password',
      onConfirm: async () => {
        await api.setMemberPassword(tenant, username, pw.input.value);
        showOk(box, `The password of ${username} was reset.`);
      },
    });
    pw.input.focus();
  }

  if (caps.manageMembers) section.append(addForms(ctx, box, refresh));
  else section.append(h('p', { class: 'lead' }, `Your role in ${tenant} is ${caps.role}: you can see its users; a tenant admin changes them.`));
  section.append(box, listArea);
  await refresh();
  return section;
}

function addForms({ api, state }, box, refresh) {
  const tenant = state.tenant;
  const name = field('User name', { name: 'username', required: true, autocomplete: 'off', maxlength: 64, pattern: NAME_PATTERN, hint: 'Letters, digits and . _ @ -' });
  const pw = field('Password', { name: 'password', type: 'password', required: true, minlength: PASSWORD_MIN, autocomplete: 'new-password', hint: `${PASSWORD_MIN} characters or more; tell the user over another channel.` });
  const role = field('Role', { kind: 'select', name: 'role', options: ROLES });
  const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-user-title' },
    h('h2', { id: 'add-user-title' }, 'Add a user'), name.row, pw.row, role.row,
    h('button', { type: 'submit', class: 'primary' }, 'Create user'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = name.input.value.trim();
    try {
      await busy(form, () => api.createMember(tenant, username, pw.input.value, role.input.value));
      showOk(box, `Created ${username} as ${role.input.value} in ${tenant}.`);
      form.reset();
      await refresh();
    } catch (e) {
      if (e.status === 409) e.message = `${e.message} — to give an existing account a role here, use “Add an existing account”.`;
      showError(box, e);
    }
  });

  const ename = field('User name', { name: 'existing', required: true, autocomplete: 'off', maxlength: 64 });
  const erole = field('Role', { kind: 'select', name: 'existing-role', options: ROLES });
  const eform = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-existing-title' },
    h('h2', { id: 'add-existing-title' }, 'Add an existing account'), ename.row, erole.row,
    h('button', { type: 'submit', class: 'secondary' }, 'Add to tenant'));
  eform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = ename.input.value.trim();
    try {
      await busy(eform, () => api.setRole(tenant, username, erole.input.value));
      showOk(box, `${username} is now ${erole.input.value} in ${tenant}.`);
      eform.reset();
      await refresh();
    } catch (e) { showError(box, e); }
  });
  return h('div', { class: 'forms' }, form, eform);
}
