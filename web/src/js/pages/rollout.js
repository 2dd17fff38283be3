// SPDX-License-Identifier: Apache-2.0
// One rollout (#/rollout/{id}): its release, filter and stages, live counts per
// stage (waiting, scheduled, running, success, failure, canceled) and a chart of
// success, failure and in-progress devices over time since the rollout's start
// (the server's samples, GET …/rollouts/{id}/history), then fed by Server-Sent
// Events (GET …/rollouts/{id}/events with a ticket from POST /tickets), the bytes
// sent against a full update's, the bandwidth against its caps, and the push
// wake-ups sent for its stages. Operators and admins get start, pause, resume
// (also retrying the failed devices), advance and cancel, as the state allows,
// and change its maintenance schedule and postponing limits.
import { h, replace } from '../dom.js';
import { countsChart } from '../chart.js';
import { LIVE_CONNECTING, LIVE_OPEN, LIVE_RETRYING, createLiveFeed } from '../live.js';
import { StatsHistory, commandsFor, formatBytes, formatPercent, inProgress, trafficSummary } from '../model.js';
import { confirmDanger, empty, message, showError, showOk, table, when } from '../ui.js';
import { stateBadge } from './rollouts.js';
import { campaignEditor, campaignFacts, deferralsStat } from './schedules.js';
import { bandwidthCard } from '../bandwidth.js';
import { rolloutPushCard } from '../push.js';

const COMMAND_TEXT = {
  start: { label: 'Start', cls: 'primary', done: 'started' },
  pause: { label: 'Pause', cls: 'secondary', done: 'paused' },
  resume: { label: 'Resume', cls: 'primary', done: 'resumed' },
  retry: { label: 'Resume and retry failed devices', cls: 'secondary', done: 'resumed' },
  advance: { label: 'Advance to the next stage', cls: 'secondary', done: 'advanced to the next stage' },
  cancel: { label: 'Cancel rollout', cls: 'danger', done: 'canceled' },
};

const COUNT_COLUMNS = ['waiting', 'scheduled', 'running', 'success', 'failure', 'canceled'];

const CONSENT_TEXT = { auto: 'no: installs automatically', download_then_ask: 'downloads, then asks to start', ask: 'asks before downloading' };

/* The users' choices (docs/rollouts.md "Consent"). */
function usersStat(u) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Waiting for their users'),
    h('span', { class: 'stat-value', 'data-count': 'users-waiting' }, String(u.waiting || 0)),
    h('span', { class: 'stat-note', 'data-count': 'users' }, `${u.postponed || 0} postponed, ${u.declined || 0} declined, ${u.started || 0} started`));
}

/* Devices the model filter left out at the start (docs/rollouts.md "Compatible models"). */
function skippedStat(skipped) {
  const n = skipped?.incompatible;
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Left out'),
    h('span', { class: 'stat-value', 'data-count': 'incompatible' }, n === null || n === undefined ? '—' : String(n)),
    h('span', { class: 'stat-note' }, n === null || n === undefined ? 'counted when the rollout starts' : 'model not in the release’s compatible list'));
}

/* Artifact bytes against a full update's (docs/rollouts.md "Bytes sent"); exact figures in data-*. */
function trafficStat(traffic) {
  const t = trafficSummary(traffic);
  return h('div', { class: 'stat', 'data-bytes-sent': String(t.sent), 'data-bytes-full': String(t.full) },
    h('span', { class: 'stat-label' }, 'Bytes sent'),
    h('span', { class: 'stat-value', 'data-count': 'bytes-sent', title: `${t.sent} bytes` }, formatBytes(t.sent)),
    h('span', { class: 'stat-note', 'data-count': 'bytes' }, t.full
      ? `a full update would be ${formatBytes(t.full)}; saved ${t.saved} (${t.deltas} delta download${t.deltas === 1 ? '' : 's'})`
      : 'nothing downloaded yet'));
}

