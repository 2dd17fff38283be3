// SPDX-License-Identifier: Apache-2.0
// Browser test of a campaign followed in the dashboard (issue #15): Debian's
// chromium driven by playwright-core against a real otter-server on 127.0.0.1
// that publishes push wake-ups to a real mosquitto on 127.0.0.1 (both started
// by campaign.sh). The Fleet page and the rollout's page show push connected
// and the wake-up its start sent; an operator changes the rollout's schedule
// and postponing limit on its page (a bad day is refused with the reason,
// nothing stored), sees them after a reload and a second wake-up for the
// change, makes it urgent; a viewer sees it all without the editor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PW, BASE, PKG, PW, api as call, expectStatus, finish, openBrowser, signIn, step } from './harness.mjs';

const T = 'acme';
const api = (method, p, ...rest) => call(method, '/api/v1' + p, ...rest);

/** Polls fn until it returns a truthy value (bounded: about 30 s), else fails with what it saw. */
async function until(what, fn) {
  let last;
  for (let i = 0; i < 150; i += 1) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => { setTimeout(r, 200); });
  }
  assert.fail(`${what}: not within 30 s`);
}

// ---- the tenant, an operator and a viewer, a release, two devices, a rollout ----
const admin = (await expectStatus(api('POST', '/login', { username: 'admin', password: ADMIN_PW }), 200)).token;
await expectStatus(api('POST', '/tenants', { name: T }, admin), 201);
await expectStatus(api('POST', `/tenants/${T}/users`, { username: 'olga', password: PW, role: 'operator' }, admin), 201);
await expectStatus(api('POST', `/tenants/${T}/users`, { username: 'vic', password: PW, role: 'viewer' }, admin), 201);
const rel = await expectStatus(api('POST', `/tenants/${T}/releases`, readFileSync(path.join(PKG, 'gw-1.0.0.zip')), admin,
  { raw: true, type: 'application/octet-stream' }), 201);
await expectStatus(api('POST', `/tenants/${T}/releases/${rel.id}/approve`, { comment: 'ok' }, admin), 200);
for (const d of ['cpe-1', 'cpe-2']) await expectStatus(api('POST', `/tenants/${T}/devices`, { controller_id: d, model: 'gw-a' }, admin), 201);
const night = await expectStatus(api('POST', `/tenants/${T}/rollouts`, {
  name: 'night', release: rel.id, stages: [{ percent: 100 }],
  maintenance_schedule: { time_zone: 'UTC', windows: [{ days: ['fri'], start: '22:00', end: '04:00' }] },
  deferrals: { max: 2, max_seconds: 86400 },
}, admin), 201);
// The server connects to the broker in the background: start once it is up, so the start's
// wake-up is published rather than dropped.
await until('the server is connected to the broker', async () => (await expectStatus(api('GET', `/tenants/${T}/push`, undefined, admin), 200)).connected);
await expectStatus(api('POST', `/tenants/${T}/rollouts/${night.id}/start`, undefined, admin), 200);
await until('the start\'s two wake-ups are published', async () => (await expectStatus(api('GET', `/tenants/${T}/push`, undefined, admin), 200)).published >= 2);

const { browser, page, errors } = await openBrowser({ timeout: 20000 });
const editor = page.locator('form.campaign-form');

await step('the operator signs in; the Fleet page says push is on', async () => {
  await signIn(page, 'olga');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet', exact: true }).click();
  const push = page.locator('.push-status [data-push]');
  await push.waitFor();
  assert.equal(await push.getAttribute('data-push'), 'connected');
  assert.match(await push.locator('[data-push-counts]').textContent(), /connected to the broker; [2-9]\d* published, 0 dropped/);
});

await step('the rollout page shows push connected and the start\'s wake-up of both devices', async () => {
  await page.goto(`${BASE}/#/rollout/${night.id}`);
  const card = page.locator('.push-card');
  await card.locator('[data-push="connected"]').waitFor();
  await card.locator('tbody tr').first().waitFor();
  assert.equal(await card.locator('tbody tr').count(), 1);
  assert.equal(await card.locator('[data-wakeup-devices]').first().textContent(), '2');
  assert.match(await card.locator('tbody tr').first().textContent(), /offer, up to stage 1/);
});

