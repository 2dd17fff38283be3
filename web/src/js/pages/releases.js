// SPDX-License-Identifier: Apache-2.0
// Releases: the tenant's signed packages with signers, size, compatible models,
// security version, approval and delta packages (from which versions, how big). Publishers (and admins) upload update.zip
// with a progress bar; approvers (and admins) approve, reject or revoke here
// too (the Approvals page lists what waits for them).
import { h } from '../dom.js';
import { decisionsFor, formatBytes } from '../model.js';
import { busy, empty, field, message, openDialog, showError, showOk, table, when } from '../ui.js';

/** The approval state as a badge: pending, approved, rejected, revoked. */
export function approvalBadge(approval) {
  const st = approval?.state;
  if (!st) return h('span', { class: 'badge badge-muted' }, 'unknown');
  const cls = { approved: 'badge-ok', rejected: 'badge-bad', revoked: 'badge-bad', pending: 'badge-warn' }[st] || 'badge-muted';
  const who = approval.by ? ` by ${approval.by}` : '';
  return h('span', { class: `badge ${cls}`, title: approval.comment ? `${st}${who}: ${approval.comment}` : `${st}${who}` }, st);
}


const VERB_TEXT = {
  approve: { label: 'Approve', done: 'approved', danger: false, text: 'Devices of this tenant may then get this release through rollouts.' },
  reject: { label: 'Reject', done: 'rejected', danger: true, text: 'No rollout can start or resume with a rejected release; its running rollouts are paused at once.' },
  revoke: { label: 'Revoke', done: 'revoked', danger: true, text: 'Running rollouts of this release are paused at once (pause reason “approval revoked”).' },
};

/** Opens the approve/reject/revoke dialog with a comment; onDone(approval) after the server agreed. */
export function decide(ctx, release, verb, onDone) {
  const v = VERB_TEXT[verb];
  const comment = field('Comment', { kind: 'input', maxlength: 1000, autocomplete: 'off', required: verb !== 'approve', hint: verb === 'approve' ? 'Optional: what was checked.' : 'Required: why, for the audit log and the publisher.' });
  openDialog({
    title: `${v.label} ${release.product} ${release.version}?`,
    body: [h('p', {}, v.text), comment.row],
    confirmLabel: v.label,
    danger: v.danger,
    onConfirm: async () => {
      const approval = await ctx.api.decide(ctx.state.tenant, release.id, verb, comment.input.value.trim());
      onDone(approval, `${release.product} ${release.version} ${v.done}.`);
    },
  });
  comment.input.focus();
}

export function decisionButtons(ctx, release, onDone) {
  if (!ctx.caps.approveRelease) return null;
  const verbs = decisionsFor(release.approval);
  if (!verbs.length) return null;
  return h('div', { class: 'row-actions' }, verbs.map((verb) => h('button', {
    type: 'button', class: VERB_TEXT[verb].danger ? 'danger' : 'primary',
    'aria-label': `${VERB_TEXT[verb].label} ${release.product} ${release.version}`,
    on: { click: () => decide(ctx, release, verb, onDone) },
  }, VERB_TEXT[verb].label)));
}

/* The signed release notes (docs/package-format.md "Release notes"), one block per language. */
function notesCell(r) {
  const langs = Object.keys(r.notes || {});
  if (!langs.length) return '—';
  return h('div', { class: 'notes', 'data-notes': langs.join(',') }, langs.map((l) => h('details', {},
    h('summary', {}, l, h('span', { class: 'muted small' }, ' signed')), h('p', { class: 'pre-wrap', lang: l }, r.notes[l]))));
}

function signersCell(r) {
  const s = r.signers || [];
  if (r.type === 'foreign') return h('span', { class: 'muted' }, 'not verified (foreign)');
  if (!s.length) return '—';
  return h('ul', { class: 'plain' }, s.map((k) => h('li', {}, h('code', { title: k }, `${k.slice(0, 12)}…`))));
}

/** The release's delta packages (otter delta): base version and size against the full file. */
function deltasCell(r) {
  const ds = r.deltas || [];
  if (!ds.length) return '—';
  const full = r.artifact?.size;
  return h('ul', { class: 'plain' }, ds.map((d) => h('li', { class: 'nowrap', title: d.filename },
    `from ${d.from_version} · ${formatBytes(d.size)}`,
    full ? h('span', { class: 'muted small' }, ` (${Math.round((100 * d.size) / full)} % of full)`) : null)));
}