function filterText(f) {
  if (!f) return 'every device of the tenant';
  const parts = [];
  if (f.products?.length) parts.push(`products ${f.products.join(', ')}`);
  if (f.models?.length) parts.push(`models ${f.models.join(', ')}`);
  if (f.groups?.length) parts.push(`groups ${f.groups.join(', ')}`);
  if (f.versions?.length) parts.push(`versions ${f.versions.join(', ')}`);
  const attrs = Object.entries(f.attributes || {});
  if (attrs.length) parts.push(`attributes ${attrs.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return parts.length ? parts.join('; ') : 'every device of the tenant';
}

export async function renderRollout(ctx) {
  const { api, state, caps } = ctx;
  const tenant = state.tenant;
  const id = ctx.arg;
  const back = h('p', { class: 'crumbs' }, h('a', { href: '#/rollouts' }, '← Rollouts'));
  if (!/^[0-9]+$/.test(id)) return h('section', {}, back, h('h1', {}, 'Rollout'), message('error', 'No rollout named in the address.'));
  let rollout = await api.rollout(tenant, id);
  let failures = 0; // from the latest counts: a paused rollout with failures can retry them
  const history = new StatsHistory();
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const head = h('div', {});
  const controls = h('div', { class: 'rollout-controls' });
  const liveState = h('span', { class: 'live-state', role: 'status' }, 'connecting…');
  const totals = h('div', { class: 'summary' });
  const stagesArea = h('div', {});
  const chartSel = h('select', { id: 'chart-stage' });
  const chart = countsChart('Devices over time: success, failure, in progress');
  const chartNote = h('p', { class: 'hint', 'aria-live': 'polite' });

  if (state.flash) {
    showOk(box, state.flash);
    state.flash = '';
  }

  function drawHead() {
    const r = rollout;
    replace(head,
      h('h1', { id: 'page-title' }, r.name || `Rollout ${r.id}`, stateBadge(r), h('span', { class: 'sub' }, `#${r.id}`)),
      r.pause_reason && r.state === 'paused' ? message('info', `Paused: ${r.pause_reason}`) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Release'), h('dd', {}, r.release ? `${r.release.product} ${r.release.version} (#${r.release.id})` : '—'),
        h('dt', {}, 'Target'), h('dd', {}, filterText(r.filter)),
        h('dt', {}, 'Devices'), h('dd', {}, String(r.devices ?? '—')),
        h('dt', {}, 'Current stage'), h('dd', {}, `${(r.current_stage ?? 0) + 1} of ${(r.stages || []).length}`),
        h('dt', {}, 'Download, update'), h('dd', {}, `${r.download || 'forced'}, ${r.update || 'forced'}${r.maintenance_window ? `; maintenance window ${r.maintenance_window}` : ''}`),
        h('dt', {}, 'Ask the user'), h('dd', {}, CONSENT_TEXT[r.consent || 'auto'] || r.consent),
        campaignFacts(r),
        h('dt', {}, 'Stages'), h('dd', {}, (r.stages || []).map((s) => `${s.percent} %`).join(' → ') || '—'),
        h('dt', {}, 'Created'), h('dd', {}, when(r.created_at), r.created_by ? ` by ${r.created_by}` : '')));
    if (!caps.operateRollouts) {
      controls.replaceChildren();
      return;
    }
    const cmds = commandsFor(r, failures);
    controls.replaceChildren(...(cmds.length
      ? cmds.map((c) => h('button', { type: 'button', class: COMMAND_TEXT[c].cls, on: { click: () => command(c) } }, COMMAND_TEXT[c].label))
      : [h('p', { class: 'muted' }, `A ${r.state} rollout takes no more commands.`)]));
  }

  async function command(c) {
    const run = async () => {
      const retry = c === 'retry';
      rollout = await api.rolloutCommand(tenant, rollout.id, retry ? 'resume' : c, { retryFailed: retry });
      const n = rollout.retried ?? 0;
      showOk(box, `Rollout ${rollout.name} ${COMMAND_TEXT[c].done}${retry ? `; ${n} failed device${n === 1 ? '' : 's'} get${n === 1 ? 's' : ''} the update again` : ''}.`);
      drawHead();
      refreshStats();
    };
    if (c === 'cancel') {
      confirmDanger(`Cancel the rollout ${rollout.name}?`, 'Devices that have not started get nothing; running updates are asked to stop. This cannot be undone.', 'Cancel rollout', run);
      return;
    }
    try {
      await run();
    } catch (e) {
      showError(box, e);
    }
  }

  function stageTitle(s) {
    return `Stage ${s.index + 1} (${s.percent} %)`;
  }

  function drawStats(stats) {
    const t = stats.total || {};
    const done = (t.success || 0) + (t.failure || 0);
    totals.replaceChildren(
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Success'), h('span', { class: 'stat-value ok', 'data-count': 'success' }, String(t.success || 0)), h('span', { class: 'stat-note' }, formatPercent(t.success || 0, done))),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Failure'), h('span', { class: 'stat-value bad', 'data-count': 'failure' }, String(t.failure || 0)), h('span', { class: 'stat-note' }, formatPercent(t.failure || 0, done))),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'In progress'), h('span', { class: 'stat-value', 'data-count': 'in-progress' }, String(inProgress(t))), h('span', { class: 'stat-note' }, `${t.scheduled || 0} offered, ${t.running || 0} installing`)),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Waiting'), h('span', { class: 'stat-value', 'data-count': 'waiting' }, String(t.waiting || 0)), h('span', { class: 'stat-note' }, `of ${t.devices || 0} devices`)),
      usersStat(stats.users || {}),
      deferralsStat(stats.deferrals),
      skippedStat(stats.skipped),
      trafficStat(stats.traffic));
    stagesArea.replaceChildren(h('div', { class: 'cards-grid stage-counts' }, table('Devices per stage', [
      { label: 'Stage', cell: (s) => h('span', {}, stageTitle(s), ' ', h('span', { class: `badge ${s.state === 'current' ? 'badge-info' : s.state === 'done' ? 'badge-ok' : 'badge-muted'}` }, s.state)) },
      { label: 'Devices', cell: (s) => String(s.devices || 0) },
      ...COUNT_COLUMNS.map((k) => ({ label: k[0].toUpperCase() + k.slice(1), cell: (s) => String(s[k] || 0) })),
      { label: 'Progress', cell: (s) => h('meter', { min: 0, max: Math.max(1, s.devices || 0), value: (s.success || 0) + (s.failure || 0), 'aria-label': `${stageTitle(s)}: ${(s.success || 0) + (s.failure || 0)} of ${s.devices || 0} done` }) },
    ], stats.stages || [])));
    // The stage choice of the chart follows the stages the server reports.
    const want = ['all', ...(stats.stages || []).map((s) => String(s.index))];
    const have = [...chartSel.options].map((o) => o.value);
    if (want.join() !== have.join()) {
      const cur = chartSel.value || 'all';
      chartSel.replaceChildren(h('option', { value: 'all' }, 'All stages'), ...(stats.stages || []).map((s) => h('option', { value: String(s.index) }, stageTitle(s))));
      chartSel.value = want.includes(cur) ? cur : 'all';
    }
    // A state change (auto-pause at the failure threshold, stage advanced) shows at once.
    if (stats.state && (stats.state !== rollout.state || stats.current_stage !== rollout.current_stage)) {
      api.rollout(tenant, rollout.id).then((r) => { if (ctx.current()) { rollout = r; drawHead(); } }).catch(() => {});
    }
  }

  function drawChart() {
    const stage = chartSel.value === 'all' || !chartSel.value ? 'all' : Number(chartSel.value);
    const data = history.series(stage);
    chart.update(data).catch((e) => { chartNote.textContent = `The chart cannot be drawn: ${e.message}`; });
    const n = data[0].length;
    chartNote.dataset.samples = String(n);
    chartNote.dataset.past = String(pastSamples);
    chartNote.textContent = pastSamples
      ? `${n} sample${n === 1 ? '' : 's'} since the rollout started (${pastSamples} from the server’s record), then one per change the server reports.`
      : `${n} sample${n === 1 ? '' : 's'} since this page opened; one per change the server reports.`;
  }

  function onStats(stats) {
    if (String(stats.rollout) !== String(rollout.id) && stats.rollout !== undefined) return;
    history.push(stats);
    const f = stats.total?.failure || 0;
    const redraw = (f > 0) !== (failures > 0);
    failures = f;
    if (redraw) drawHead();
    drawStats(stats);
    drawChart();
  }

  async function refreshStats() {
    try {
      const s = await api.rolloutStats(tenant, rollout.id);
      if (ctx.current()) onStats(s);
    } catch (e) {
      if (ctx.current()) stagesArea.replaceChildren(message('error', `Counts: ${e.message}`));
    }
  }

  // The chart starts at the rollout's start: the server's samples first, then live counts.
  let pastSamples = 0;
  async function loadHistory() {
    try {
      const past = await api.rolloutHistory(tenant, rollout.id);
      for (const sample of past.samples || []) if (history.push(sample)) pastSamples += 1;
    } catch {
      /* an older server or a hiccup: the chart starts with this page, as before */
    }
  }

  chartSel.addEventListener('change', drawChart);
  drawHead();
  await loadHistory();
  await refreshStats();

  // Live: a fresh ticket for every (re)connection; while the feed is down, poll every 10 s.
  let poll = null;
  const feed = createLiveFeed({
    url: async () => {
      const t = await api.ticket();
      return api.rolloutEventsUrl(tenant, rollout.id, t.ticket);
    },
    events: ['stats'],
    onEvent: (name, data) => { if (ctx.current()) onStats(data); },
    onStatus: (s, info) => {
      if (!ctx.current()) return;
      if (s === LIVE_OPEN) {
        liveState.textContent = 'live';
        liveState.className = 'live-state live-on';
        clearInterval(poll);
        poll = null;
      } else if (s === LIVE_CONNECTING || s === LIVE_RETRYING) {
        liveState.textContent = s === LIVE_RETRYING && info.delay ? `reconnecting in ${Math.round(info.delay / 1000)} s (counts refresh every 10 s)` : 'connecting…';
        liveState.className = 'live-state live-off';
        if (s === LIVE_RETRYING && !poll) poll = setInterval(refreshStats, 10e3);
      }
    },
  });
  feed.start();
  const bandwidth = bandwidthCard({ api, tenant, rollout, caps, current: ctx.current });
  const push = rolloutPushCard({ api, tenant, rollout, current: ctx.current });
  // The campaign controls as stored replace the document's; devices follow them at once.
  const editable = ['draft', 'running', 'paused'].includes(rollout.state); // the server refuses the rest (409)
  const editor = caps.operateRollouts && editable ? campaignEditor({ api, tenant, rollout, onSaved: (doc) => {
    rollout = { ...rollout, window_open_now: undefined, ...doc, id: rollout.id };
    drawHead();
    refreshStats();
    push.refresh();
  } }) : null;
  const onResize = () => chart.resize();
  window.addEventListener('resize', onResize);
  ctx.onLeave(() => {
    feed.stop();
    bandwidth.stop();
    push.stop();
    clearInterval(poll);
    window.removeEventListener('resize', onResize);
    chart.destroy();
  });

  return h('section', { 'aria-labelledby': 'page-title', class: 'rollout' },
    back, head,
    caps.operateRollouts ? h('div', { class: 'card' }, h('h2', {}, 'Control'), controls) : null,
    box,
    editor,
    h('div', { class: 'live-row' }, h('h2', {}, 'Progress'), liveState),
    totals,
    h('div', { class: 'card chart-card' },
      h('div', { class: 'toolbar' }, h('label', { for: 'chart-stage' }, 'Chart of'), chartSel),
      chart.el, chartNote),
    bandwidth.el,
    push.el,
    stagesArea,
    (rollout.stages || []).length ? null : empty('This rollout has no stages.', ''));
}
