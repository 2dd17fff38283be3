// SPDX-License-Identifier: Apache-2.0
// The dashboard's arithmetic, without DOM or network (node --test covers it):
// fleet summaries, the rollout form's checks, which rollout commands a state
// allows, and the history of live rollout counts the charts draw.

/** "1.5 MiB" from a byte count. */
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "50 %" with no more than one decimal; '—' when there is nothing to divide. */
export function formatPercent(part, whole) {
  if (!whole) return '—';
  const p = (100 * part) / whole;
  return `${Number.isInteger(p) ? p : p.toFixed(1)} %`;
}

/** A device is online when it polled within windowMs of now (ms since the epoch). */
export function isOnline(device, now, windowMs) {
  if (!device || !device.last_seen) return false;
  const t = Date.parse(device.last_seen);
  return Number.isFinite(t) && now - t <= windowMs;
}

/** The product a device runs: what it reported in configData, else unknown. */
export function productOf(device) {
  return (device && device.attributes && device.attributes.product) || '';
}

/**
 * The version a device runs: what it reports in configData (`version`) first, else the
 * release it last installed through the server — as the server's rollout filters see it.
 */
export function versionOf(device) {
  return (device && device.attributes && device.attributes.version) || (device && device.version) || '';
}

function countBy(map, key) {
  const k = key || '';
  map.set(k, (map.get(k) || 0) + 1);
}

/**
 * Counts a list of devices: total, online, offline (seen, but not lately), never seen,
 * and per product, per model and per installed version (Maps, '' = unknown), each
 * sorted by count (largest first), then name.
 */
export function summarizeDevices(devices, now, windowMs) {
  const s = { total: 0, online: 0, offline: 0, never: 0, byProduct: new Map(), byModel: new Map(), byVersion: new Map() };
  for (const d of devices) {
    s.total += 1;
    if (!d.last_seen) s.never += 1;
    else if (isOnline(d, now, windowMs)) s.online += 1;
    else s.offline += 1;
    countBy(s.byProduct, productOf(d));
    countBy(s.byModel, d.model);
    countBy(s.byVersion, versionOf(d));
  }
  const sorted = (m) => new Map([...m].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))));
  s.byProduct = sorted(s.byProduct);
  s.byModel = sorted(s.byModel);
  s.byVersion = sorted(s.byVersion);
  return s;
}

/** Free-text search over controller id, name, model, version and attribute values. */
export function matchesSearch(device, q) {
  const needle = String(q || '').trim().toLowerCase();
  if (!needle) return true;
  const hay = [device.controller_id, device.name, device.model, versionOf(device),
    ...Object.entries(device.attributes || {}).map(([k, v]) => `${k}=${v}`)];
  return hay.some((x) => x && String(x).toLowerCase().includes(needle));
}

/** Success rate of updates from rollout stats documents: success ÷ (success + failure). */
export function successRate(statsList) {
  let success = 0;
  let failure = 0;
  for (const s of statsList) {
    success += s?.total?.success || 0;
    failure += s?.total?.failure || 0;
  }
  return { success, failure, rate: success + failure ? success / (success + failure) : null };
}

/** The latest closed result of a device's history (newest first), or null. */
export function lastResult(history) {
  for (const a of history?.actions || []) {
    if (['finished', 'error', 'canceled'].includes(a.status)) return a;
  }
  return null;
}

