// SPDX-License-Identifier: Apache-2.0
// Push wake-up in the dashboard (issue #15, docs/rollouts.md "Push state"): whether the
// server publishes wake-ups and is connected to its MQTT broker, its counters (published,
// dropped, waiting), and on a rollout's page the wake-ups sent for its stages (this server's
// record). GET …/push and GET …/rollouts/{id}/push, refreshed every few seconds.
import { h } from './dom.js';
import { table, when } from './ui.js';

const REFRESH_MS = 5e3;

/** The publisher's state in words: {key, text} with key off | connected | disconnected. */
export function pushStateText(doc) {
  if (!doc || !doc.enabled) return { key: 'off', text: 'off: devices learn of updates when they poll' };
  if (!doc.connected) return { key: 'disconnected', text: 'broker not connected: wake-ups are dropped, devices poll' };
  return { key: 'connected', text: 'connected to the broker' };
}

/** "12 published, 0 dropped, 0 waiting" (or '' when push is off). */
export function pushCountsText(doc) {
  if (!doc || !doc.enabled) return '';
  return `${doc.published || 0} published, ${doc.dropped || 0} dropped, ${doc.queued || 0} waiting`;
}

/** A stat block with data-push=key for tests and styling. */
function stateStat(doc) {
  const s = pushStateText(doc);
  return h('div', { class: 'stat', 'data-push': s.key },
    h('span', { class: 'stat-label' }, 'Push wake-up'),
    h('span', { class: `stat-value ${s.key === 'connected' ? 'ok' : s.key === 'disconnected' ? 'bad' : ''}` }, s.key === 'connected' ? 'on' : s.key === 'off' ? 'off' : 'down'),
    h('span', { class: 'stat-note', 'data-push-counts': '' }, [s.text, pushCountsText(doc)].filter(Boolean).join('; ')));
}

function stageText(w) {
  return w.stage === null || w.stage === undefined ? 'every stage' : `up to stage ${w.stage + 1}`;
}

/** Refreshes load() every few seconds while current(); returns stop(). */
function every(load, current) {
  const timer = setInterval(() => { if (current()) load(); }, REFRESH_MS);
  return () => clearInterval(timer);
}

/** The Fleet page's small status: {el, stop}. */
export function pushStatus({ api, tenant, current }) {
  const el = h('div', { class: 'summary push-status' });
  const load = () => api.pushState(tenant).then((d) => { if (current()) el.replaceChildren(stateStat(d)); }).catch(() => {});
  load();
  return { el, stop: every(load, current) };
}

/** The rollout page's card: the publisher's state and the rollout's wake-ups; {el, stop}. */
export function rolloutPushCard({ api, tenant, rollout, current }) {
  const stat = h('div', { class: 'summary' });
  const list = h('div', {});
  function draw(d) {
    stat.replaceChildren(stateStat(d));
    const ws = d.wakeups || [];
    list.replaceChildren(ws.length
      ? table('Wake-ups sent for this rollout (newest first)', [
        { label: 'When', cell: (w) => when(w.at) },
        { label: 'For', cell: (w) => (w.kind === 'cancel' ? 'cancel' : `offer, ${stageText(w)}`) },
        { label: 'Devices woken', cell: (w) => h('span', { 'data-wakeup-devices': String(w.devices) }, String(w.devices)) },
        { label: 'Dropped', cell: (w) => String(w.dropped) },
      ], ws)
      : h('p', { class: 'muted', 'data-wakeups': '0' }, d.enabled ? 'No wake-up sent for this rollout by this server yet.' : 'Push is off on this server.'));
  }
  const load = () => api.rolloutPush(tenant, rollout.id).then((d) => { if (current()) draw(d); }).catch(() => {});
  load();
  const el = h('div', { class: 'card push-card' }, h('h2', {}, 'Push wake-up'),
    h('p', { class: 'hint' }, 'The server tells devices to poll at once when an update becomes available to them (start, next stage, a changed schedule, cancel). Polling still reaches every device, only later.'),
    stat, list);
  return { el, stop: every(load, current), refresh: load };
}
