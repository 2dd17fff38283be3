// SPDX-License-Identifier: Apache-2.0
// Browser test of the bandwidth caps in the dashboard (issue #15): Debian's
// chromium driven by playwright-core against a real otter-server on 127.0.0.1
// (started by dashboard.sh). While a device downloads a capped rollout's
// artifact, the rollout's page shows the rate against the cap (the rate
// measured by the server, within 10 % of the cap); an operator changes the
// rollout's cap there (stored), has no control over the tenant's cap; a
// viewer sees the figures and no control at all. The page counts the device the
// rollout left out for its model.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PW, BASE, PKG, PW, api, expectStatus, finish, openBrowser, signIn as signInAs, step } from './harness.mjs';

const T = 'acme';
const CAP = 256 * 1024; // the 3 MB package takes ~12 s at this cap

// ---- the tenant, an operator and a viewer, a release, a device, a capped rollout ----
const A = '/api/v1';
const admin = (await expectStatus(api('POST', `${A}/login`, { username: 'admin', password: ADMIN_PW }), 200)).token;
await expectStatus(api('POST', `${A}/tenants`, { name: T }, admin), 201);
await expectStatus(api('POST', `${A}/tenants/${T}/users`, { username: 'olga', password: PW, role: 'operator' }, admin), 201);
await expectStatus(api('POST', `${A}/tenants/${T}/users`, { username: 'vic', password: PW, role: 'viewer' }, admin), 201);
const rel = await expectStatus(api('POST', `${A}/tenants/${T}/releases`, readFileSync(path.join(PKG, 'gw-2.0.0.zip')), admin,
  { raw: true, type: 'application/octet-stream' }), 201);
await expectStatus(api('POST', `${A}/tenants/${T}/releases/${rel.id}/approve`, { comment: 'ok' }, admin), 200);
const dev = await expectStatus(api('POST', `${A}/tenants/${T}/devices`, { controller_id: 'cap-1', model: 'gw-a' }, admin), 201);
// Another model: the rollout leaves it out at its start, and its page says so.
await expectStatus(api('POST', `${A}/tenants/${T}/devices`, { controller_id: 'other-1', model: 'gw-x' }, admin), 201);
const capped = await expectStatus(api('POST', `${A}/tenants/${T}/rollouts`, {
  name: 'capped', release: rel.id, stages: [{ percent: 100 }], bandwidth_cap: CAP,
}, admin), 201);
await expectStatus(api('POST', `${A}/tenants/${T}/rollouts/${capped.id}/start`, undefined, admin), 200);
const TT = `TargetToken ${dev.token}`;
const poll = await expectStatus(api('GET', `/${T}/controller/v1/cap-1`, undefined, 'x', { auth: TT }), 200);
const dbase = await expectStatus(api('GET', new URL(poll._links.deploymentBase.href).pathname, undefined, 'x', { auth: TT }), 200);
const href = dbase.deployment.chunks[0].artifacts[0]._links.download.href;

const { browser, page, errors } = await openBrowser({ timeout: 20000 });
const signIn = (user) => signInAs(page, user);

await step('the operator signs in', () => signIn('olga'));

await step('the rollout page shows the rate against the cap while a device downloads', async () => {
  await page.goto(`${BASE}/#/rollout/${capped.id}`);
  const stat = page.locator('[data-bandwidth="rollout"]');
  await stat.waitFor();
  assert.equal(await stat.getAttribute('data-cap'), String(CAP));
  assert.equal((await stat.locator('.stat-note').textContent()).trim(), 'cap 256 KiB/s');
  // The device downloads (~12 s at the cap); the page refreshes the figures every 5 s.
  const download = fetch(href, { headers: { Authorization: TT } }).then((r) => r.arrayBuffer());
  await page.waitForFunction(() => Number(document.querySelector('[data-bandwidth="rollout"]')?.dataset.rate) > 0, null, { timeout: 20000 });
  const rate = Number(await stat.getAttribute('data-rate'));
  assert.ok(rate <= CAP * 1.1, `rate ${rate} B/s against a cap of ${CAP}`);
  assert.ok(rate >= CAP * 0.5, `rate ${rate} B/s: the download is paced, not stalled`);
  assert.match(await stat.locator('.stat-value').textContent(), /KiB\/s$/);
  const body = await download;
  assert.equal(body.byteLength, readFileSync(path.join(PKG, 'gw-2.0.0.zip')).length);
});

