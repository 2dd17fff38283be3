// SPDX-License-Identifier: Apache-2.0
// Rollouts: the tenant's rollouts (newest first) and, for operators and admins,
// the form that creates one: release, target filter, stages with success and
// failure thresholds, and a preview of how many devices each stage reaches
// (POST …/rollouts/preview writes nothing).
import { h, nextId } from '../dom.js';
import { checkStages, formatPercent, inProgress, rolloutBody } from '../model.js';
import { busy, empty, field, message, showError, table, when } from '../ui.js';
import { campaignFields } from './schedules.js';

export function stateBadge(r) {
  const cls = { running: 'badge-info', paused: 'badge-warn', finished: 'badge-ok', canceled: 'badge-muted', draft: 'badge-muted' }[r.state] || 'badge-muted';
  return h('span', { class: `badge ${cls}` }, r.state);
}

const DEFAULT_STAGES = [
  { percent: 10, success_threshold: 90, failure_threshold: 20, min_devices: 0 },
  { percent: 50, success_threshold: 95, failure_threshold: 10, min_devices: 0 },
  { percent: 100, success_threshold: 100, failure_threshold: 10, min_devices: 0 },
];

function num(label, value, attrs = {}) {
  const id = nextId('st');
  const input = h('input', { id, type: 'number', inputmode: 'numeric', required: true, step: 1, value: String(value), ...attrs });
  return { input, row: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

function createForm(ctx, releases, groups, onCreated) {
  const { api, state } = ctx;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
  const usable = releases.filter((r) => r.approval?.state !== 'rejected' && r.approval?.state !== 'revoked');
  const name = field('Name', { required: true, maxlength: 64, autocomplete: 'off', placeholder: 'eu-wave-1' });
  const release = field('Release', {
    kind: 'select', required: true,
    options: usable.map((r) => ({ value: String(r.id), label: `${r.product} ${r.version}${r.approval?.state && r.approval.state !== 'approved' ? ` (${r.approval.state})` : ''}` })),
    hint: 'It must be approved before the rollout can start.',
  });
  const products = field('Products', { autocomplete: 'off', maxlength: 500, placeholder: 'any product', hint: 'Comma-separated; as the device reports it, else its installed release’s.' });
  const models = field('Models', { autocomplete: 'off', maxlength: 500, placeholder: 'all models', hint: 'Comma-separated; empty: every model the release is for.' });
  const groupsF = field('Groups', { autocomplete: 'off', maxlength: 500, list: 'rollout-groups', placeholder: 'all groups', hint: 'Comma-separated.' });
  const versions = field('Installed versions', { autocomplete: 'off', maxlength: 500, placeholder: 'any version', hint: 'Only devices running one of these.' });
  const attrs = field('Attributes', { autocomplete: 'off', maxlength: 1000, placeholder: 'region=eu, hw=rev2', hint: 'key=value, comma-separated; all must match.' });
  const groupList = h('datalist', { id: 'rollout-groups' }, groups.map((g) => h('option', { value: g.name })));
  const download = field('Download', { kind: 'select', options: ['forced', 'attempt', 'skip'] });
  const update = field('Update', { kind: 'select', options: ['forced', 'attempt', 'skip'] });
  const mw = field('Maintenance window', { kind: 'select', options: [{ value: '', label: 'none' }, { value: 'available', label: 'available' }, { value: 'unavailable', label: 'unavailable' }] });
  // The user's consent (docs/rollouts.md "Consent"); download_then_ask sets download and update itself.
  const consent = field('Ask the user', { kind: 'select', options: [{ value: 'auto', label: 'no: install automatically' }, { value: 'download_then_ask', label: 'download, then ask to start' }, { value: 'ask', label: 'ask before downloading' }] });

  const campaign = campaignFields();
  const stageRows = h('ol', { class: 'stages' });
  let stages = [];
  function addStage(s) {
    const n = stages.length + 1;
    const percent = num('Devices (%)', s.percent, { min: 1, max: 100 });
    const ok = num('Success to advance (%)', s.success_threshold, { min: 0, max: 100 });
    const bad = num('Failure to pause (%)', s.failure_threshold, { min: 0, max: 100 });
    const min = num('Minimum devices', s.min_devices, { min: 0 });
    const st = { percent, ok, bad, min };
    const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove stage ${n}`, on: { click: () => { stages = stages.filter((x) => x !== st); li.remove(); renumber(); schedulePreview(); } } }, 'Remove');
    const li = h('li', { class: 'stage' }, h('h3', { class: 'stage-title' }, `Stage ${n}`), percent.row, ok.row, bad.row, min.row, remove);
    st.li = li;
    stages.push(st);
    stageRows.append(li);
    for (const x of [percent, ok, bad, min]) x.input.addEventListener('input', schedulePreview);
  }
  function renumber() {
    stages.forEach((st, i) => {
      st.li.querySelector('.stage-title').textContent = `Stage ${i + 1}`;
      st.li.querySelector('button').setAttribute('aria-label', `Remove stage ${i + 1}`);
    });
  }
  DEFAULT_STAGES.forEach(addStage);
  const addBtn = h('button', { type: 'button', class: 'secondary', on: { click: () => {
    const last = stages.at(-1);
    addStage({ percent: Math.min(100, (last ? Number(last.percent.input.value) : 0) + 10), success_threshold: 95, failure_threshold: 10, min_devices: 0 });
    renumber();
    schedulePreview();
  } } }, 'Add a stage');

  function body() {
    const b = rolloutBody({
      name: name.input.value, release: release.input.value, products: products.input.value, models: models.input.value, groups: groupsF.input.value,
      versions: versions.input.value, attributes: attrs.input.value,
      stages: stages.map((s) => ({ percent: s.percent.input.value, success_threshold: s.ok.input.value, failure_threshold: s.bad.input.value, min_devices: s.min.input.value })),
      download: download.input.value, update: update.input.value, maintenanceWindow: mw.input.value,
      consent: consent.input.value,
    });
    const bad = checkStages(b.stages);
    if (bad) throw new Error(bad);
    if (!Number.isInteger(b.release) || b.release <= 0) throw new Error('Choose a release.');
    return { ...b, ...campaign.values() };
  }

  let previewSeq = 0;
  let previewTimer = null;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, 400);
  }
  async function runPreview() {
    const seq = ++previewSeq;
    let b;
    try {
      b = body();
    } catch (e) {
      preview.replaceChildren(message('info', `Preview: ${e.message}`));
      return;
    }
    try {
      const p = await api.previewRollout(state.tenant, { ...b, name: b.name || 'preview' });
      if (seq !== previewSeq) return;
      let cum = 0;
      const lo = p.left_out || {};
      const left = [lo.busy ? `${lo.busy} busy with another update` : '', lo.current ? `${lo.current} already on this release` : '',
        lo.outside ? `${lo.outside} above the last stage’s percentage` : ''].filter(Boolean);
      preview.replaceChildren(
        h('p', { class: 'preview-total' }, h('strong', {}, String(p.devices)), ` device${p.devices === 1 ? '' : 's'} match the filter.`,
          left.length ? h('span', { class: 'muted' }, ` Left out: ${left.join(', ')}.`) : null),
        table('Devices per stage (preview)', [
          { label: 'Stage', cell: (s) => `Stage ${s.index + 1}` },
          { label: 'Percent', cell: (s) => `${s.percent} %` },
          { label: 'Devices in stage', cell: (s) => String(s.devices) },
          { label: 'Reached so far', cell: (s) => { cum += s.devices; return String(cum); } },
        ], p.stages || []));
    } catch (e) {
      if (seq === previewSeq) preview.replaceChildren(message('error', `Preview: ${e.message}`));
    }
  }

  const previewBtn = h('button', { type: 'button', class: 'secondary', on: { click: runPreview } }, 'Preview');
  const form = h('form', { class: 'card rollout-form', 'aria-labelledby': 'create-rollout-title', novalidate: true },
    h('h2', { id: 'create-rollout-title' }, 'Create a rollout'), groupList,
    h('div', { class: 'filter-grid' }, name.row, release.row, download.row, update.row, mw.row, consent.row),
    h('fieldset', {}, h('legend', {}, 'Target: devices that match all of'), h('div', { class: 'filter-grid' }, products.row, models.row, groupsF.row, versions.row, attrs.row)),
    campaign.el,
    h('fieldset', {}, h('legend', {}, 'Stages'),
      h('p', { class: 'hint' }, 'Each stage reaches a larger share of the target. A stage advances when its success rate reaches the success threshold; the rollout pauses when the failure rate reaches the failure threshold.'),
      stageRows, addBtn),
    preview,
    box,
    h('div', { class: 'actions' }, previewBtn, h('button', { type: 'submit', class: 'primary' }, 'Create rollout')));
  for (const f of [release, products, models, groupsF, versions, attrs]) f.input.addEventListener('input', schedulePreview);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const b = body();
      if (!b.name) throw new Error('Give the rollout a name.');
      const r = await busy(form, () => api.createRollout(state.tenant, b));
      onCreated(r);
    } catch (e) {
      showError(box, e);
    }
  });
  if (!usable.length) {
    return h('div', { class: 'card' }, h('h2', {}, 'Create a rollout'),
      message('info', 'No release to roll out yet: a publisher uploads one and an approver approves it.'));
  }
  setTimeout(runPreview, 0);
  return form;
}

export async function renderRollouts(ctx) {
  const { api, state, caps } = ctx;
  const tenant = state.tenant;
  const [rollouts, releases, groups] = await Promise.all([
    api.rollouts(tenant),
    caps.operateRollouts ? api.releases(tenant) : [],
    caps.operateRollouts ? api.groups(tenant).catch(() => []) : [],
  ]);
  const section = h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Rollouts', h('span', { class: 'sub' }, tenant)),
    h('p', { class: 'lead' }, 'Staged rollouts of approved releases to this tenant’s devices. Open one for its live progress.'));
  // Progress cells are filled in when each rollout's stats arrive (the newest 20).
  const progress = new Map();
  const progressCell = (r) => {
    const el = h('span', { class: 'small muted' }, r.state === 'draft' ? 'not started' : '…');
    if (r.state !== 'draft' && progress.size < 20) progress.set(r.id, el);
    return el;
  };
  section.append(rollouts.length
    ? table(`Rollouts of ${tenant}, newest first`, [
      { label: 'Rollout', cell: (r) => h('a', { href: `#/rollout/${r.id}` }, r.name || `#${r.id}`) },
      { label: 'Release', cell: (r) => (r.release ? `${r.release.product} ${r.release.version}` : '—') },
      { label: 'State', cell: (r) => h('span', {}, stateBadge(r), r.pause_reason ? h('span', { class: 'small muted' }, ` ${r.pause_reason}`) : null) },
      { label: 'Stage', cell: (r) => `${(r.current_stage ?? 0) + 1} of ${(r.stages || []).length}` },
      { label: 'Devices', cell: (r) => String(r.devices ?? '—') },
      { label: 'Progress', cell: progressCell },
      { label: 'Created', cell: (r) => h('span', {}, when(r.created_at), r.created_by ? ` by ${r.created_by}` : '') },
    ], rollouts)
    : empty('No rollouts yet.', caps.operateRollouts ? 'Create the first one with the form below.' : 'Operators create rollouts; each appears here with its stages and live counts.'));
  for (const [id, el] of progress) {
    api.rolloutStats(tenant, id).then((st) => {
      const t = st.total || {};
      const done = (t.success || 0) + (t.failure || 0);
      el.className = 'small';
      el.textContent = `${t.success || 0} ok · ${t.failure || 0} failed · ${inProgress(t)} in progress (${formatPercent(done, t.devices || 0)} done)`;
    }).catch(() => { el.textContent = '—'; });
  }
  if (caps.operateRollouts) {
    section.append(createForm(ctx, releases, groups, (r) => {
      state.flash = `Created the rollout ${r.name}. Start it when ready.`;
      location.hash = `#/rollout/${r.id}`;
    }));
  }
  return section;
}