function uploadForm(ctx, box, refresh) {
  const { api, state } = ctx;
  const file = field('Package (update.zip)', { type: 'file', accept: '.zip,.swu,.raucb,application/zip', required: true, hint: 'Signed with otter pack / otter sign; the server checks the signatures against its trust root.' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Upload progress' });
  const pct = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const progress = h('div', { class: 'progress', hidden: true }, bar, pct);
  let controller = null;
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true, on: { click: () => controller && controller.abort() } }, 'Cancel upload');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const form = h('form', { class: 'card inline-form', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload a release'), file.row, submit, cancel, progress);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.input.files && file.input.files[0];
    if (!f) return;
    controller = new AbortController();
    progress.hidden = false;
    cancel.hidden = false;
    submit.disabled = true;
    file.input.disabled = true;
    bar.value = 0;
    pct.textContent = `0 % of ${formatBytes(f.size)}`;
    try {
      const rel = await api.upload(state.tenant, f, {
        signal: controller.signal,
        onProgress: (loaded, total) => {
          const p = total ? Math.min(100, Math.round((100 * loaded) / total)) : 0;
          bar.value = p;
          pct.textContent = loaded >= total && total ? `${p} % — verifying signatures…` : `${p} % of ${formatBytes(total)}`;
        },
      });
      bar.value = 100;
      pct.textContent = '100 %';
      showOk(box, `Uploaded ${rel.product} ${rel.version} (release ${rel.id}); it waits for approval.`);
      form.reset();
      await refresh();
    } catch (e) {
      pct.textContent = e.where === 'aborted' ? 'canceled' : 'failed';
      showError(box, e);
    } finally {
      controller = null;
      cancel.hidden = true;
      submit.disabled = false;
      file.input.disabled = false;
    }
  });
  return form;
}

export async function renderReleases(ctx) {
  const { api, state, caps } = ctx;
  const tenant = state.tenant;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});

  async function refresh() {
    const releases = await api.releases(tenant);
    const onDone = async (approval, text) => {
      showOk(box, text);
      await refresh();
    };
    const cols = [
      { label: 'Release', cell: (r) => h('span', { class: 'nowrap' }, h('strong', {}, r.product), ' ', r.version, h('span', { class: 'muted small' }, ` #${r.id}`)) },
      { label: 'Approval', cell: (r) => h('span', {}, approvalBadge(r.approval), r.approval?.by ? h('span', { class: 'small muted' }, ` ${r.approval.by}`) : null) },
      // Decisions early in the row: on a narrow screen the table scrolls, the buttons stay in view.
      ...(caps.approveRelease ? [{ label: 'Decision', cell: (r) => decisionButtons(ctx, r, onDone) || '—' }] : []),
      { label: 'Security version', cell: (r) => (r.type === 'foreign' ? '—' : String(r.security_version ?? '—')) },
      { label: 'Compatible models', cell: (r) => (r.compatible && r.compatible.length ? r.compatible.join(', ') : '—') },
      { label: 'Size', cell: (r) => formatBytes(r.artifact?.size) },
      { label: 'Signers', cell: signersCell },
      { label: 'Release notes', cell: notesCell },
      { label: 'Deltas', cell: deltasCell },
      { label: 'Uploaded', cell: (r) => when(r.created_at) },
    ];
    listArea.replaceChildren(releases.length
      ? h('div', { class: 'cards-grid' }, table(`Releases of ${tenant}, newest first`, cols, releases))
      : empty('No releases yet — publishers upload signed update.zip packages.',
        caps.uploadRelease ? 'Upload one with the form above.' : 'Each release appears here with its version, compatible models, signing keys and its approval.'));
  }

  const section = h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Releases', h('span', { class: 'sub' }, tenant)),
    h('p', { class: 'lead' }, 'Signed update packages of this tenant. A rollout can start only with an approved release.'));
  if (caps.uploadRelease) section.append(uploadForm(ctx, box, refresh));
  section.append(box, listArea);
  try {
    await refresh();
  } catch (e) {
    listArea.replaceChildren(message('error', e.message));
  }
  return section;
}
