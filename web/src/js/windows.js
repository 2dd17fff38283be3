// SPDX-License-Identifier: Apache-2.0
// Campaign controls (issue #15, docs/rollouts.md "Maintenance schedules", "Deferrals"):
// weekly maintenance windows in a time zone, as the dashboard writes and shows them,
// and the deferral limits of a rollout. Pure functions; the pages draw them.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_RE = /^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$/;
const TIME_RE = /^([01][0-9]|2[0-4]):[0-5][0-9]$/;

/**
 * "mon-fri 01:00-05:00; sat,sun 22:00-04:00" → [{days, start, end}, …].
 * Throws an Error naming the part that is wrong (the server checks again).
 */
export function parseWindows(text) {
  const parts = String(text || '').split(/[;\n]/).map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw new Error('Give at least one window, like mon-fri 01:00-05:00.');
  return parts.map((p, i) => {
    const m = /^(\S+)\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)$/.exec(p);
    if (!m) throw new Error(`Window ${i + 1} ("${p}"): write days then start-end, like mon-fri 01:00-05:00.`);
    const days = m[1].toLowerCase().split(',').filter(Boolean);
    for (const d of days) {
      if (!DAY_RE.test(d)) throw new Error(`Window ${i + 1}: "${d}" is not a day (mon … sun) or a range like mon-fri.`);
      const [a, b] = d.split('-');
      if (b && DAYS.indexOf(b) < DAYS.indexOf(a)) throw new Error(`Window ${i + 1}: the range ${d} runs backwards.`);
    }
    for (const t of [m[2], m[3]]) {
      if (!TIME_RE.test(t) || t > '24:00') throw new Error(`Window ${i + 1}: ${t} is not a time from 00:00 to 24:00.`);
    }
    if (m[2] === '24:00') throw new Error(`Window ${i + 1}: a window cannot start at 24:00.`);
    if (m[2] === m[3]) throw new Error(`Window ${i + 1}: start and end are the same time.`);
    return { days, start: m[2], end: m[3] };
  });
}

/** Days in week order as short runs: ["mon","tue","wed"] → "mon-wed". */
export function daysText(days) {
  const on = DAYS.map((d) => days.some((x) => x === d || (x.includes('-') && DAYS.indexOf(x.split('-')[0]) <= DAYS.indexOf(d) && DAYS.indexOf(d) <= DAYS.indexOf(x.split('-')[1]))));
  const runs = [];
  for (let i = 0; i < 7; i++) {
    if (!on[i]) continue;
    let j = i;
    while (j + 1 < 7 && on[j + 1]) j++;
    runs.push(j > i + 1 ? `${DAYS[i]}-${DAYS[j]}` : j === i + 1 ? `${DAYS[i]},${DAYS[j]}` : DAYS[i]);
    i = j;
  }
  return runs.join(',');
}

/** The editable text of a schedule's windows (what parseWindows reads back). */
export function windowsText(schedule) {
  return (schedule?.windows || []).map((w) => `${daysText(w.days)} ${w.start}-${w.end}`).join('; ');
}

/** "mon-fri 01:00-05:00 (Asia/Shanghai)", or "none". */
export function scheduleText(schedule) {
  if (!schedule) return 'none';
  return `${windowsText(schedule)} (${schedule.time_zone})`;
}

/** A schedule object from the form's zone and windows text; null when both are empty. */
export function scheduleBody(zone, text) {
  const z = String(zone || '').trim();
  if (!z && !String(text || '').trim()) return null;
  if (!z) throw new Error('Give the time zone of the windows, like Asia/Shanghai.');
  return { time_zone: z, windows: parseWindows(text) };
}

/**
 * The campaign keys of a rollout request from the form's values:
 * {zone, windows, deferralMax, deferralHours, urgent} → {maintenance_schedule?, deferrals?, urgent?}.
 */
export function campaignBody(v) {
  const out = {};
  const schedule = scheduleBody(v.zone, v.windows);
  if (schedule) out.maintenance_schedule = schedule;
  if (v.urgent) {
    out.urgent = true;
    return out;
  }
  const max = String(v.deferralMax ?? '').trim();
  const hours = String(v.deferralHours ?? '').trim();
  if (max || hours) {
    out.deferrals = {};
    if (max) {
      const n = Number(max);
      if (!Number.isInteger(n) || n < 0 || n > 100) throw new Error('Postponements: a whole number from 0 to 100.');
      out.deferrals.max = n;
    }
    if (hours) {
      const s = Math.round(Number(hours) * 3600);
      if (!Number.isFinite(s) || s < 60 || s > 2592000) throw new Error('Longest postponement: from 1 minute (0.02 h) to 720 hours.');
      out.deferrals.max_seconds = s;
    }
  }
  return out;
}

/**
 * The body of PUT …/rollouts/{id}/campaign from the same form values: every key,
 * null where the form leaves a control empty (the server keeps nothing unsaid).
 */
export function campaignPutBody(v) {
  const b = campaignBody(v);
  return { maintenance_schedule: b.maintenance_schedule ?? null, deferrals: b.deferrals ?? null, urgent: Boolean(b.urgent) };
}

/** The form values of a rollout document's controls (what campaignPutBody reads back). */
export function campaignValues(r) {
  const d = r?.deferrals || {};
  return {
    zone: r?.maintenance_schedule?.time_zone || '',
    windows: windowsText(r?.maintenance_schedule),
    deferralMax: d.max === null || d.max === undefined ? '' : String(d.max),
    deferralHours: d.max_seconds ? String(+(d.max_seconds / 3600).toFixed(4)) : '',
    urgent: Boolean(r?.urgent),
  };
}

/** How a rollout's deferral limits read: "2 per device, 24 h each", "urgent: none", "no limit". */
export function deferralsText(r) {
  if (r?.urgent) return 'urgent: users may not postpone';
  const d = r?.deferrals || {};
  const parts = [];
  if (d.max !== null && d.max !== undefined) parts.push(`${d.max} per device`);
  if (d.max_seconds) parts.push(`at most ${+(d.max_seconds / 3600).toFixed(2)} h each`);
  return parts.length ? parts.join(', ') : 'no limit (the device’s own)';
}
