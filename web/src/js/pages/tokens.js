// SPDX-License-Identifier: Apache-2.0
// Your API tokens (for scripts and CI): create, list, revoke. The secret is shown once.
import { h } from '../dom.js';
import { busy, confirmDanger, empty, field, message, showError, showOk, table, when } from '../ui.js';

const LIFETIMES = [
  { value: '', label: 'Server maximum' },
  { value: String(7 * 86400), label: '7 days' },
  { value: String(30 * 86400), label: '30 days' },
  { value: String(90 * 86400), label: '90 days' },
  { value: String(365 * 86400), label: '1 year' },
];

export async function renderTokens({ api }) {
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const secretArea = h('div', {});
  const listArea = h('div', {});

  async function refresh() {
    const tokens = await api.tokens();
    listArea.replaceChildren(tokens.length
      ? table('Your API tokens', [
        { label: 'Name', cell: (t) => t.name },
        { label: 'Created', cell: (t) => when(t.created_at) },
        { label: 'Expires', cell: (t) => when(t.expires_at) },
        { label: 'Actions', cell: (t) => h('button', {
          type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`,
          on: {
            click: () => confirmDanger(`Revoke the token ${t.name}?`, 'Scripts using it get 401 from now on.', 'Revoke token', async () => {
              await api.revokeToken(t.id);
              showOk(box, `Revoked ${t.name}.`);
              await refresh();
            }),
          },
        }, 'Revoke') },
      ], tokens)
      : empty('No API tokens yet.', 'Create one above for a script or CI job; it acts as you, with your roles.'));
  }

  const name = field('Token name', { required: true, maxlength: 64, autocomplete: 'off', hint: 'What uses it, e.g. “ci-release-upload”.' });
  const life = field('Lifetime', { kind: 'select', options: LIFETIMES });
  const pw = field('Your password', { type: 'password', required: true, autocomplete: 'current-password', hint: 'Asked again: a token outlives your session.' });
  const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-token-title' },
    h('h2', { id: 'add-token-title' }, 'Create an API token'), name.row, life.row, pw.row,
    h('button', { type: 'submit', class: 'primary' }, 'Create token'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await busy(form, () => api.createToken(name.input.value.trim(), pw.input.value, life.input.value ? Number(life.input.value) : undefined));
      form.reset();
      box.replaceChildren();
      const out = h('input', { id: 'new-token-secret', readonly: true, value: t.token, class: 'mono', spellcheck: 'false' });
      const copy = h('button', {
        type: 'button', class: 'secondary',
        on: {
          click: async () => {
            try {
              await navigator.clipboard.writeText(t.token);
              copy.textContent = 'Copied';
            } catch {
              out.select();
            }
          },
        },
      }, 'Copy');
      secretArea.replaceChildren(h('div', { class: 'card secret' },
        message('ok', `Created ${t.name}. Copy the token now: it is not shown again.`),
        h('label', { for: 'new-token-secret' }, 'Token'), h('div', { class: 'copy-row' }, out, copy)));
      out.focus();
      out.select();
      await refresh();
    } catch (e) { showError(box, e); }
  });

  await refresh();
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'API tokens'),
    h('p', { class: 'lead' }, 'Tokens let scripts call the API as you (Authorization: Bearer …). Signing out does not revoke them; revoking does.'),
    form, secretArea, box, listArea);
}
