// SPDX-License-Identifier: Apache-2.0
// windows.js: the dashboard's maintenance-window text, the rollout form's campaign keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { campaignBody, campaignPutBody, campaignValues, daysText, deferralsText, parseWindows, scheduleBody, scheduleText, windowsText } from '../../src/js/windows.js';

test('windows text reads into the API form and back', () => {
  const w = parseWindows('mon-fri 01:00-05:00; sat,sun 22:00-04:00');
  assert.deepEqual(w, [{ days: ['mon-fri'], start: '01:00', end: '05:00' }, { days: ['sat', 'sun'], start: '22:00', end: '04:00' }]);
  // The server answers with single days in week order; the text groups them again.
  const stored = { time_zone: 'Asia/Shanghai', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '01:00', end: '05:00' }, { days: ['sat', 'sun'], start: '22:00', end: '24:00' }] };
  assert.equal(windowsText(stored), 'mon-fri 01:00-05:00; sat,sun 22:00-24:00');
  assert.equal(scheduleText(stored), 'mon-fri 01:00-05:00; sat,sun 22:00-24:00 (Asia/Shanghai)');
  assert.equal(scheduleText(null), 'none');
  assert.equal(daysText(['mon', 'wed', 'thu', 'fri', 'sun']), 'mon,wed-fri,sun');
});

test('bad windows are refused with what is wrong', () => {
  assert.throws(() => parseWindows(''), /at least one window/);
  assert.throws(() => parseWindows('monday 01:00-05:00'), /"monday" is not a day/);
  assert.throws(() => parseWindows('mon 25:00-05:00'), /25:00 is not a time/);
  assert.throws(() => parseWindows('mon 24:00-05:00'), /cannot start at 24:00/);
  assert.throws(() => parseWindows('fri-mon 01:00-05:00'), /runs backwards/);
  assert.throws(() => parseWindows('mon 05:00-05:00'), /the same time/);
  assert.throws(() => scheduleBody('', 'mon 01:00-05:00'), /time zone/);
  assert.equal(scheduleBody('', ''), null);
});

test('campaign keys of the rollout form', () => {
  assert.deepEqual(campaignBody({}), {});
  assert.deepEqual(campaignBody({ zone: 'UTC', windows: 'fri 22:00-04:00', deferralMax: '2', deferralHours: '24' }), {
    maintenance_schedule: { time_zone: 'UTC', windows: [{ days: ['fri'], start: '22:00', end: '04:00' }] },
    deferrals: { max: 2, max_seconds: 86400 },
  });
  // Urgent drops the deferral limits: the server refuses both together.
  assert.deepEqual(campaignBody({ urgent: true, deferralMax: '3' }), { urgent: true });
  assert.throws(() => campaignBody({ deferralMax: '101' }), /0 to 100/);
  assert.throws(() => campaignBody({ deferralHours: '0' }), /1 minute/);
  assert.equal(deferralsText({ deferrals: { max: 2, max_seconds: 86400 } }), '2 per device, at most 24 h each');
  assert.equal(deferralsText({ urgent: true }), 'urgent: users may not postpone');
  assert.equal(deferralsText({ deferrals: { max: null, max_seconds: null } }), 'no limit (the device’s own)');
});

test('the campaign editor: a rollout document into form values and back into a PUT body', () => {
  const r = { maintenance_schedule: { time_zone: 'UTC', windows: [{ days: ['fri'], start: '22:00', end: '04:00' }] }, deferrals: { max: 2, max_seconds: 86400 }, urgent: false };
  const v = campaignValues(r);
  assert.deepEqual(v, { zone: 'UTC', windows: 'fri 22:00-04:00', deferralMax: '2', deferralHours: '24', urgent: false });
  assert.deepEqual(campaignPutBody(v), { maintenance_schedule: { time_zone: 'UTC', windows: [{ days: ['fri'], start: '22:00', end: '04:00' }] }, deferrals: { max: 2, max_seconds: 86400 }, urgent: false });
  // Emptied fields remove the control: every key is sent, null for none.
  assert.deepEqual(campaignPutBody({ zone: '', windows: '', deferralMax: '', deferralHours: '' }), { maintenance_schedule: null, deferrals: null, urgent: false });
  // Urgent drops the limits (the server refuses both together).
  assert.deepEqual(campaignPutBody({ deferralMax: '3', urgent: true }), { maintenance_schedule: null, deferrals: null, urgent: true });
  assert.deepEqual(campaignValues({ deferrals: { max: null, max_seconds: null } }), { zone: '', windows: '', deferralMax: '', deferralHours: '', urgent: false });
});
