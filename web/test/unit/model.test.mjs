// SPDX-License-Identifier: Apache-2.0
// model.js: fleet summaries, the rollout form's checks and body, rollout commands by
// state, and the live count history the charts draw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  StatsHistory, ago, checkStages, commandsFor, formatBytes, formatPercent, isOnline, lastResult,
  decisionsFor, matchesSearch, versionOf, parseAttributes, pickAttribute, rolloutBody, splitList, successRate, summarizeDevices,
  SLOT_KEYS, trafficSummary,
} from '../../src/js/model.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const min = 60e3;
const iso = (msAgo) => new Date(NOW - msAgo).toISOString();

test('online means polled within the window; never seen is neither online nor offline', () => {
  const devices = [
    { controller_id: 'a', model: 'gw-a', version: '1.0', last_seen: iso(2 * min), attributes: { product: 'gw' } },
    { controller_id: 'b', model: 'gw-a', version: '1.1', last_seen: iso(60 * min), attributes: { product: 'gw' } },
    { controller_id: 'c', model: 'gw-b', version: '1.0', last_seen: null, attributes: {} },
    { controller_id: 'd', model: 'gw-a', version: null, last_seen: iso(0), attributes: { product: 'gw' } },
  ];
  assert.equal(isOnline(devices[0], NOW, 15 * min), true);
  assert.equal(isOnline(devices[1], NOW, 15 * min), false);
  assert.equal(isOnline(devices[2], NOW, 15 * min), false);
  const s = summarizeDevices(devices, NOW, 15 * min);
  assert.deepEqual([s.total, s.online, s.offline, s.never], [4, 2, 1, 1]);
  assert.deepEqual([...s.byModel], [['gw-a', 3], ['gw-b', 1]]);
  assert.deepEqual([...s.byVersion], [['1.0', 2], ['', 1], ['1.1', 1]]);
  assert.deepEqual([...s.byProduct], [['gw', 3], ['', 1]]);
});

test('search looks at id, name, model, version and attributes, case-insensitively', () => {
  const d = { controller_id: 'GW-0042', name: 'Lab', model: 'gw-a', version: '2.4.1', attributes: { region: 'eu-west' } };
  for (const q of ['', 'gw-0042', 'lab', 'GW-A', '2.4', 'eu-west', 'region=eu']) assert.ok(matchesSearch(d, q), q);
  assert.equal(matchesSearch(d, 'us-east'), false);
});

test('success rate over rollout stats; none reported gives null', () => {
  assert.deepEqual(successRate([{ total: { success: 9, failure: 1 } }, { total: { success: 0, failure: 0 } }]), { success: 9, failure: 1, rate: 0.9 });
  assert.equal(successRate([]).rate, null);
  assert.equal(formatPercent(9, 10), '90 %');
  assert.equal(formatPercent(1, 3), '33.3 %');
  assert.equal(formatPercent(1, 0), '—');
});

test('last result: the newest closed action of a history', () => {
  const h = { actions: [{ id: 3, status: 'running' }, { id: 2, status: 'error', result: 'failure' }, { id: 1, status: 'finished', result: 'success' }] };
  assert.equal(lastResult(h).id, 2);
  assert.equal(lastResult({ actions: [] }), null);
});

test('slot and counter come from the first known attribute name', () => {
  assert.deepEqual(pickAttribute({ attributes: { boot_slot: 'B', slot: 'A' } }, SLOT_KEYS), ['slot', 'A']);
  assert.equal(pickAttribute({ attributes: {} }, SLOT_KEYS), null);
  assert.equal(pickAttribute({ attributes: { slot: '' } }, SLOT_KEYS), null, 'otter-agentd sends "" when it does not know');
});

test('sizes and ages', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
  assert.equal(formatBytes(undefined), '—');
  assert.equal(ago(iso(10e3), NOW), 'just now');
  assert.equal(ago(iso(5 * min), NOW), '5 min ago');
  assert.equal(ago(iso(3 * 60 * min), NOW), '3 h ago');
  assert.equal(ago(iso(50 * 60 * min), NOW), '2 days ago');
  assert.equal(ago(null, NOW), 'never');
});

