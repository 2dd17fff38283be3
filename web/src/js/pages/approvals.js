// SPDX-License-Identifier: Apache-2.0
// Approvals: releases waiting for this tenant's sign-off (GET …/approvals?state=pending).
// Approvers (and admins) approve or reject with a comment; everyone else sees the queue.
import { h } from '../dom.js';
import { formatBytes } from '../model.js';
import { empty, message, showOk, table, when } from '../ui.js';
import { approvalBadge, decisionButtons } from './releases.js';

export async function renderApprovals(ctx) {
  const { api, state, caps } = ctx;
  const tenant = state.tenant;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});
  const stateSel = h('select', { id: 'approval-state', on: { change: () => refresh().catch((e) => listArea.replaceChildren(message('error', e.message))) } },
    ['pending', 'approved', 'rejected', 'revoked'].map((s) => h('option', { value: s }, s)));

  // Refreshes overlap (a decision's refresh, then a change of "Show"): only the latest draws,
  // or a slow answer for the old state would replace the list of the state now chosen.
  let latest = 0;
  async function refresh() {
    const mine = ++latest;
    // The approvals list carries a brief release; the full documents add models, size and signers.
    const [brief, releases] = await Promise.all([api.approvals(tenant, stateSel.value), api.releases(tenant).catch(() => [])]);
    if (mine !== latest || !ctx.current()) return;
    const full = new Map(releases.map((r) => [r.id, r]));
    const items = brief.map((x) => ({ ...x, release: { ...(full.get(x.release.id) || {}), ...x.release } }));
    const onDone = async (approval, text) => {
      showOk(box, text);
      await refresh();
    };
    const cols = [
      { label: 'Release', cell: (x) => h('span', { class: 'nowrap' }, h('strong', {}, x.release.product), ' ', x.release.version, h('span', { class: 'muted small' }, ` #${x.release.id}`)) },
      { label: 'State', cell: (x) => approvalBadge(x.approval) },
      ...(caps.approveRelease ? [{ label: 'Decision', cell: (x) => decisionButtons(ctx, { ...x.release, approval: x.approval }, onDone) || '—' }] : []),
      { label: 'Compatible models', cell: (x) => (x.release.compatible || []).join(', ') || '—' },
      { label: 'Security version', cell: (x) => String(x.release.security_version ?? '—') },
      { label: 'Size', cell: (x) => formatBytes(x.release.artifact?.size) },
      { label: 'Signers', cell: (x) => String((x.release.signers || []).length) },
      { label: 'Uploaded', cell: (x) => when(x.release.created_at) },
      { label: 'Decided', cell: (x) => (x.approval.at ? h('span', {}, when(x.approval.at), ` by ${x.approval.by || '?'}`, x.approval.comment ? h('span', { class: 'small muted' }, ` — “${x.approval.comment}”`) : null) : '—') },
    ];
    listArea.replaceChildren(items.length
      ? table(`Releases ${stateSel.value} in ${tenant}`, cols, items)
      : empty(`No release is ${stateSel.value}.`, stateSel.value === 'pending' ? 'A release waits here for approval after a publisher uploads it.' : 'Choose another state to see more.'));
  }

  const section = h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Approvals', h('span', { class: 'sub' }, tenant)),
    h('p', { class: 'lead' }, caps.approveRelease
      ? 'Releases waiting for your sign-off in this tenant. Revoking an approval pauses its running rollouts.'
      : `Releases waiting for sign-off in this tenant. Your role (${caps.role || 'none'}) cannot decide; approvers and admins can.`),
    h('div', { class: 'toolbar' }, h('label', { for: 'approval-state' }, 'Show'), stateSel),
    box, listArea);
  try {
    await refresh();
  } catch (e) {
    listArea.replaceChildren(message('error', e.message));
  }
  return section;
}
