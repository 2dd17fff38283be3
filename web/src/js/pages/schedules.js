// SPDX-License-Identifier: Apache-2.0
// Campaign controls in the dashboard (issue #15): the maintenance schedules of the
// device groups (shown on the Fleet page, edited by operators through
// PUT …/groups/{group}/maintenance-schedule), a rollout's schedule and deferral limits
// (its page and the create form), and the deferrals its devices reported (its stats).
// Kept apart from the pages' own code so each page only places these parts.
import { h } from '../dom.js';
import { DAYS, campaignBody, campaignPutBody, campaignValues, deferralsText, scheduleBody, scheduleText, windowsText } from '../windows.js';
import { busy, field, message, showError, showOk, table } from '../ui.js';

function openBadge(doc) {
  if (!doc?.maintenance_schedule) return h('span', { class: 'muted' }, 'always');
  return doc.window_open_now
    ? h('span', { class: 'badge badge-ok' }, 'open now')
    : h('span', { class: 'badge badge-muted' }, 'closed now');
}

/** The rollout page's facts about its campaign controls: [dt, dd] pairs. */
export function campaignFacts(r) {
  return [
    h('dt', {}, 'Maintenance schedule'),
    h('dd', { 'data-field': 'maintenance-schedule' }, scheduleText(r.maintenance_schedule), ' ', r.maintenance_schedule ? openBadge(r) : null),
    h('dt', {}, 'Postponing'),
    h('dd', { 'data-field': 'deferrals' }, deferralsText(r)),
  ];
}

/** The rollout page's count of postponements (stats.deferrals). */
export function deferralsStat(d) {
  if (!d) return null;
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Postponements'),
    h('span', { class: 'stat-value', 'data-count': 'deferrals' }, String(d.total || 0)),
    h('span', { class: 'stat-note', 'data-count': 'deferrals-exhausted' },
      d.urgent ? 'urgent: none allowed' : d.max === null || d.max === undefined ? 'no limit' : `${d.exhausted || 0} device${d.exhausted === 1 ? '' : 's'} used all ${d.max}`));
}

const WINDOWS_HINT = `Days (${DAYS.join(' ')}, or ranges like mon-fri) and local start-end; separate windows with ";". An end before the start runs past midnight.`;

/** The create form's campaign fields; values() gives the request keys (or throws why not). */
export function campaignFields() {
  const zone = field('Time zone', { autocomplete: 'off', maxlength: 64, placeholder: 'Asia/Shanghai', hint: 'A tz database name; the windows are local wall time there, DST included.' });
  const windows = field('Install only in', { autocomplete: 'off', maxlength: 500, placeholder: 'mon-fri 01:00-05:00', hint: WINDOWS_HINT });
  const max = field('Postponements per device', { type: 'number', min: 0, max: 100, step: 1, placeholder: 'no limit' });
  const hours = field('Longest postponement (hours)', { type: 'number', min: 0.02, max: 720, step: 'any', placeholder: 'the device’s own' });
  const urgent = h('input', { type: 'checkbox', id: 'rollout-urgent' });
  const urgentRow = h('div', { class: 'field' }, h('label', { for: 'rollout-urgent' }, urgent, ' Urgent (security fix): users may not postpone'));
  urgent.addEventListener('change', () => { max.input.disabled = hours.input.disabled = urgent.checked; });
  return {
    el: h('fieldset', { class: 'campaign' }, h('legend', {}, 'Maintenance schedule and postponing'),
      h('p', { class: 'hint' }, 'Outside the schedule devices download ahead and install once it opens. Groups can have their own schedules (Fleet page).'),
      h('div', { class: 'filter-grid' }, zone.row, windows.row, max.row, hours.row, urgentRow)),
    values: () => campaignBody({ zone: zone.input.value, windows: windows.input.value, deferralMax: max.input.value, deferralHours: hours.input.value, urgent: urgent.checked }),
  };
}

/**
 * The rollout page's editor of its campaign controls (operators; PUT …/campaign):
 * filled from the rollout document; onSaved(doc) gets the controls as stored.
 * Devices already in the rollout follow the new values on their next request.
 */
