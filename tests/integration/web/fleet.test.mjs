// SPDX-License-Identifier: Apache-2.0
// Browser test of the fleet, releases, approvals and rollout pages: Debian's
// chromium driven by playwright-core against a real otter-server on 127.0.0.1
// (started by dashboard.sh with a trust root and signed packages made with the
// `otter` tool). Devices are simulated by DDI calls from this test (poll,
// configData, deploymentBase, feedback). Each role signs in through the UI and
// sees what it may use; a publisher uploads update.zip with a progress bar, an
// approver approves it, an operator creates a staged rollout with a preview,
// starts it, watches the live counts and the chart move as devices report,
// and pauses it; a viewer sees the rollout without write controls.
// Screenshots (laptop and phone) go to OUT_DIR as fleet-*.png.
//
// The approvals and rollouts endpoints are checked for first: when the server
// lacks them, those steps fail saying so (they are not skipped).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OTTER_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const OUT = process.env.OUT_DIR;
const ADMIN_PW = process.env.ADMIN_PASSWORD;
const PKG = process.env.PKG_DIR;
const DB = process.env.DB;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE && OUT && ADMIN_PW && PKG && DB, 'BASE_URL, OUT_DIR, ADMIN_PASSWORD, PKG_DIR and DB must be set');
assert.ok(new URL(BASE).hostname === '127.0.0.1', 'tests talk to 127.0.0.1 only');
mkdirSync(OUT, { recursive: true });

const T = 'acme';
const PW = 'user-password-1';
const USERS = { alice: 'admin', pat: 'publisher', ann: 'approver', olga: 'operator', vic: 'viewer' };

let failures = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`not ok - ${name}\n${e.stack || e}`);
  }
}

async function api(method, p, body, token, { raw = false, type } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  const r = await fetch(BASE + '/api/v1' + p, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const text = await r.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = text;
  }
  return { status: r.status, doc };
}

async function expectStatus(promise, want) {
  const r = await promise;
  assert.equal(r.status, want, JSON.stringify(r.doc));
  return r.doc;
}

/** Fails (never skips) when the server lacks an endpoint of the approvals/rollouts contract. */
const missing = {};
async function requireEndpoint(name, method, p, body) {
  if (!(name in missing)) {
    const r = await api(method, p, body, tokens.alice);
    missing[name] = r.status === 404 || r.status === 405 ? `${method} /api/v1${p} → ${r.status} ${JSON.stringify(r.doc)}` : '';
  }
  if (missing[name]) assert.fail(`the server has no ${name} API yet (${missing[name]}): this step needs it`);
}

