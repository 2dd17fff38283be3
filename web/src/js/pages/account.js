// SPDX-License-Identifier: Apache-2.0
// Who you are (GET /me) and changing your own password.
import { h } from '../dom.js';
import { PASSWORD_MIN, busy, field, showError, table, when } from '../ui.js';

export function renderAccount(ctx) {
  const { api, state } = ctx;
  const me = state.me;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const oldPw = field('Current password', { type: 'password', required: true, autocomplete: 'current-password' });
  const newPw = field('New password', { type: 'password', required: true, minlength: PASSWORD_MIN, autocomplete: 'new-password', hint: `${PASSWORD_MIN} characters or more. Every session and API token of yours is revoked.` });
  const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Change your password'), oldPw.row, newPw.row,
    h('button', { type: 'submit', class: 'primary' }, 'Change password'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await busy(form, () => api.changePassword(oldPw.input.value, newPw.input.value));
      // The server revoked this session too.
      sessionStorage.removeItem('otter.token');
      state.me = null;
      ctx.showLogin('Password changed. Sign in with the new one.');
    } catch (e) {
      if (e.status !== 401 || e.where !== 'header Authorization') showError(box, e);
    }
  });
  const memberships = me.memberships || [];
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Your account'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'User name'), h('dd', {}, me.username),
      h('dt', {}, 'Global admin'), h('dd', {}, me.is_admin ? 'yes' : 'no'),
      h('dt', {}, 'Created'), h('dd', {}, when(me.created_at)),
      h('dt', {}, 'Password changed'), h('dd', {}, when(me.password_changed_at))),
    memberships.length
      ? table('Your roles', [{ label: 'Tenant', cell: (m) => m.tenant }, { label: 'Role', cell: (m) => h('span', { class: 'badge' }, m.role) }], memberships)
      : h('p', {}, me.is_admin ? 'You have no tenant roles; as a global admin you may act in every tenant.' : 'You have no role in any tenant yet.'),
    form, box);
}
