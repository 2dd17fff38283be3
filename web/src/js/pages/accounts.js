// SPDX-License-Identifier: Apache-2.0
// Every account on the server (global admins): create, reset password, delete.
import { h } from '../dom.js';
import { NAME_PATTERN, PASSWORD_MIN, busy, confirmDanger, field, openDialog, showError, showOk, table, when } from '../ui.js';

export async function renderAccounts({ api, state }) {
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});

  async function refresh() {
    const users = await api.users();
    listArea.replaceChildren(table('All accounts', [
      { label: 'User name', cell: (u) => u.username },
      { label: 'Global admin', cell: (u) => (u.is_admin ? h('span', { class: 'badge badge-admin' }, 'global admin') : 'no') },
      { label: 'Created', cell: (u) => when(u.created_at) },
      { label: 'Actions', cell: (u) => h('div', { class: 'row-actions' },
        // Your own password changes on "Your account", with the current one.
        u.username === state.me.username ? null
          : h('button', { type: 'button', class: 'secondary', on: { click: () => reset(u.username) } }, 'Reset password'),
        u.username === state.me.username ? null : h('button', {
          type: 'button', class: 'danger',
          on: {
            click: () => confirmDanger(`Delete the account ${u.username}?`,
              'The account, its roles in every tenant and its tokens are deleted. Audit entries stay.',
              'Delete account', async () => {
                await api.deleteUser(u.username);
                showOk(box, `Deleted the account ${u.username}.`);
                await refresh();
              }),
          },
        }, 'Delete')) },
    ], users));
  }

  function reset(username) {
    const pw = field('New password', { type: 'password', autocomplete: 'new-password', minlength: PASSWORD_MIN, required: true, hint: 'The user’s sessions and API tokens are revoked.' });
    openDialog({
      title: `Reset the password of ${username}`, body: pw.row, confirmLabel: 'Set password',
      onConfirm: async () => {
        await api.setUserPassword(username, pw.input.value);
        showOk(box, `The password of ${username} was reset.`);
      },
    });
    pw.input.focus();
  }

  const name = field('User name', { required: true, autocomplete: 'off', maxlength: 64, pattern: NAME_PATTERN });
  const pw = field('Password', { type: 'password', required: true, minlength: PASSWORD_MIN, autocomplete: 'new-password' });
  const admin = h('input', { type: 'checkbox', id: 'new-account-admin' });
  const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-account-title' },
    h('h2', { id: 'add-account-title' }, 'Create an account'), name.row, pw.row,
    h('div', { class: 'field check' }, admin, h('label', { for: 'new-account-admin' }, 'Global admin (everything, everywhere)')),
    h('button', { type: 'submit', class: 'primary' }, 'Create account'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = name.input.value.trim();
    try {
      await busy(form, () => api.createUser(username, pw.input.value, admin.checked));
      showOk(box, `Created the account ${username}. Give it a role in a tenant on that tenant’s Users page.`);
      form.reset();
      await refresh();
    } catch (e) { showError(box, e); }
  });

  await refresh();
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'All accounts'),
    h('p', { class: 'lead' }, 'Accounts are server-wide; a role in a tenant is given on that tenant’s Users page.'),
    form, box, listArea);
}