test('lists and attributes from the form', () => {
  assert.deepEqual(splitList(' a, b ,,a\nc '), ['a', 'b', 'c']);
  assert.deepEqual(parseAttributes('hw=rev2, region = eu, k=a=b'), { hw: 'rev2', region: 'eu', k: 'a=b' });
  assert.throws(() => parseAttributes('hw'), /not key=value/);
  assert.throws(() => parseAttributes('=x'), /not key=value/);
});

test('stages: percents strictly increasing within 1..100, thresholds 0..100', () => {
  const st = (percent, ok = 90, bad = 10, m = 0) => ({ percent, success_threshold: ok, failure_threshold: bad, min_devices: m });
  assert.equal(checkStages([st(10), st(50), st(100)]), '');
  assert.equal(checkStages([st(10), st(60)]), '', 'the last stage need not be 100 %');
  assert.match(checkStages([]), /at least one stage/);
  assert.match(checkStages([st(10), st(10)]), /Stage 2: .*more devices/);
  assert.match(checkStages([st(0)]), /1 to 100/);
  assert.match(checkStages([st(101)]), /1 to 100/);
  assert.match(checkStages([st(10, 101)]), /success threshold/);
  assert.match(checkStages([st(10, 90, -1)]), /failure threshold/);
  assert.match(checkStages([st(10, 90, 10, -1)]), /negative/);
  assert.match(checkStages([st(NaN)]), /whole number/);
});

test('rollout body: the contract’s shape, empty filter members left out', () => {
  const b = rolloutBody({
    name: ' eu-wave-1 ', release: '12', products: 'gw, ', models: 'm1', groups: '', versions: '1.0.0', attributes: 'k=v',
    stages: [{ percent: '10', success_threshold: '90', failure_threshold: '20', min_devices: '' }, { percent: '100', success_threshold: '100', failure_threshold: '10', min_devices: '5' }],
    download: 'forced', update: 'attempt', maintenanceWindow: '',
  });
  assert.deepEqual(b, {
    name: 'eu-wave-1', release: 12,
    filter: { products: ['gw'], models: ['m1'], versions: ['1.0.0'], attributes: { k: 'v' } },
    stages: [
      { percent: 10, success_threshold: 90, failure_threshold: 20, min_devices: 0 },
      { percent: 100, success_threshold: 100, failure_threshold: 10, min_devices: 5 },
    ],
    download: 'forced', update: 'attempt', maintenance_window: null, consent: 'auto',
  });
  assert.deepEqual(rolloutBody({ name: 'x', release: 1, stages: [], maintenanceWindow: 'available' }).filter, {});
  // Consent (issue #17): download_then_ask brings its own modes.
  const d = rolloutBody({ name: 'x', release: 1, stages: [], download: 'skip', update: 'forced', consent: 'download_then_ask' });
  assert.deepEqual([d.consent, d.download, d.update], ['download_then_ask', 'forced', 'attempt']);
  assert.equal(rolloutBody({ name: 'x', release: 1, stages: [], consent: 'ask' }).consent, 'ask');
});

test('commands by state: what the server accepts', () => {
  const r = (state, current_stage = 0, n = 3) => ({ state, current_stage, stages: Array.from({ length: n }, (_, i) => ({ index: i })) });
  assert.deepEqual(commandsFor(r('draft')), ['start', 'cancel']);
  assert.deepEqual(commandsFor(r('running')), ['pause', 'advance', 'cancel']);
  assert.deepEqual(commandsFor(r('running', 2)), ['pause', 'cancel'], 'no advance from the last stage');
  assert.deepEqual(commandsFor(r('paused', 1)), ['resume', 'advance', 'cancel']);
  assert.deepEqual(commandsFor(r('paused', 1), 3), ['resume', 'retry', 'advance', 'cancel'], 'retry only with failures');
  assert.deepEqual(commandsFor(r('running'), 3), ['pause', 'advance', 'cancel'], 'retry only when paused');
  assert.deepEqual(commandsFor(r('finished')), []);
  assert.deepEqual(commandsFor(r('canceled')), []);
});

