// SPDX-License-Identifier: Apache-2.0
// The audit log: tenant admins read their tenant's (/tenants/{t}/audit),
// global admins every tenant's (/audit, optionally one tenant). Filters by
// action, actor and time; pages backwards with next_before.
import { h } from '../dom.js';
import { busy, empty, field, showError, table, when } from '../ui.js';

export const AUDIT_ACTIONS = [
  'login', 'login.failed', 'logout', 'password.failed', 'user.password', 'token.create', 'ticket.create',
  'token.revoke', 'tenant.create', 'tenant.delete', 'member.create', 'member.role',
  'member.delete', 'user.create', 'user.delete', 'gateway.rotate', 'device.create', 'device.bulk',
  'device.delete', 'group.create', 'group.delete', 'group.add', 'group.remove', 'release.create',
  'release.delete', 'release.approve', 'release.reject', 'release.revoke', 'deployment.create',
  'action.cancel', 'rollout.create', 'rollout.start', 'rollout.pause', 'rollout.resume',
  'rollout.advance', 'rollout.cancel',
];

/** datetime-local value (local time) → unix seconds, or '' when empty. */
export function toUnix(local) {
  if (!local) return '';
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? '' : String(Math.floor(t / 1000));
}

function detailText(d) {
  if (d === undefined || d === null) return '';
  return typeof d === 'string' ? d : JSON.stringify(d);
}

export async function renderAudit({ api, state, caps }) {
  const ALL = '';
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});
  const pager = h('div', { class: 'pager' });

  const tenantSel = caps.globalAdmin
    ? field('Tenant to show', { kind: 'select', options: [{ value: ALL, label: 'All tenants' }, ...state.tenants.map((t) => ({ value: t.name, label: t.name }))] })
    : null;
  if (tenantSel) tenantSel.input.value = state.tenant || ALL;
  // Free text with suggestions: actions added by later features filter without a dashboard change.
  const action = field('Action', { list: 'audit-actions', autocomplete: 'off', maxlength: 64, placeholder: 'any action', hint: 'Exact action, e.g. member.create' });
  const actionList = h('datalist', { id: 'audit-actions' }, AUDIT_ACTIONS.map((a) => h('option', { value: a })));
  const actor = field('Actor', { autocomplete: 'off', maxlength: 64, placeholder: 'user name' });
  const since = field('From', { type: 'datetime-local' });
  const until = field('Until', { type: 'datetime-local' });
  const size = field('Per page', { kind: 'select', options: ['25', '50', '100'] });
  size.input.value = '50';
  const form = h('form', { class: 'card filters', 'aria-labelledby': 'filter-title', role: 'search' },
    h('h2', { id: 'filter-title' }, 'Filter'),
    actionList,
    h('div', { class: 'filter-grid' }, tenantSel?.row, action.row, actor.row, since.row, until.row, size.row),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => { form.reset(); if (tenantSel) tenantSel.input.value = state.tenant || ALL; size.input.value = '50'; load([]); } } }, 'Clear')));

  // cursors: the `before` of each page shown so far (undefined for the newest page).
  let cursors = [];

  function query(before) {
    const tenant = tenantSel ? tenantSel.input.value : state.tenant;
    return {
      scope: caps.globalAdmin ? 'global' : 'tenant',
      tenant: tenant || undefined,
      action: action.input.value.trim() || undefined,
      actor: actor.input.value.trim() || undefined,
      since: toUnix(since.input.value) || undefined,
      until: toUnix(until.input.value) || undefined,
      limit: size.input.value,
      before,
    };
  }

  async function load(nextCursors) {
    const before = nextCursors[nextCursors.length - 1];
    let page;
    try {
      page = await busy(form, () => api.audit(query(before)));
    } catch (e) {
      showError(box, e);
      return;
    }
    box.replaceChildren();
    cursors = nextCursors;
    const entries = page.entries || [];
    listArea.replaceChildren(entries.length
      ? table('Audit entries, newest first', [
        { label: 'Time', cell: (e) => when(e.at) },
        { label: 'Actor', cell: (e) => e.actor || '—' },
        { label: 'Tenant', cell: (e) => e.tenant || '—' },
        { label: 'Action', cell: (e) => h('code', {}, e.action) },
        { label: 'Object', cell: (e) => e.object || '—' },
        { label: 'Client', cell: (e) => e.client || '—' },
        { label: 'Detail', cell: (e) => h('span', { class: 'mono small' }, detailText(e.detail)) },
      ], entries)
      : empty('No audit entries match.', 'Every change and every sign-in is recorded here; widen the filters to see more.'));
    const newer = h('button', { type: 'button', class: 'secondary', disabled: cursors.length === 0, on: { click: () => load(cursors.slice(0, -1)) } }, '← Newer');
    const older = h('button', { type: 'button', class: 'secondary', disabled: !page.next_before, on: { click: () => load([...cursors, page.next_before]) } }, 'Older →');
    pager.replaceChildren(h('nav', { 'aria-label': 'Audit pages' }, newer, h('span', { class: 'page-no', 'aria-live': 'polite' }, `Page ${cursors.length + 1}`), older));
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load([]);
  });
  await load([]);
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Audit log', h('span', { class: 'sub' }, caps.globalAdmin ? 'all tenants' : state.tenant)),
    form, box, listArea, pager);
}
