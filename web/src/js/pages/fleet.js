// SPDX-License-Identifier: Apache-2.0
// Fleet: the tenant's devices by product, model and version, online or not
// (last poll), the success rate of recent rollouts, search and filters; and
// one device's page (#/device/{controller id}) with its attributes (what it
// sent through DDI configData), slot, counter, version history and results.
import { h } from '../dom.js';
import {
  COUNTER_KEYS, SLOT_KEYS, ago, formatPercent, isOnline, lastResult, matchesSearch, pickAttribute,
  productOf, successRate, summarizeDevices, versionOf,
} from '../model.js';
import { busy, empty, field, message, showError, table, when } from '../ui.js';
import { groupSchedulesCard } from './schedules.js';
import { pushStatus } from '../push.js';

const MAX_DEVICES = 10000; // read at most this many for the overview (10 pages of 1000)
const SHOW_STEP = 100;
const ONLINE_WINDOWS = [
  { value: String(5 * 60e3), label: '5 minutes' },
  { value: String(15 * 60e3), label: '15 minutes' },
  { value: String(60 * 60e3), label: '1 hour' },
  { value: String(24 * 3600e3), label: '1 day' },
];
const ONLINE_DEFAULT = String(15 * 60e3);

/** Every device matching the server-side filters, page by page (at most MAX_DEVICES). */
async function loadDevices(api, tenant, filters) {
  const out = [];
  let after;
  for (;;) {
    const page = await api.devices(tenant, { ...filters, limit: 1000, after });
    out.push(...(page.devices || []));
    if (!page.next_after || out.length >= MAX_DEVICES) return { devices: out, truncated: Boolean(page.next_after) };
    after = page.next_after;
  }
}

/** Success and failure counts of the tenant's latest rollouts (null when rollouts are unavailable). */
async function recentRate(api, tenant) {
  try {
    const rollouts = (await api.rollouts(tenant)).filter((r) => r.state !== 'draft').slice(0, 5);
    const stats = await Promise.all(rollouts.map((r) => api.rolloutStats(tenant, r.id).catch(() => null)));
    return { ...successRate(stats.filter(Boolean)), rollouts: rollouts.length };
  } catch {
    return null;
  }
}

function statusBadge(d, now, windowMs) {
  if (!d.last_seen) return h('span', { class: 'badge badge-muted' }, 'never seen');
  return isOnline(d, now, windowMs)
    ? h('span', { class: 'badge badge-ok' }, 'online')
    : h('span', { class: 'badge badge-warn' }, 'offline');
}

function stat(label, value, note) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value),
    note ? h('span', { class: 'stat-note' }, note) : null);
}

function breakdown(caption, map, total, onPick, unknown = 'unknown') {
  const rows = [...map].slice(0, 8);
  return h('div', { class: 'breakdown' },
    table(caption, [
      { label: caption.replace(/^By /, ''), cell: ([k]) => (k ? (onPick ? h('button', { type: 'button', class: 'link', 'aria-label': `Filter by ${k}`, on: { click: () => onPick(k) } }, k) : k) : h('span', { class: 'muted' }, unknown)) },
      { label: 'Devices', cell: ([, n]) => String(n) },
      { label: 'Share', cell: ([, n]) => h('span', { class: 'share' }, h('meter', { min: 0, max: total, value: n, 'aria-label': `${n} of ${total}` }), formatPercent(n, total)) },
    ], rows));
}

