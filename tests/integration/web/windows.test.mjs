// SPDX-License-Identifier: Apache-2.0
// Browser test of the campaign controls in the dashboard (issue #15): Debian's
// chromium driven by playwright-core against a real otter-server on 127.0.0.1
// (started by dashboard.sh). An operator edits a group's maintenance schedule on
// the Fleet page (a bad day name is refused with the reason, a good schedule is
// stored and listed), reads a rollout's schedule, postponing limits and
// postponement count on its page, and creates an urgent rollout with a schedule
// through the form.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PW, BASE, PKG, PW, api as call, expectStatus, finish, openBrowser, signIn, step } from './harness.mjs';

const T = 'acme';
const api = (method, p, ...rest) => call(method, '/api/v1' + p, ...rest);

// ---- the tenant, an operator, a release, a group with a device, a rollout ----
const admin = (await expectStatus(api('POST', '/login', { username: 'admin', password: ADMIN_PW }), 200)).token;
await expectStatus(api('POST', '/tenants', { name: T }, admin), 201);
await expectStatus(api('POST', `/tenants/${T}/users`, { username: 'olga', password: PW, role: 'operator' }, admin), 201);
const rel = await expectStatus(api('POST', `/tenants/${T}/releases`, readFileSync(path.join(PKG, 'gw-1.0.0.zip')), admin,
  { raw: true, type: 'application/octet-stream' }), 201);
await expectStatus(api('POST', `/tenants/${T}/releases/${rel.id}/approve`, { comment: 'ok' }, admin), 200);
await expectStatus(api('POST', `/tenants/${T}/devices`, { controller_id: 'sh-1', model: 'gw-a', group: 'shanghai' }, admin), 201);
const night = await expectStatus(api('POST', `/tenants/${T}/rollouts`, {
  name: 'night', release: rel.id, stages: [{ percent: 100 }],
  maintenance_schedule: { time_zone: 'UTC', windows: [{ days: ['fri'], start: '22:00', end: '04:00' }] },
  deferrals: { max: 2, max_seconds: 86400 },
}, admin), 201);

const { browser, page, errors } = await openBrowser();

await step('the operator signs in', () => signIn(page, 'olga'));

await step('Fleet: a bad day name is refused with the reason, nothing stored', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet', exact: true }).click();
  const card = page.locator('.group-schedules');
  await card.getByRole('heading', { name: 'Maintenance schedules' }).waitFor();
  await card.getByLabel('Time zone').fill('Asia/Shanghai');
  await card.getByLabel('Install only in').fill('monday 01:00-05:00');
  await card.getByRole('button', { name: 'Save schedule' }).click();
  await card.locator('.msg-error').filter({ hasText: '"monday" is not a day' }).waitFor();
  const g = await expectStatus(api('GET', `/tenants/${T}/groups/shanghai/maintenance-schedule`, undefined, admin), 200);
  assert.equal(g.maintenance_schedule, null);
});

await step('Fleet: the schedule is saved, listed and stored', async () => {
  const card = page.locator('.group-schedules');
  await card.getByLabel('Install only in').fill('mon-fri 01:00-05:00');
  await card.getByRole('button', { name: 'Save schedule' }).click();
  await card.locator('.msg-ok').filter({ hasText: 'Group shanghai: mon-fri 01:00-05:00 (Asia/Shanghai)' }).waitFor();
  await card.locator('td').filter({ hasText: 'mon-fri 01:00-05:00 (Asia/Shanghai)' }).waitFor();
  const g = await expectStatus(api('GET', `/tenants/${T}/groups/shanghai/maintenance-schedule`, undefined, admin), 200);
  assert.deepEqual(g.maintenance_schedule, { time_zone: 'Asia/Shanghai', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '01:00', end: '05:00' }] });
});

await step('a rollout\'s page shows its schedule, postponing limits and postponements', async () => {
  await page.goto(`${BASE}/#/rollout/${night.id}`);
  await page.locator('[data-field="maintenance-schedule"]').filter({ hasText: 'fri 22:00-04:00 (UTC)' }).waitFor();
  assert.equal(await page.locator('[data-field="deferrals"]').textContent(), '2 per device, at most 24 h each');
  await page.locator('[data-count="deferrals"]').filter({ hasText: '0' }).waitFor();
  assert.equal(await page.locator('[data-count="deferrals-exhausted"]').textContent(), '0 devices used all 2');
});

await step('Rollouts: an urgent rollout with a schedule through the form', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rollouts', exact: true }).click();
  const form = page.locator('form.rollout-form');
  await form.waitFor();
  await form.getByLabel('Name').fill('fix-now');
  await form.locator('fieldset.campaign').getByLabel('Time zone').fill('America/New_York');
  await form.locator('fieldset.campaign').getByLabel('Install only in').fill('sat,sun 03:00-04:00');
  await form.getByLabel(/Urgent/).check();
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await page.locator('[data-field="deferrals"]').filter({ hasText: 'urgent: users may not postpone' }).waitFor();
  await page.locator('[data-field="maintenance-schedule"]').filter({ hasText: 'sat,sun 03:00-04:00 (America/New_York)' }).waitFor();
  const list = await expectStatus(api('GET', `/tenants/${T}/rollouts`, undefined, admin), 200);
  const r = list.rollouts.find((x) => x.name === 'fix-now');
  assert.equal(r.urgent, true);
  assert.equal(r.maintenance_schedule.time_zone, 'America/New_York');
});

await finish(browser, errors);