/** "a, b ,c" or "a\nb" → ['a', 'b', 'c'] (empty items dropped, duplicates kept out). */
export function splitList(text) {
  const out = [];
  for (const x of String(text || '').split(/[,\n]/)) {
    const v = x.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** "hw=rev2, region=eu" → {hw: 'rev2', region: 'eu'}; throws on an item without '='. */
export function parseAttributes(text) {
  const out = {};
  for (const item of splitList(text)) {
    const at = item.indexOf('=');
    if (at <= 0) throw new Error(`attribute “${item}” is not key=value`);
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
}

/**
 * Checks a rollout's stages as the server does: 1..100 percents strictly increasing,
 * thresholds 0..100, min_devices ≥ 0. → '' when fine, else what is wrong.
 */
export function checkStages(stages) {
  if (!Array.isArray(stages) || stages.length === 0) return 'A rollout needs at least one stage.';
  let prev = 0;
  for (const [i, st] of stages.entries()) {
    const n = i + 1;
    const ints = ['percent', 'success_threshold', 'failure_threshold', 'min_devices'];
    for (const k of ints) {
      if (!Number.isInteger(st[k])) return `Stage ${n}: ${k.replace('_', ' ')} must be a whole number.`;
    }
    if (st.percent < 1 || st.percent > 100) return `Stage ${n}: the percentage must be 1 to 100.`;
    if (st.percent <= prev) return `Stage ${n}: each stage must reach more devices than the one before (${st.percent} % ≤ ${prev} %).`;
    if (st.success_threshold < 0 || st.success_threshold > 100) return `Stage ${n}: the success threshold must be 0 to 100 %.`;
    if (st.failure_threshold < 0 || st.failure_threshold > 100) return `Stage ${n}: the failure threshold must be 0 to 100 %.`;
    if (st.min_devices < 0) return `Stage ${n}: the minimum number of devices cannot be negative.`;
    prev = st.percent;
  }
  return '';
}

/**
 * The body of POST …/rollouts and …/rollouts/preview from the form's values.
 * v: {name, release, products, models, groups, versions, attributes (texts), stages[], download, update,
 * maintenanceWindow}. Filter members are left out when empty.
 */
export function rolloutBody(v) {
  const filter = {};
  const products = splitList(v.products);
  const models = splitList(v.models);
  const groups = splitList(v.groups);
  const versions = splitList(v.versions);
  const attributes = parseAttributes(v.attributes);
  if (products.length) filter.products = products;
  if (models.length) filter.models = models;
  if (groups.length) filter.groups = groups;
  if (versions.length) filter.versions = versions;
  if (Object.keys(attributes).length) filter.attributes = attributes;
  return {
    name: String(v.name || '').trim(),
    release: Number(v.release),
    filter,
    stages: v.stages.map((s) => ({
      percent: Number(s.percent),
      success_threshold: Number(s.success_threshold),
      failure_threshold: Number(s.failure_threshold),
      min_devices: Number(s.min_devices || 0),
    })),
    download: v.download || 'forced',
    update: v.update || 'forced',
    maintenance_window: v.maintenanceWindow || null,
    // download_then_ask means download forced, update attempt (the server refuses anything else).
    ...(v.consent === 'download_then_ask'
      ? { consent: v.consent, download: 'forced', update: 'attempt' }
      : { consent: v.consent || 'auto' }),
  };
}

/** The decisions an approver may take on a release in this approval state (docs/rollouts.md). */
export function decisionsFor(approval) {
  const st = approval?.state;
  if (st === 'pending') return ['approve', 'reject'];
  if (st === 'approved') return ['revoke'];
  if (st === 'rejected' || st === 'revoked') return ['approve'];
  return [];
}

/**
 * The commands a rollout in this state accepts (the server answers 409 otherwise).
 * 'retry' is resume with retry_failed: offered when a paused rollout has failures.
 */
export function commandsFor(rollout, failures = 0) {
  const st = rollout?.state;
  const last = (rollout?.stages?.length || 1) - 1;
  const out = [];
  if (st === 'draft') out.push('start');
  if (st === 'running') out.push('pause');
  if (st === 'paused') out.push('resume');
  if (st === 'paused' && failures > 0) out.push('retry');
  if ((st === 'running' || st === 'paused') && (rollout.current_stage ?? 0) < last) out.push('advance');
  if (st === 'draft' || st === 'running' || st === 'paused') out.push('cancel');
  return out;
}

/** Devices at work on the update: offered but not started, or downloading/installing. */
export const inProgress = (c) => (c?.scheduled || 0) + (c?.running || 0);

/**
 * The live counts over time, for the charts: one sample per stats document (a new one
 * replaces the last when it carries the same second). series(stage) → uPlot data
 * [[t…], [success…], [failure…], [in progress…]] for one stage index, or for all
 * stages together with stage = 'all'.
 */
export class StatsHistory {
  constructor(max = 2000) {
    this.max = max;
    this.samples = [];
  }

  push(stats, nowMs = Date.now()) {
    if (!stats || !stats.total) return false;
    const parsed = Date.parse(stats.at);
    const t = Math.floor((Number.isFinite(parsed) ? parsed : nowMs) / 1000);
    const last = this.samples[this.samples.length - 1];
    if (last && last.t > t) return false; // out of order: keep the newer one
    if (last && last.t === t) this.samples.pop();
    this.samples.push({ t, stats });
    if (this.samples.length > this.max) this.samples.shift();
    return true;
  }

  get latest() {
    return this.samples.length ? this.samples[this.samples.length - 1].stats : null;
  }

  series(stage = 'all') {
    const t = [];
    const ok = [];
    const bad = [];
    const busy = [];
    for (const { t: ts, stats } of this.samples) {
      const c = stage === 'all' ? stats.total : (stats.stages || []).find((s) => s.index === stage);
      t.push(ts);
      ok.push(c ? c.success || 0 : null);
      bad.push(c ? c.failure || 0 : null);
      busy.push(c ? inProgress(c) : null);
    }
    return [t, ok, bad, busy];
  }
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" for an ISO time before now. */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso || '');
  if (!Number.isFinite(t)) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return d === 1 ? '1 day ago' : `${d} days ago`;
}

// Attribute names devices use for the active slot and the anti-rollback counter (configData).
export const SLOT_KEYS = ['slot', 'active_slot', 'boot_slot', 'current_slot'];
export const COUNTER_KEYS = ['security_counter', 'rollback_counter', 'counter', 'security_version'];

/** The first of keys present (and not empty) in the device's attributes, as [key, value], or null. */
export function pickAttribute(device, keys) {
  const a = device?.attributes || {};
  for (const k of keys) if (Object.hasOwn(a, k) && a[k] !== '') return [k, a[k]]; // '' = not known
  return null;
}

/**
 * A rollout's artifact bytes (stats.traffic, docs/rollouts.md "Bytes sent"):
 * sent, what a full update would be, and the share saved ("—" before any download;
 * negative when deltas cost more).
 */
export function trafficSummary(t) {
  const sent = t?.bytes_sent || 0;
  const full = t?.bytes_full_equivalent || 0;
  return {
    sent,
    full,
    deltas: t?.delta?.downloads || 0,
    saved: full ? formatPercent(full - sent, full) : '—',
  };
}