export async function renderFleet(ctx) {
  const { api, state } = ctx;
  const tenant = state.tenant;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const summaryArea = h('div', { class: 'summary', 'aria-live': 'polite' });
  const breakdownArea = h('div', { class: 'breakdowns' });
  const listArea = h('div', {});

  const groups = await api.groups(tenant).catch(() => []);
  const search = field('Search', { type: 'search', autocomplete: 'off', placeholder: 'id, name, model, version, attribute', maxlength: 128 });
  const model = field('Model', { autocomplete: 'off', maxlength: 64, list: 'fleet-models', placeholder: 'any' });
  const version = field('Version', { autocomplete: 'off', maxlength: 64, list: 'fleet-versions', placeholder: 'any', hint: 'Reported by the device, else installed through the server' });
  const group = field('Group', { kind: 'select', options: [{ value: '', label: 'any' }, ...groups.map((g) => ({ value: g.name, label: `${g.name} (${g.members})` }))] });
  const attribute = field('Attribute', { autocomplete: 'off', maxlength: 200, placeholder: 'key=value', pattern: '[^=]+=.*', hint: 'e.g. hw=rev2' });
  const status = field('Status', { kind: 'select', options: [{ value: '', label: 'any' }, { value: 'online', label: 'online' }, { value: 'offline', label: 'offline' }, { value: 'never', label: 'never seen' }] });
  const windowSel = field('Online means seen within', { kind: 'select', options: ONLINE_WINDOWS });
  windowSel.input.value = ONLINE_DEFAULT;
  const modelList = h('datalist', { id: 'fleet-models' });
  const versionList = h('datalist', { id: 'fleet-versions' });

  let all = [];
  let shown = SHOW_STEP;
  let truncated = false;

  const form = h('form', { class: 'card filters', role: 'search', 'aria-labelledby': 'fleet-filter-title' },
    h('h2', { id: 'fleet-filter-title' }, 'Filter devices'), modelList, versionList,
    h('div', { class: 'filter-grid' }, search.row, model.row, version.row, group.row, attribute.row, status.row, windowSel.row),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => { form.reset(); windowSel.input.value = ONLINE_DEFAULT; load(); } } }, 'Clear')));

  function visible(now, windowMs) {
    const v = version.input.value.trim();
    return all.filter((d) => matchesSearch(d, search.input.value)).filter((d) => !v || versionOf(d) === v).filter((d) => {
      const s = status.input.value;
      if (!s) return true;
      if (s === 'never') return !d.last_seen;
      return Boolean(d.last_seen) && isOnline(d, now, windowMs) === (s === 'online');
    });
  }

  function draw() {
    const now = Date.now();
    const windowMs = Number(windowSel.input.value);
    const rows = visible(now, windowMs);
    const sum = summarizeDevices(rows, now, windowMs);
    const filtered = rows.length !== all.length || model.input.value || version.input.value || group.input.value || attribute.input.value;
    summaryArea.replaceChildren(
      stat(filtered ? 'Devices (filtered)' : 'Devices', String(sum.total), truncated ? `the first ${all.length}` : null),
      stat('Online', String(sum.online), formatPercent(sum.online, sum.total)),
      stat('Offline', String(sum.offline), formatPercent(sum.offline, sum.total)),
      stat('Never seen', String(sum.never), null),
      rateStat);
    breakdownArea.replaceChildren(
      breakdown('By product', sum.byProduct, sum.total, null),
      breakdown('By model', sum.byModel, sum.total, (k) => { model.input.value = k; load(); }),
      breakdown('By version', sum.byVersion, sum.total, (k) => { version.input.value = k; shown = SHOW_STEP; draw(); }, 'none yet'));
    if (!all.length) {
      listArea.replaceChildren(filtered
        ? empty('No device matches these filters.', 'Clear the filters to see the whole fleet.')
        : empty('No devices yet — provision devices via the API.',
          `A device appears here once it is provisioned for this tenant (POST /api/v1/tenants/${tenant}/devices, or bulk CSV) ` +
          `or polls the device API with the tenant’s gateway token (/${tenant}/controller/v1/{controllerId}, hawkBit DDI compatible).`));
      breakdownArea.replaceChildren();
      return;
    }
    if (!rows.length) {
      listArea.replaceChildren(empty('No device matches this search.', 'Search looks at the id, name, model, version and attributes.'));
      return;
    }
    const more = rows.length > shown
      ? h('button', { type: 'button', class: 'secondary', on: { click: () => { shown += SHOW_STEP; draw(); } } }, `Show more (${rows.length - shown} left)`)
      : null;
    listArea.replaceChildren(...[
      h('div', { class: 'cards-grid' }, table(`Devices of ${tenant}${rows.length > shown ? ` (first ${shown} of ${rows.length})` : ''}`, [
        { label: 'Device', cell: (d) => h('a', { href: `#/device/${encodeURIComponent(d.controller_id)}` }, d.controller_id) },
        { label: 'Name', cell: (d) => d.name || '—' },
        { label: 'Product', cell: (d) => productOf(d) || '—' },
        { label: 'Model', cell: (d) => d.model || '—' },
        { label: 'Version', cell: (d) => versionOf(d) || h('span', { class: 'muted' }, 'none yet') },
        { label: 'Status', cell: (d) => statusBadge(d, now, windowMs) },
        { label: 'Last seen', cell: (d) => (d.last_seen ? h('time', { datetime: d.last_seen, title: d.last_seen }, ago(d.last_seen, now)) : '—') },
      ], rows.slice(0, shown))),
      more].filter(Boolean));
  }

  let rateStat = stat('Update success', '…', 'recent rollouts');
  async function loadRate() {
    const r = await recentRate(api, tenant);
    const text = r && r.rate !== null ? formatPercent(r.success, r.success + r.failure) : '—';
    const note = !r ? 'rollouts unavailable' : r.rollouts === 0 ? 'no rollout yet'
      : `${r.success} ok, ${r.failure} failed, last ${r.rollouts} rollout${r.rollouts === 1 ? '' : 's'}`;
    // The devices may have been drawn already (they often answer first): swap
    // the stat in place, or it reads "…" until the next minute's redraw.
    const before = rateStat;
    rateStat = stat('Update success', text, note);
    before.replaceWith(rateStat);
  }

  async function load() {
    shown = SHOW_STEP;
    const filters = {
      model: model.input.value.trim() || undefined,
      group: group.input.value || undefined,
      attribute: attribute.input.value.trim() || undefined,
    };
    try {
      const r = await busy(form, () => loadDevices(api, tenant, filters));
      all = r.devices;
      truncated = r.truncated;
      box.replaceChildren();
      if (!filters.model) {
        const s = summarizeDevices(all, 0, 0);
        modelList.replaceChildren(...[...s.byModel.keys()].filter(Boolean).map((m) => h('option', { value: m })));
        versionList.replaceChildren(...[...s.byVersion.keys()].filter(Boolean).map((v) => h('option', { value: v })));
      }
    } catch (e) {
      showError(box, e);
      all = [];
    }
    draw();
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  search.input.addEventListener('input', () => { shown = SHOW_STEP; draw(); });
  status.input.addEventListener('change', () => draw());
  windowSel.input.addEventListener('change', () => draw());
  await Promise.all([loadRate(), load()]);
  // Last seen moves on while the page is open: redraw each minute.
  const timer = setInterval(() => ctx.current() && draw(), 60e3);
  const push = pushStatus({ api, tenant, current: ctx.current });
  ctx.onLeave(() => { clearInterval(timer); push.stop(); });

  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Fleet', h('span', { class: 'sub' }, tenant)),
    h('p', { class: 'lead' }, 'Devices of this tenant by product, model and version; online means the device polled recently.'),
    summaryArea, push.el, breakdownArea, form, box, listArea,
    groupSchedulesCard(ctx, groups));
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function resultBadge(a) {
  if (!a) return h('span', { class: 'muted' }, 'no update yet');
  if (a.status === 'finished' && a.result === 'success') return h('span', { class: 'badge badge-ok' }, 'success');
  if (a.status === 'canceled') return h('span', { class: 'badge badge-muted' }, 'canceled');
  if (a.status === 'error' || a.result === 'failure') return h('span', { class: 'badge badge-bad' }, 'failure');
  return h('span', { class: 'badge badge-info' }, a.status);
}