// ---- devices through DDI ----
const devTokens = {};
async function ddi(method, id, p = '', body) {
  const headers = { Authorization: `TargetToken ${devTokens[id]}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${BASE}/${T}/controller/v1/${id}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, doc: text ? JSON.parse(text) : null };
}

/**
 * One device cycle: poll; when an update is offered read deploymentBase and report
 * (success, or failure with a reason). → the action id, or null when nothing was offered.
 */
async function deviceCycle(id, outcome = 'success', detail = 'installed', download = false) {
  const poll = await ddi('GET', id);
  assert.equal(poll.status, 200, `${id} poll: ${JSON.stringify(poll.doc)}`);
  const href = poll.doc?._links?.deploymentBase?.href;
  if (!href) return null;
  const aid = /deploymentBase\/([0-9]+)/.exec(href)[1];
  const dep = await ddi('GET', id, `/deploymentBase/${aid}`);
  assert.equal(dep.status, 200);
  if (download) { // the artifact itself, as a device downloads it (the rollout page counts its bytes)
    const link = dep.doc.deployment.chunks[0].artifacts[0]._links.download.href;
    const r = await fetch(link, { headers: { Authorization: `TargetToken ${devTokens[id]}` } });
    assert.equal(r.status, 200);
    downloadedBytes += (await r.arrayBuffer()).byteLength;
  }
  const fb = (execution, finished, details) => ddi('POST', id, `/deploymentBase/${aid}/feedback`,
    { id: aid, status: { execution, result: { finished }, details } });
  assert.equal((await fb('proceeding', 'none', ['downloading'])).status, 200);
  assert.equal((await fb('closed', outcome, [detail])).status, 200);
  return Number(aid);
}

let downloadedBytes = 0; // artifact bytes the simulated devices downloaded

// ---- fixtures through the API ----
const tokens = {};
tokens.admin = (await expectStatus(api('POST', '/login', { username: 'admin', password: ADMIN_PW }), 200)).token;
await expectStatus(api('POST', '/tenants', { name: T }, tokens.admin), 201);
for (const [u, role] of Object.entries(USERS)) {
  await expectStatus(api('POST', `/tenants/${T}/users`, { username: u, password: PW, role }, tokens.admin), 201);
  tokens[u] = (await expectStatus(api('POST', '/login', { username: u, password: PW }), 200)).token;
}

// 20 devices: gw-a 1..16 (lab 1..4, field 5..16), gw-b 17..20.
const ids = Array.from({ length: 20 }, (_, i) => `gw-${String(i + 1).padStart(4, '0')}`);
const csv = ids.map((id, i) => `${id},${i < 16 ? 'gw-a' : 'gw-b'},${i < 4 ? 'lab' : 'field'}`).join('\n') + '\n';
const bulk = await expectStatus(api('POST', `/tenants/${T}/devices/bulk`, csv, tokens.olga, { raw: true, type: 'text/csv' }), 201);
for (const d of bulk.devices) devTokens[d.controller_id] = d.token;
// Every device but the last two polls and sends its configData (what otter-agentd sends,
// plus the slot and counter a device may report).
for (const [i, id] of ids.entries()) {
  if (i >= 18) continue;
  assert.equal((await ddi('GET', id)).status, 200);
  assert.equal((await ddi('PUT', id, '/configData', {
    mode: 'merge',
    data: { product: 'gw', model: i < 16 ? 'gw-a' : 'gw-b', slot: 'A', security_counter: '3', hw: i % 2 ? 'rev3' : 'rev2' },
  })).status, 200);
}
// Three of them were last seen two hours ago (offline). The server writes last_seen in
// batches, in order (otter_ddi_seen.c): a batch still to come would overwrite the change
// below. A marker device of another tenant polls after every request above; once its
// last_seen is written (polled, 10 s at most), every earlier poll's is too.
const sql = (q) => execFileSync('sqlite3', [DB, q]).toString().trim();
await expectStatus(api('POST', '/tenants', { name: 'marker' }, tokens.admin), 201);
const marker = await expectStatus(api('POST', '/tenants/marker/devices', { controller_id: 'm1', model: 'gw-a' }, tokens.admin), 201);
assert.equal((await fetch(`${BASE}/marker/controller/v1/m1`, { headers: { Authorization: `TargetToken ${marker.token}` } })).status, 200);
const markerSeen = () => sql("SELECT count(*) FROM devices WHERE controller_id = 'm1' AND last_seen IS NOT NULL") === '1';
for (let i = 0; i < 100 && !markerSeen(); i++) await new Promise((r) => setTimeout(r, 100));
assert.ok(markerSeen(), 'the last_seen batches were not written within 10 s');
assert.equal(sql('SELECT count(*) FROM devices WHERE last_seen IS NOT NULL'), '19');
execFileSync('sqlite3', [DB, `UPDATE devices SET last_seen = strftime('%s','now') - 7200 WHERE controller_id IN ('gw-0015','gw-0016','gw-0018')`]);

// Release 1.0.0 through the API; gw-0001 installs it, gw-0002 fails (device history).
const rel1 = await expectStatus(api('POST', `/tenants/${T}/releases`, readFileSync(path.join(PKG, 'gw-1.0.0.zip')), tokens.pat,
  { raw: true, type: 'application/octet-stream' }), 201);
await expectStatus(api('POST', `/tenants/${T}/releases/${rel1.id}/approve`, { comment: 'lab-tested' }, tokens.ann), 200);
await expectStatus(api('POST', `/tenants/${T}/deployments`, { release: rel1.id, devices: ['gw-0001', 'gw-0002'] }, tokens.olga), 201);
assert.ok(await deviceCycle('gw-0001', 'success', 'installed 1.0.0; rebooted; marked good'));
assert.ok(await deviceCycle('gw-0002', 'failure', 'image rootfs: sha256 mismatch'));

// ---- the browser ----
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-proxy-server'],
});

const consoleErrors = [];
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
async function newPage(viewport = LAPTOP) {
  const context = await browser.newContext({ viewport, colorScheme: 'light', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.text()} (${page.url()})`); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await context.route('**/*', (route) => (route.request().url().startsWith(BASE) ? route.continue() : route.abort()));
  return page;
}

