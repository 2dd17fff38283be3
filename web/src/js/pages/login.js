// SPDX-License-Identifier: Apache-2.0
// Sign-in: POST /api/v1/login; the token goes to sessionStorage (api.js).
import { h } from '../dom.js';
import { busy, field, message, showError } from '../ui.js';

export function renderLogin({ api, notice, onSignedIn }) {
  const user = field('User name', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const box = h('div', { class: 'form-msg' }, notice ? message('info', notice) : null);
  const form = h('form', { class: 'card login-card', novalidate: true },
    h('h1', {}, h('img', { src: '/img/otter.svg', alt: '', width: 40, height: 40 }), 'Sign in to Otter'),
    user.row, pass.row, box,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!user.input.value || !pass.input.value) {
      showError(box, new Error('Enter your user name and password.'));
      (user.input.value ? pass.input : user.input).focus();
      return;
    }
    try {
      await busy(form, () => api.login(user.input.value.trim(), pass.input.value));
    } catch (e) {
      pass.input.value = '';
      if (e.status === 401) showError(box, new Error('Wrong user name or password.'));
      else if (e.status === 429) showError(box, new Error(`Too many failed sign-ins. Try again in ${e.retryAfter || 'a few'} seconds.`));
      else showError(box, e);
      pass.input.focus();
      return;
    }
    try {
      await onSignedIn();
    } catch (e) {
      showError(box, e);
    }
  });
  queueMicrotask(() => user.input.focus());
  return h('main', { class: 'login', id: 'main' }, form);
}