export async function renderDevice(ctx) {
  const { api, state } = ctx;
  const tenant = state.tenant;
  const id = ctx.arg;
  const back = h('p', { class: 'crumbs' }, h('a', { href: '#/fleet' }, '← Fleet'));
  if (!id) return h('section', {}, back, h('h1', {}, 'Device'), message('error', 'No device named in the address.'));
  const [device, history, releases] = await Promise.all([
    api.device(tenant, id),
    api.deviceHistory(tenant, id).catch(() => ({ actions: [] })),
    api.releases(tenant).catch(() => []),
  ]);
  const byId = new Map(releases.map((r) => [r.id, r]));
  const relName = (rid) => {
    const r = byId.get(rid);
    return r ? `${r.product} ${r.version}` : `release ${rid}`;
  };
  const now = Date.now();
  const slot = pickAttribute(device, SLOT_KEYS);
  const counter = pickAttribute(device, COUNTER_KEYS);
  const actions = history.actions || [];
  const last = lastResult(history);
  const installs = actions.filter((a) => a.status === 'finished' && a.result === 'success');
  const attrs = Object.entries(device.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  const notReported = h('span', { class: 'muted' }, 'not reported by the device');

  const lastDetail = (a) => {
    const fb = (a.feedback || []).at(-1);
    const details = fb && fb.details && fb.details.length ? fb.details.join(' · ') : '';
    return details ? h('span', { class: 'small' }, details) : '—';
  };

  return h('section', { 'aria-labelledby': 'page-title' },
    back,
    h('h1', { id: 'page-title' }, device.controller_id, device.name ? h('span', { class: 'sub' }, device.name) : null, statusBadge(device, now, 15 * 60e3)),
    h('div', { class: 'cols' },
      h('div', { class: 'card' }, h('h2', {}, 'Device'),
        facts([
          ['Product', productOf(device) || notReported],
          ['Model', device.model || '—'],
          ['Version', versionOf(device)
            ? h('span', {}, versionOf(device), device.attributes?.version && device.version && device.attributes.version !== device.version
              ? h('span', { class: 'muted small' }, ` (reported; last installed through the server: ${device.version})`) : null)
            : h('span', { class: 'muted' }, 'not reported, none installed through the server yet')],
          ['Active slot', slot ? slot[1] : notReported],
          (device.attributes?.version_a || device.attributes?.version_b)
            ? ['Slot versions', `A: ${device.attributes.version_a || '—'} · B: ${device.attributes.version_b || '—'}`] : null,
          ['Anti-rollback counter', counter ? counter[1] : notReported],
          ['Last seen', device.last_seen ? h('span', {}, when(device.last_seen), ` (${ago(device.last_seen, now)})`) : 'never'],
          ['Last result', h('span', {}, resultBadge(last), last ? ` ${relName(last.release)}` : '')],
          ['Provisioned', when(device.created_at)],
        ])),
      h('div', { class: 'card' }, h('h2', {}, 'Attributes'),
        attrs.length
          ? facts(attrs.map(([k, v]) => [k, h('span', { class: 'mono' }, v)]))
          : h('p', { class: 'muted' }, 'The device has not sent configData yet.'),
        h('p', { class: 'hint' }, device.attributes_from_device === false
          ? 'Set at provisioning; the device has not sent its own yet.'
          : 'Sent by the device through DDI configData (otter-agentd sends product and model).'))),
    h('h2', {}, 'Version history'),
    installs.length
      ? h('ol', { class: 'timeline' }, installs.map((a) => h('li', {}, h('strong', {}, relName(a.release)), ' installed ', when(a.updated_at),
        a.rollout ? h('span', {}, ' by ', h('a', { href: `#/rollout/${a.rollout}` }, `rollout ${a.rollout}`)) : ' (deployment)')))
      : empty('No update installed yet.', 'Each update the device installs with success appears here.'),
    h('h2', {}, 'Updates and results'),
    actions.length
      ? table(`Updates of ${device.controller_id}, newest first`, [
        { label: 'Action', cell: (a) => `#${a.id}` },
        { label: 'Release', cell: (a) => relName(a.release) },
        { label: 'Rollout', cell: (a) => (a.rollout ? h('span', {}, h('a', { href: `#/rollout/${a.rollout}` }, `#${a.rollout}`), Number.isInteger(a.stage) ? `, stage ${a.stage + 1}` : '') : 'deployment') },
        { label: 'Status', cell: (a) => resultBadge(a) },
        // The user's consent (issue #17): asked, declined, or the last choice the device reported.
        { label: 'User', cell: (a) => (a.user ? `${a.user.choice}${a.user.until ? ` until ${when(a.user.until)}` : ''}` : a.confirmation === 'waiting' ? 'asked' : '—') },
        { label: 'Updated', cell: (a) => when(a.updated_at) },
        { label: 'Last message', cell: lastDetail },
      ], actions)
      : empty('No updates offered to this device yet.', 'Rollouts and deployments create them.'));
}