async function signIn(page, user, password = PW) {
  await page.goto(BASE + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  // The first page takes the focus when it has loaded (after the shell with Sign out).
  await page.locator('main .loading').waitFor({ state: 'detached' });
}

async function settle(page) {
  await page.locator('main .loading').waitFor({ state: 'detached' });
}

async function go(page, label) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await page.locator('main h1').filter({ hasText: label }).first().waitFor();
  await settle(page);
}

async function navLinks(page) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `fleet-${name}.png`), fullPage: true });
}

async function assertLabelled(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button, meter, progress')]
    .filter((el) => el.offsetParent !== null || el.closest('dialog[open]'))
    .filter((el) => {
      if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
      return !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
    })
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(unlabelled, []);
}

async function assertFits(page) {
  const [overflow, culprits] = await page.evaluate(() => [document.documentElement.scrollWidth - window.innerWidth,
    [...document.querySelectorAll('main *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(-3).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`)]);
  assert.ok(overflow <= 0, `${page.url()}: page is ${overflow}px wider than the screen: ${culprits.join(', ')}`);
}

// The controls that change something (searching and choosing what to show do not).
const WRITE = /^(Upload|Cancel upload|Approve|Reject|Revoke|Create rollout|Preview|Add a stage|Remove|Start|Pause|Resume|Advance|Cancel rollout|Delete)/;
async function writeButtons(page) {
  const names = await page.locator('main button:visible').allTextContents();
  return names.map((n) => n.trim()).filter((n) => WRITE.test(n));
}

const mainNav = ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users'];

// ---- fleet ----
const vic = await newPage();
await step('fleet overview: devices by product, model and version, online/offline, search and filters', async () => {
  await signIn(vic, 'vic');
  await go(vic, 'Fleet');
  await assertLabelled(vic);
  const stat = async (label) => (await vic.locator('.summary .stat', { has: vic.locator('.stat-label', { hasText: new RegExp(`^${label}`) }) }).locator('.stat-value').textContent()).trim();
  assert.equal(await stat('Devices'), '20');
  assert.equal(await stat('Online'), '15');
  assert.equal(await stat('Offline'), '3');
  assert.equal(await stat('Never seen'), '2');
  const byModel = vic.locator('.breakdown table', { has: vic.locator('caption', { hasText: 'By model' }) });
  assert.match(await byModel.locator('tbody tr', { hasText: 'gw-a' }).textContent(), /16/);
  assert.match(await byModel.locator('tbody tr', { hasText: 'gw-b' }).textContent(), /4/);
  const byProduct = vic.locator('.breakdown table', { has: vic.locator('caption', { hasText: 'By product' }) });
  assert.match(await byProduct.locator('tbody tr', { hasText: 'gw' }).first().textContent(), /18/);
  const byVersion = vic.locator('.breakdown table', { has: vic.locator('caption', { hasText: 'By version' }) });
  assert.match(await byVersion.locator('tbody tr', { hasText: '1.0.0' }).textContent(), /1\b/);
  await shot(vic, 'fleet');
  // Search narrows on the client; model and status filters.
  await vic.getByLabel('Search', { exact: true }).fill('gw-0017');
  await vic.locator('main tbody tr', { hasText: 'gw-0017' }).waitFor();
  assert.equal(await vic.locator('main table', { has: vic.locator('caption', { hasText: /^Devices of/ }) }).locator('tbody tr').count(), 1);
  await vic.getByLabel('Search', { exact: true }).fill('rev3');
  assert.equal(await stat('Devices'), '9');
  await vic.getByLabel('Search', { exact: true }).fill('');
  await vic.getByLabel('Model').fill('gw-b');
  await vic.getByRole('button', { name: 'Apply filters' }).click();
  await vic.waitForFunction(() => document.querySelector('.summary .stat-value')?.textContent === '4');
  await vic.getByLabel('Status').selectOption('offline');
  assert.equal(await stat('Devices'), '1');
  await vic.locator('main tbody tr', { hasText: 'gw-0018' }).waitFor();
  await vic.getByRole('button', { name: 'Clear' }).click();
  await vic.waitForFunction(() => document.querySelector('.summary .stat-value')?.textContent === '20');
  assert.deepEqual(await writeButtons(vic), [], 'a viewer has no write control on the fleet');
});

// Found in a browser (issue #15): "Update success" read "…" until the
// once-a-minute redraw when the rollouts answered after the devices. The
// rollouts list is held here until the devices have come, so the order is
// the one that showed the bug; the stat must be right as soon as the page is.
await step('fleet: "Update success" is drawn when the rollouts arrive after the devices', async () => {
  await go(vic, 'Releases');
  let release;
  const held = new Promise((r) => { release = r; });
  const rollouts = /\/api\/v1\/tenants\/acme\/rollouts(\?.*)?$/;
  await vic.route(rollouts, async (route) => { await held; await route.continue(); });
  try {
    const devices = vic.waitForResponse((r) => /\/api\/v1\/tenants\/acme\/devices/.test(r.url()));
    const asked = vic.waitForRequest(rollouts);
    await vic.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet', exact: true }).click();
    await Promise.all([devices, asked]);
    await (await devices).finished();
    release();
    await vic.locator('main h1').filter({ hasText: 'Fleet' }).first().waitFor();
    await settle(vic);
    const rate = vic.locator('.summary .stat', { has: vic.locator('.stat-label', { hasText: /^Update success/ }) });
    assert.equal((await rate.locator('.stat-value').textContent()).trim(), '—');
    assert.equal((await rate.locator('.stat-note').textContent()).trim(), 'no rollout yet');
  } finally {
    release();
    await vic.unroute(rollouts);
  }
});

await step('device page: attributes from configData, slot, counter, version history and last results', async () => {
  await vic.getByRole('link', { name: 'gw-0001', exact: true }).click();
  await vic.locator('main h1', { hasText: 'gw-0001' }).waitFor();
  await settle(vic);
  const facts = await vic.locator('main .facts').first().textContent();
  for (const want of ['gw-a', '1.0.0', 'Active slotA', 'Anti-rollback counter3', 'success']) assert.ok(facts.includes(want), `${want} in ${facts}`);
  const attrs = await vic.locator('main .card', { has: vic.getByRole('heading', { name: 'Attributes' }) }).textContent();
  for (const want of ['hwrev2', 'productgw', 'security_counter3']) assert.ok(attrs.includes(want), `${want} in ${attrs}`);
  await vic.locator('.timeline li', { hasText: 'gw 1.0.0' }).waitFor();
  await vic.locator('main tbody tr', { hasText: 'installed 1.0.0; rebooted; marked good' }).waitFor();
  assert.equal(await vic.getByRole('link', { name: 'Fleet', exact: true }).getAttribute('aria-current'), 'page', 'Fleet stays current');
  await assertLabelled(vic);
  await shot(vic, 'device');
  await vic.goto(`${BASE}/#/device/gw-0002`);
  await vic.locator('main h1', { hasText: 'gw-0002' }).waitFor();
  await settle(vic);
  await vic.locator('main .badge-bad', { hasText: 'failure' }).first().waitFor();
  await vic.locator('main tbody tr', { hasText: 'image rootfs: sha256 mismatch' }).waitFor();
  await vic.goto(`${BASE}/#/device/gw-0020`);
  await vic.locator('main h1', { hasText: 'gw-0020' }).waitFor();
  await settle(vic);
  await vic.getByText('The device has not sent configData yet.').waitFor();
});

// ---- releases ----
const pat = await newPage();
let rel2 = null;
await step('publisher uploads update.zip with a progress bar; signers, size, models, security version shown', async () => {
  await signIn(pat, 'pat');
  assert.deepEqual((await navLinks(pat)).slice(0, 5), mainNav);
  await go(pat, 'Releases');
  await assertLabelled(pat);
  // An unsigned package is refused with the server's reason.
  await pat.getByLabel('Package (update.zip)').setInputFiles(path.join(PKG, 'unsigned.zip'));
  await pat.getByRole('button', { name: 'Upload', exact: true }).click();
  await pat.getByRole('alert').filter({ hasText: 'not signed' }).waitFor();
  // The signed one, watching the progress bar.
  await pat.evaluate(() => {
    window.progressSeen = [];
    const bar = document.querySelector('progress');
    new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
  });
  await pat.getByLabel('Package (update.zip)').setInputFiles(path.join(PKG, 'gw-2.0.0.zip'));
  await pat.getByRole('button', { name: 'Upload', exact: true }).click();
  await pat.getByText(/Uploaded gw 2\.0\.0 \(release [0-9]+\)/).waitFor();
  const seen = await pat.evaluate(() => window.progressSeen);
  assert.ok(seen.length >= 1 && seen.at(-1) === 100, `progress values ${seen}`);
  assert.equal(await pat.locator('progress').getAttribute('value'), '100');
  const rows = (await api('GET', `/tenants/${T}/releases`, undefined, tokens.pat)).doc.releases;
  rel2 = rows.find((r) => r.version === '2.0.0');
  const row = pat.locator('main tbody tr', { hasText: '2.0.0' });
  const text = await row.textContent();
  assert.ok(text.includes('gw-a, gw-b'), text);
  assert.ok(text.includes('4'), text);
  assert.ok(text.includes('2.9 MiB'), text);
  assert.ok(text.includes(`${rel2.signers[0].slice(0, 12)}…`), text);
  // A delta package of 2.0.0 from 1.0.0 (uploaded through the API) is listed with the release.
  const delta = await expectStatus(api('POST', `/tenants/${T}/releases/${rel2.id}/deltas`,
    readFileSync(path.join(PKG, 'gw-2.0.0.from-1.0.0.delta.zip')), tokens.pat, { raw: true, type: 'application/octet-stream' }), 201);
  assert.equal(delta.from_version, '1.0.0');
  await go(pat, 'Fleet');
  await go(pat, 'Releases');
  const withDelta = await pat.locator('main tbody tr', { hasText: '2.0.0' }).textContent();
  assert.ok(withDelta.includes('from 1.0.0'), withDelta);
  await shot(pat, 'releases');
  assert.equal(await pat.getByRole('button', { name: /^Approve/ }).count(), 0, 'a publisher does not approve');
  await requireEndpoint('approvals', 'GET', `/tenants/${T}/approvals?state=pending`);
  await row.locator('.badge', { hasText: 'pending' }).waitFor();
});

// ---- roles ----
await step('each role: navigation, and write controls only where the role may use them', async () => {
  await requireEndpoint('rollouts', 'GET', `/tenants/${T}/rollouts`);
  const expect = {
    alice: { Releases: ['Upload', 'Approve', 'Reject', 'Revoke'], Approvals: ['Approve', 'Reject'], Rollouts: ['Create rollout'] },
    pat: { Releases: ['Upload'], Approvals: [], Rollouts: [] },
    ann: { Releases: ['Approve', 'Reject', 'Revoke'], Approvals: ['Approve', 'Reject'], Rollouts: [] },
    olga: { Releases: [], Approvals: [], Rollouts: ['Create rollout'] },
    vic: { Releases: [], Approvals: [], Rollouts: [] },
  };
  for (const [user, pages] of Object.entries(expect)) {
    const page = await newPage();
    await signIn(page, user);
    await page.locator('.who .badge', { hasText: USERS[user] }).waitFor();
    const nav = await navLinks(page);
    assert.deepEqual(nav.slice(0, 5), mainNav, user);
    assert.equal(nav.includes('Audit log'), user === 'alice', `${user}: audit log`);
    for (const [p, want] of Object.entries(pages)) {
      await go(page, p);
      const have = new Set(await writeButtons(page));
      for (const w of want) assert.ok([...have].some((x) => x.startsWith(w)), `${user} on ${p}: ${w} missing (has ${[...have]})`);
      const extra = [...have].filter((x) => !want.some((w) => x.startsWith(w)) && !/^(Remove|Preview|Add a stage|Cancel upload)/.test(x));
      assert.deepEqual(extra, [], `${user} on ${p}`);
      if (p === 'Rollouts') assert.equal(await page.getByRole('heading', { name: 'Create a rollout' }).count(), want.length ? 1 : 0, `${user}: create form`);
      if (p === 'Releases') assert.equal(await page.getByLabel('Package (update.zip)').count(), want.includes('Upload') ? 1 : 0, `${user}: upload`);
    }
    await page.context().close();
  }
});

// ---- approvals ----
const ann = await newPage();
await step('approver sees the pending release and approves it with a comment', async () => {
  await requireEndpoint('approvals', 'GET', `/tenants/${T}/approvals?state=pending`);
  await signIn(ann, 'ann');
  await go(ann, 'Approvals');
  await assertLabelled(ann);
  const row = ann.locator('main tbody tr', { hasText: '2.0.0' });
  await row.waitFor();
  await shot(ann, 'approvals');
  await row.getByRole('button', { name: 'Approve gw 2.0.0' }).click();
  const dlg = ann.getByRole('dialog');
  await dlg.getByLabel('Comment').fill('checked on the lab fleet');
  await assertLabelled(ann);
  await dlg.getByRole('button', { name: 'Approve' }).click();
  await ann.getByText('gw 2.0.0 approved.').waitFor();
  const rel = await expectStatus(api('GET', `/tenants/${T}/releases/${rel2.id}`, undefined, tokens.vic), 200);
  assert.equal(rel.approval.state, 'approved');
  assert.equal(rel.approval.by, 'ann');
  assert.equal(rel.approval.comment, 'checked on the lab fleet');
  await ann.getByLabel('Show').selectOption('approved');
  await ann.locator('main tbody tr', { hasText: '2.0.0' }).getByText('checked on the lab fleet').waitFor();
});

// ---- rollouts ----
const olga = await newPage();
let rolloutId = null;
let previewStages = [];
const offered = new Set();
const reported = { success: 0, failure: 0 };
await step('operator creates a staged rollout; the preview counts devices per stage', async () => {
  await requireEndpoint('rollouts preview', 'POST', `/tenants/${T}/rollouts/preview`, {
    name: 'probe', release: rel2.id, filter: {}, stages: [{ percent: 100, success_threshold: 100, failure_threshold: 10, min_devices: 0 }],
    download: 'forced', update: 'forced', maintenance_window: null,
  });
  await signIn(olga, 'olga');
  await go(olga, 'Rollouts');
  const form = olga.locator('form', { has: olga.getByRole('heading', { name: 'Create a rollout' }) });
  await form.getByLabel('Name').fill('eu-wave-1');
  await form.getByLabel('Release').selectOption(String(rel2.id));
  await form.getByLabel('Models').fill('gw-a');
  // Two stages: half, then everyone; one failure in 8 must not pause it.
  await form.getByRole('button', { name: 'Remove stage 3' }).click();
  const stage = (n) => form.locator('li.stage').nth(n - 1);
  await stage(1).getByLabel('Devices (%)').fill('50');
  await stage(1).getByLabel('Success to advance (%)').fill('100');
  await stage(1).getByLabel('Failure to pause (%)').fill('50');
  await stage(2).getByLabel('Devices (%)').fill('100');
  await stage(2).getByLabel('Failure to pause (%)').fill('50');
  await assertLabelled(olga);
  await form.getByRole('button', { name: 'Preview' }).click();
  await olga.locator('.preview-total', { hasText: /^16 devices match/ }).waitFor();
  const perStage = (await olga.locator('.preview tbody tr td:nth-child(3)').allTextContents()).map(Number);
  assert.equal(perStage.length, 2);
  // Stages are cut by rank (docs/rollouts.md): exactly half, then the rest.
  assert.deepEqual(perStage, [8, 8]);
  previewStages = perStage;
  await shot(olga, 'rollout-create');
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await olga.locator('main h1', { hasText: 'eu-wave-1' }).waitFor();
  await settle(olga);
  rolloutId = Number(/#\/rollout\/([0-9]+)/.exec(olga.url())[1]);
  await olga.locator('main h1 .badge', { hasText: 'draft' }).waitFor();
  assert.deepEqual(await writeButtons(olga), ['Start', 'Cancel rollout']);
});

await step('start: live counts and the chart move as devices report (Server-Sent Events)', async () => {
  assert.ok(rolloutId, 'no rollout created');
  await olga.getByRole('button', { name: 'Start', exact: true }).click();
  await olga.locator('main h1 .badge', { hasText: 'running' }).waitFor();
  await olga.locator('.live-state', { hasText: 'live' }).waitFor();
  await olga.locator('.chart-canvas canvas').first().waitFor();
  const count = async (k) => Number(await olga.locator(`[data-count="${k}"]`).textContent());
  const samples = async () => Number(/^([0-9]+) sample/.exec(await olga.locator('.chart-card .hint').textContent())[1]);
  const before = await samples();
  assert.equal(await count('success'), 0);
  // The gw-a devices poll; those in the current stage get the update and report.
  let done = 0;
  let failed = 0;
  for (let round = 0; round < 3; round++) {
    for (const id of ids.slice(0, 16)) {
      const fail = failed === 0 && done === 1; // the second device to update fails
      // The first device to update downloads the full package (no configData otter.delta).
      const aid = await deviceCycle(id, fail ? 'failure' : 'success', fail ? 'boot check failed; rolled back' : 'installed 2.0.0', done + failed === 0);
      if (aid) {
        offered.add(id);
        if (fail) failed += 1;
        else done += 1;
        // Reports spread over a few seconds: the chart gets one sample per second.
        if (round === 0) await new Promise((r) => setTimeout(r, 700));
      }
    }
  }
  assert.ok(done >= 1, 'no device was offered the update');
  Object.assign(reported, { success: done, failure: failed });
  const stats = await expectStatus(api('GET', `/tenants/${T}/rollouts/${rolloutId}/stats`, undefined, tokens.vic), 200);
  assert.equal(stats.total.success, done, JSON.stringify(stats));
  assert.deepEqual(stats.stages.map((x) => x.devices), previewStages, 'the preview said so');
  assert.equal(done + failed, previewStages[0], 'only the first stage was offered');
  // The page follows without a reload.
  await olga.waitForFunction(([want]) => document.querySelector('[data-count="success"]')?.textContent === String(want), [done], { timeout: 15000 });
  assert.equal(await count('failure'), failed);
  assert.ok(await samples() > before, 'the chart got new samples');
  // Bytes sent against a full update's (docs/rollouts.md "Bytes sent"): one full download.
  const full = statSync(path.join(PKG, 'gw-2.0.0.zip')).size;
  assert.equal(downloadedBytes, full);
  await olga.waitForFunction(([want]) => document.querySelector('[data-bytes-sent]')?.dataset.bytesSent === want, [String(full)], { timeout: 15000 });
  assert.equal(await olga.locator('[data-bytes-full]').getAttribute('data-bytes-full'), String(full));
  assert.match(await olga.locator('[data-count="bytes"]').textContent(), /^a full update would be [0-9.]+ [KM]iB; saved 0 % \(0 delta downloads\)$/);
  await olga.locator('main tbody tr', { hasText: 'Stage 1' }).waitFor();
  await shot(olga, 'rollout-live');
  // One stage's counts over time, then all again.
  await olga.getByLabel('Chart of').selectOption({ label: 'Stage 1 (50 %)' });
  await olga.locator('.u-legend').waitFor();
  await olga.getByLabel('Chart of').selectOption('all');
});

await step('pause: the rollout stops where it is, with who paused it', async () => {
  assert.ok(rolloutId, 'no rollout created');
  const state = (await expectStatus(api('GET', `/tenants/${T}/rollouts/${rolloutId}`, undefined, tokens.vic), 200)).state;
  if (state !== 'running') assert.fail(`rollout is ${state} before pause`);
  await olga.getByRole('button', { name: 'Pause', exact: true }).click();
  await olga.locator('main h1 .badge', { hasText: 'paused' }).waitFor();
  await olga.getByText(/Paused: paused by olga/).waitFor();
  const r = await expectStatus(api('GET', `/tenants/${T}/rollouts/${rolloutId}`, undefined, tokens.vic), 200);
  assert.equal(r.state, 'paused');
  const names = await writeButtons(olga);
  assert.ok(names.includes('Resume') && !names.includes('Pause'), names.join(','));
  // One device failed in stage 1: the operator may also resume retrying it.
  assert.ok(names.includes('Resume and retry failed devices'), names.join(','));
  await shot(olga, 'rollout-paused');
});

await step('viewer: the rollout page with live counts and no write controls', async () => {
  assert.ok(rolloutId, 'no rollout created');
  await go(vic, 'Rollouts');
  await vic.getByRole('link', { name: 'eu-wave-1' }).click();
  await vic.locator('main h1', { hasText: 'eu-wave-1' }).waitFor();
  await settle(vic);
  await vic.locator('.live-state', { hasText: 'live' }).waitFor();
  assert.deepEqual(await writeButtons(vic), []);
  assert.equal(await vic.getByRole('heading', { name: 'Control' }).count(), 0);
  await vic.locator('.chart-canvas canvas').first().waitFor();
  await assertLabelled(vic);
  await shot(vic, 'rollout-viewer');
  // The server refuses anyway.
  assert.equal((await api('POST', `/tenants/${T}/rollouts/${rolloutId}/resume`, undefined, tokens.vic)).status, 403);
});

await step('advance: the operator opens the next stage of a paused rollout', async () => {
  assert.ok(rolloutId, 'no rollout created');
  await olga.getByRole('button', { name: 'Advance to the next stage' }).click();
  await olga.locator('.facts dd', { hasText: '2 of 2' }).waitFor();
  await olga.locator('main tbody tr', { hasText: 'Stage 2' }).locator('.badge', { hasText: 'current' }).waitFor();
  assert.equal(await olga.getByRole('button', { name: 'Advance to the next stage' }).count(), 0, 'no advance from the last stage');
  // Paused: the second stage's devices are not offered anything yet.
  const stage2 = ids.slice(0, 16).filter((id) => !offered.has(id));
  assert.equal(stage2.length, previewStages[1]);
  for (const id of stage2) assert.equal(await deviceCycle(id), null, `${id} offered while paused`);
  await shot(olga, 'rollout-advanced');
});

await step('resume retrying the failed device, then revoking the approval pauses the rollout', async () => {
  assert.ok(rolloutId, 'no rollout created');
  await olga.getByRole('button', { name: 'Resume and retry failed devices' }).click();
  await olga.locator('main h1 .badge', { hasText: 'running' }).waitFor();
  await olga.getByText(`Rollout eu-wave-1 resumed; ${reported.failure} failed device${reported.failure === 1 ? '' : 's'} get`).waitFor();
  // The failed device has a new action in stage 1; its failure left the counts.
  const stats = await expectStatus(api('GET', `/tenants/${T}/rollouts/${rolloutId}/stats`, undefined, tokens.vic), 200);
  assert.equal(stats.total.failure, 0, JSON.stringify(stats.total));
  assert.equal(stats.stages[0].scheduled, reported.failure, JSON.stringify(stats.stages[0]));
  reported.failure = 0;
  await olga.waitForFunction(() => document.querySelector('[data-count="failure"]')?.textContent === '0', null, { timeout: 15000 });
  await go(ann, 'Releases');
  await ann.getByRole('button', { name: 'Revoke gw 2.0.0' }).click();
  await ann.getByRole('dialog').getByLabel('Comment').fill('field reports of boot loops');
  await ann.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await ann.getByText('gw 2.0.0 revoked.').waitFor();
  // The operator's page learns it from the live feed.
  const t0 = Date.now();
  await olga.locator('main h1 .badge', { hasText: 'paused' }).waitFor({ timeout: 15000 }).catch(async (e) => {
    // Say what the page knew, so a miss can be told from a slow feed.
    const text = async (sel) => (await olga.locator(sel).first().textContent().catch(() => '?')) || '';
    throw new Error(`${e.message}\nrevoked at ${t0}; now ${Date.now()}; heading "${await text('main h1')}"; live feed "${await text('.live-state')}"`);
  });
  await olga.getByText(/Paused: approval revoked/).waitFor();
});

await step('phone (390×844): every main page fits and is screenshotted', async () => {
  const phone = await newPage(PHONE);
  await signIn(phone, 'alice');
  for (const [label, name] of [['Fleet', 'fleet'], ['Releases', 'releases'], ['Approvals', 'approvals'], ['Rollouts', 'rollouts']]) {
    await go(phone, label);
    await assertFits(phone);
    await shot(phone, `${name}-phone`);
  }
  await phone.goto(`${BASE}/#/device/gw-0001`);
  await phone.locator('main h1', { hasText: 'gw-0001' }).waitFor();
  await settle(phone);
  await assertFits(phone);
  await shot(phone, 'device-phone');
  if (rolloutId) {
    await phone.goto(`${BASE}/#/rollout/${rolloutId}`);
    await phone.locator('main h1', { hasText: 'eu-wave-1' }).waitFor();
    await settle(phone);
    await phone.locator('.chart-canvas canvas').first().waitFor();
    await assertFits(phone);
    await shot(phone, 'rollout-phone');
  }
});

await step('laptop screenshots of the rollouts list and the audit log', async () => {
  const page = await newPage();
  await signIn(page, 'alice');
  await go(page, 'Rollouts');
  if (rolloutId) {
    const row = page.locator('main tbody tr', { hasText: 'eu-wave-1' });
    await row.getByText(`${reported.success} ok · ${reported.failure} failed · `).waitFor();
  }
  await shot(page, 'rollouts');
  await go(page, 'Audit log');
  await page.locator('main tbody tr', { hasText: 'release.create' }).first().waitFor();
  await shot(page, 'audit');
});

await step('keyboard: the rollout controls are reachable with Tab and work with Enter', async () => {
  assert.ok(rolloutId, 'no rollout created');
  await olga.goto(`${BASE}/#/rollout/${rolloutId}`);
  await olga.locator('main h1', { hasText: 'eu-wave-1' }).waitFor();
  await settle(olga);
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await olga.keyboard.press('Tab');
    found = await olga.evaluate(() => document.activeElement?.textContent === 'Cancel rollout');
  }
  assert.ok(found, 'Cancel rollout not reachable by keyboard');
  assert.equal(await olga.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'solid');
  await olga.keyboard.press('Enter');
  const dlg = olga.getByRole('dialog');
  await dlg.waitFor();
  await olga.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });
});

await step('no console errors (CSP violations included)', async () => {
  const real = consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (401|403|409|422)/.test(e));
  assert.deepEqual(real, []);
});

await browser.close();
if (failures) {
  console.log(`${failures} step(s) failed`);
  process.exit(1);
}
console.log('all fleet steps passed');