export function campaignEditor({ api, tenant, rollout, onSaved }) {
  const v = campaignValues(rollout);
  const zone = field('Time zone', { autocomplete: 'off', maxlength: 64, placeholder: 'Asia/Shanghai', value: v.zone });
  const windows = field('Install only in', { autocomplete: 'off', maxlength: 500, placeholder: 'mon-fri 01:00-05:00', hint: `${WINDOWS_HINT} Empty both: no schedule.`, value: v.windows });
  const max = field('Postponements per device', { type: 'number', min: 0, max: 100, step: 1, placeholder: 'no limit', value: v.deferralMax,
    hint: 'Postponements a device already used count against the new limit.' });
  const hours = field('Longest postponement (hours)', { type: 'number', min: 0.02, max: 720, step: 'any', placeholder: 'the device’s own', value: v.deferralHours });
  const urgent = h('input', { type: 'checkbox', id: `campaign-urgent-${rollout.id}` });
  urgent.checked = v.urgent;
  const sync = () => { max.input.disabled = hours.input.disabled = urgent.checked; };
  urgent.addEventListener('change', sync);
  sync();
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const form = h('form', { class: 'campaign-form', 'aria-label': 'Change the maintenance schedule and postponing', novalidate: true },
    h('div', { class: 'filter-grid' }, zone.row, windows.row, max.row, hours.row,
      h('div', { class: 'field' }, h('label', { for: urgent.id }, urgent, ' Urgent (security fix): users may not postpone'))),
    box,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save controls')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const body = campaignPutBody({ zone: zone.input.value, windows: windows.input.value, deferralMax: max.input.value, deferralHours: hours.input.value, urgent: urgent.checked });
      const doc = await busy(form, () => api.setRolloutCampaign(tenant, rollout.id, body));
      showOk(box, `Saved: schedule ${scheduleText(doc.maintenance_schedule)}; postponing ${deferralsText(doc)}.`);
      onSaved(doc);
    } catch (e) {
      showError(box, e);
    }
  });
  return h('div', { class: 'card campaign-card' }, h('h2', {}, 'Maintenance schedule and postponing'),
    h('p', { class: 'hint' }, 'Changes apply to the devices already in the rollout at their next request; devices waiting for the update are woken by push when it is on.'),
    form);
}

/** The Fleet page's card: each group's schedule, open now or not, and (operators) the editor. */
export function groupSchedulesCard(ctx, groups) {
  const { api, state, caps } = ctx;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const list = h('div', {});
  const draw = (gs) => list.replaceChildren(gs.length
    ? table('Maintenance schedules of the groups', [
      { label: 'Group', cell: (g) => g.name },
      { label: 'Devices', cell: (g) => String(g.members ?? 0) },
      { label: 'Installs allowed', cell: (g) => scheduleText(g.maintenance_schedule) === 'none' ? 'any time' : scheduleText(g.maintenance_schedule) },
      { label: 'Now', cell: (g) => openBadge(g) },
    ], gs)
    : message('info', 'No groups yet.'));
  draw(groups);
  if (!caps.manageDevices || !groups.length) return h('div', { class: 'card group-schedules' }, h('h2', {}, 'Maintenance schedules'), list);

  const group = field('Group', { kind: 'select', options: groups.map((g) => g.name) });
  const zone = field('Time zone', { autocomplete: 'off', maxlength: 64, placeholder: 'Asia/Shanghai' });
  const windows = field('Install only in', { autocomplete: 'off', maxlength: 500, placeholder: 'mon-fri 01:00-05:00', hint: WINDOWS_HINT });
  const fill = () => {
    const g = groups.find((x) => x.name === group.input.value);
    zone.input.value = g?.maintenance_schedule?.time_zone || '';
    windows.input.value = windowsText(g?.maintenance_schedule);
  };
  group.input.addEventListener('change', fill);
  fill();
  async function save(remove) {
    try {
      const schedule = remove ? null : scheduleBody(zone.input.value, windows.input.value);
      if (!remove && !schedule) throw new Error('Give a time zone and windows, or remove the schedule.');
      await busy(form, () => api.setGroupSchedule(state.tenant, group.input.value, schedule));
      groups = await api.groups(state.tenant);
      draw(groups);
      fill();
      showOk(box, remove ? `Group ${group.input.value}: no schedule, installs any time.` : `Group ${group.input.value}: ${scheduleText(schedule)}.`);
    } catch (e) {
      showError(box, e);
    }
  }
  const form = h('form', { class: 'schedule-form', 'aria-label': 'Edit a group’s maintenance schedule', novalidate: true },
    h('div', { class: 'filter-grid' }, group.row, zone.row, windows.row),
    box,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save schedule'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => save(true) } }, 'Remove schedule')));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); save(false); });
  return h('div', { class: 'card group-schedules' }, h('h2', {}, 'Maintenance schedules'), list, form);
}