await step('the rollout page counts the device left out for its model', async () => {
  await page.locator('[data-count="incompatible"]').filter({ hasText: /^1$/ }).waitFor();
});

await step('the operator changes the rollout\'s cap on its page; no tenant cap control', async () => {
  const card = page.locator('.bandwidth-card');
  assert.equal(await card.getByLabel('Tenant cap').count(), 0, 'an operator may not cap the tenant');
  await card.getByLabel('Rollout cap').fill('512');
  await card.getByRole('button', { name: 'Set' }).click();
  await card.locator('.msg-ok').filter({ hasText: 'Rollout cap set to 512 KiB/s.' }).waitFor();
  await page.locator('[data-bandwidth="rollout"][data-cap="524288"]').waitFor();
  const doc = await expectStatus(api('GET', `${A}/tenants/${T}/rollouts/${capped.id}/bandwidth`, undefined, admin), 200);
  assert.equal(doc.bytes_per_second, 524288);
  // A negative cap is stopped by the form (min 0) and never sent.
  await card.getByLabel('Rollout cap').fill('-3');
  await card.getByRole('button', { name: 'Set' }).click();
  assert.equal(await card.getByLabel('Rollout cap').evaluate((el) => el.validity.valid), false);
  const after = await expectStatus(api('GET', `${A}/tenants/${T}/rollouts/${capped.id}/bandwidth`, undefined, admin), 200);
  assert.equal(after.bytes_per_second, 524288);
});

await step('a viewer sees the figures and no cap control', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn('vic');
  await page.goto(`${BASE}/#/rollout/${capped.id}`);
  await page.locator('[data-bandwidth="rollout"][data-cap="524288"]').waitFor();
  await page.locator('[data-bandwidth="tenant"]').filter({ hasText: 'no cap' }).waitFor();
  assert.equal(await page.locator('.bandwidth-card form').count(), 0);
});

// The chart starts at the rollout's start, whenever the page is opened: the
// server samples the counts (GET …/history), the page draws them first.
await step('a page opened after the rollout made progress shows the past points', async () => {
  await expectStatus(api('POST', `/${T}/controller/v1/cap-1/deploymentBase/${dbase.id}/feedback`,
    { id: String(dbase.id), status: { execution: 'closed', result: { finished: 'success' } } }, 'x', { auth: TT }), 200);
  // The sampler stores a change within a few seconds: wait for the success (bounded).
  let past = null;
  for (let i = 0; i < 60; i += 1) {
    past = await expectStatus(api('GET', `${A}/tenants/${T}/rollouts/${capped.id}/history`, undefined, admin), 200);
    if (past.samples.length >= 2 && past.samples.at(-1).total.success === 1) break;
    await new Promise((r) => { setTimeout(r, 500); });
  }
  assert.ok(past.samples.length >= 2, JSON.stringify(past));
  assert.equal(past.samples[0].total.success, 0, 'the first sample is from before the success');
  assert.equal(past.samples.at(-1).total.success, 1);
  const opened = Date.now();
  await page.goto(`${BASE}/#/rollouts`);
  await page.goto(`${BASE}/#/rollout/${capped.id}`);
  const note = page.locator('.chart-card p.hint[data-past]');
  await note.waitFor();
  assert.ok(Number(await note.getAttribute('data-past')) >= 2, await note.textContent());
  assert.match(await note.textContent(), /since the rollout started/);
  assert.ok(Date.parse(past.samples[0].at) < opened, 'the first point is older than the page');
});

await finish(browser, errors);