test('stats history: one sample per second, series per stage and for all', () => {
  const stats = (at, s0, s1) => ({
    rollout: 3, at, total: { devices: 20, success: s0.success + s1.success, failure: s0.failure + s1.failure, scheduled: s0.scheduled + s1.scheduled, running: s0.running + s1.running },
    stages: [{ index: 0, ...s0 }, { index: 1, ...s1 }],
  });
  const c = (success, failure, scheduled, running) => ({ success, failure, scheduled, running });
  const hist = new StatsHistory(3);
  assert.equal(hist.push(null), false);
  assert.ok(hist.push(stats('2026-11-25T10:00:00Z', c(0, 0, 2, 0), c(0, 0, 0, 0))));
  assert.ok(hist.push(stats('2026-11-25T10:00:00.500Z', c(0, 0, 1, 1), c(0, 0, 0, 0))), 'same second: replaces');
  assert.ok(hist.push(stats('2026-11-25T10:00:05Z', c(1, 1, 0, 0), c(0, 0, 3, 0))));
  assert.equal(hist.push(stats('2026-11-25T09:59:00Z', c(0, 0, 0, 0), c(0, 0, 0, 0))), false, 'older: dropped');
  const t0 = Date.parse('2026-11-25T10:00:00Z') / 1000;
  assert.deepEqual(hist.series('all'), [[t0, t0 + 5], [0, 1], [0, 1], [2, 3]]);
  assert.deepEqual(hist.series(0), [[t0, t0 + 5], [0, 1], [0, 1], [2, 0]]);
  assert.deepEqual(hist.series(1), [[t0, t0 + 5], [0, 0], [0, 0], [0, 3]]);
  assert.deepEqual(hist.series(7)[1], [null, null], 'an unknown stage has gaps, not zeros');
  hist.push(stats('2026-11-25T10:00:06Z', c(1, 1, 0, 0), c(1, 0, 2, 0)));
  hist.push(stats('2026-11-25T10:00:07Z', c(1, 1, 0, 0), c(2, 0, 1, 0)));
  assert.equal(hist.samples.length, 3, 'bounded');
  assert.equal(hist.latest.stages[1].success, 2);
});

test('decisions by approval state: pending → approve or reject; approved → revoke; rejected or revoked → approve again', () => {
  assert.deepEqual(decisionsFor({ state: 'pending' }), ['approve', 'reject']);
  assert.deepEqual(decisionsFor({ state: 'approved' }), ['revoke']);
  assert.deepEqual(decisionsFor({ state: 'rejected' }), ['approve']);
  assert.deepEqual(decisionsFor({ state: 'revoked' }), ['approve']);
  assert.deepEqual(decisionsFor(undefined), []);
});

test('version: the device’s own report first, else the release installed through the server', () => {
  assert.equal(versionOf({ version: '1.0', attributes: { version: '1.1' } }), '1.1');
  assert.equal(versionOf({ version: '1.0', attributes: {} }), '1.0');
  assert.equal(versionOf({ version: null }), '');
  const s = summarizeDevices([{ version: '1.0', attributes: { version: '1.1' } }, { version: '1.1' }], 0, 0);
  assert.deepEqual([...s.byVersion], [['1.1', 2]]);
});

test('a rollout\'s bytes: sent, what a full update would be, the share saved', () => {
  assert.deepEqual(trafficSummary(undefined), { sent: 0, full: 0, deltas: 0, saved: '—' });
  const t = { full: { downloads: 1, bytes: 3000 }, delta: { downloads: 1, bytes: 600 }, bytes_sent: 3600, bytes_full_equivalent: 6000, bytes_saved: 2400 };
  assert.deepEqual(trafficSummary(t), { sent: 3600, full: 6000, deltas: 1, saved: '40 %' });
  assert.equal(trafficSummary({ bytes_sent: 1100, bytes_full_equivalent: 1000 }).saved, '-10 %');
});