await step('the editor is filled with the rollout\'s controls', async () => {
  assert.equal(await editor.getByLabel('Time zone').inputValue(), 'UTC');
  assert.equal(await editor.getByLabel('Install only in').inputValue(), 'fri 22:00-04:00');
  assert.equal(await editor.getByLabel('Postponements per device').inputValue(), '2');
  assert.equal(await editor.getByLabel('Longest postponement (hours)').inputValue(), '24');
});

await step('a bad day is refused with the reason, nothing stored', async () => {
  await editor.getByLabel('Install only in').fill('monday 01:00-05:00');
  await editor.getByRole('button', { name: 'Save controls' }).click();
  await editor.locator('.msg-error').filter({ hasText: '"monday" is not a day' }).waitFor();
  const c = await expectStatus(api('GET', `/tenants/${T}/rollouts/${night.id}/campaign`, undefined, admin), 200);
  assert.equal(c.maintenance_schedule.windows[0].start, '22:00');
});

await step('a new schedule and postponing limit are saved, shown after a reload, and stored', async () => {
  await editor.getByLabel('Time zone').fill('Asia/Shanghai');
  await editor.getByLabel('Install only in').fill('mon-fri 01:00-05:00');
  await editor.getByLabel('Postponements per device').fill('1');
  await editor.getByRole('button', { name: 'Save controls' }).click();
  await editor.locator('.msg-ok').filter({ hasText: 'Saved: schedule mon-fri 01:00-05:00 (Asia/Shanghai)' }).waitFor();
  await page.reload();
  await page.locator('[data-field="maintenance-schedule"]').filter({ hasText: 'mon-fri 01:00-05:00 (Asia/Shanghai)' }).waitFor();
  assert.equal(await page.locator('[data-field="deferrals"]').textContent(), '1 per device, at most 24 h each');
  assert.equal(await editor.getByLabel('Postponements per device').inputValue(), '1');
  const c = await expectStatus(api('GET', `/tenants/${T}/rollouts/${night.id}/campaign`, undefined, admin), 200);
  assert.deepEqual(c.maintenance_schedule, { time_zone: 'Asia/Shanghai', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '01:00', end: '05:00' }] });
  assert.deepEqual(c.deferrals, { max: 1, max_seconds: 86400 });
});

await step('the change woke the offered devices again', async () => {
  const card = page.locator('.push-card');
  await card.locator('tbody tr').nth(1).waitFor();
  assert.deepEqual(await card.locator('[data-wakeup-devices]').allTextContents(), ['2', '2']);
  await until('the change\'s wake-ups are published', async () => (await expectStatus(api('GET', `/tenants/${T}/push`, undefined, admin), 200)).published >= 4);
});

await step('made urgent in the page: no postponing, after a reload too', async () => {
  await editor.getByLabel(/Urgent/).check();
  assert.equal(await editor.getByLabel('Postponements per device').isDisabled(), true);
  await editor.getByRole('button', { name: 'Save controls' }).click();
  await editor.locator('.msg-ok').filter({ hasText: 'urgent: users may not postpone' }).waitFor();
  await page.reload();
  await page.locator('[data-field="deferrals"]').filter({ hasText: 'urgent: users may not postpone' }).waitFor();
  assert.equal(await editor.getByLabel(/Urgent/).isChecked(), true);
  const c = await expectStatus(api('GET', `/tenants/${T}/rollouts/${night.id}/campaign`, undefined, admin), 200);
  assert.equal(c.urgent, true);
  assert.deepEqual(c.deferrals, { max: null, max_seconds: null });
});

await step('a viewer sees the controls and push state, without the editor', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'vic');
  await page.goto(`${BASE}/#/rollout/${night.id}`);
  await page.locator('[data-field="maintenance-schedule"]').filter({ hasText: 'mon-fri 01:00-05:00 (Asia/Shanghai)' }).waitFor();
  await page.locator('.push-card [data-push="connected"]').waitFor();
  assert.equal(await page.locator('form.campaign-form').count(), 0);
});

await finish(browser, errors);
