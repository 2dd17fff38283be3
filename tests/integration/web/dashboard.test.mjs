// SPDX-License-Identifier: Apache-2.0
// Browser test of the dashboard: Debian's chromium driven by playwright-core
// against a real otter-server on 127.0.0.1 (started by dashboard.sh).
// Users are created through the API, then each role signs in through the
// UI: what is shown and clickable follows the role, a user created in the
// UI shows up in the list and the audit log, a wrong password shows an
// error, sign-out revokes the token. Screenshots go to OUT_DIR.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OTTER_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const OUT = process.env.OUT_DIR;
const ADMIN_PW = process.env.ADMIN_PASSWORD;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE && OUT && ADMIN_PW, 'BASE_URL, OUT_DIR and ADMIN_PASSWORD must be set');
assert.ok(new URL(BASE).hostname === '127.0.0.1', 'tests talk to 127.0.0.1 only');
mkdirSync(OUT, { recursive: true });

const PW = { alice: 'alice-password-1', victor: 'victor-password-1', carol: 'carol-password-1' };

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

async function api(method, p, body, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + '/api/v1' + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, doc: text ? JSON.parse(text) : null };
}

async function expectStatus(promise, want) {
  const r = await promise;
  assert.equal(r.status, want, JSON.stringify(r.doc));
  return r.doc;
}

// ---- fixtures through the API ----
const adminToken = (await expectStatus(api('POST', '/login', { username: 'admin', password: ADMIN_PW }), 200)).token;
await expectStatus(api('POST', '/tenants', { name: 'acme' }, adminToken), 201);
await expectStatus(api('POST', '/tenants', { name: 'globex' }, adminToken), 201);
await expectStatus(api('POST', '/tenants/acme/users', { username: 'alice', password: PW.alice, role: 'admin' }, adminToken), 201);
await expectStatus(api('PUT', '/tenants/globex/users/alice', { role: 'operator' }, adminToken), 200);
await expectStatus(api('POST', '/tenants/acme/users', { username: 'victor', password: PW.victor, role: 'viewer' }, adminToken), 201);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-proxy-server'],
});

const consoleErrors = [];
async function newPage(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, colorScheme: 'light', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.text()} (${page.url()})`); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  // Only our own origin: anything else would be a bug (or a CDN we must not use).
  await context.route('**/*', (route) => (route.request().url().startsWith(BASE) ? route.continue() : route.abort()));
  return page;
}

async function signIn(page, user, password) {
  await page.goto(BASE + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  // The shell (with Sign out) is drawn before the first page; that page then takes
  // the focus when it has loaded, so a step that moves the focus must start after.
  await page.locator('main .loading').waitFor({ state: 'detached' });
}

async function go(page, label) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await page.locator('main h1').filter({ hasText: label === 'Users' ? 'Users' : label }).first().waitFor();
  await page.locator('main .loading').waitFor({ state: 'detached' });
}

async function navLinks(page) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** Every visible form control has an accessible name (label, aria-label or aria-labelledby). */
async function assertLabelled(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent !== null || el.closest('dialog[open]'))
    .filter((el) => {
      if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
      return !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
    })
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(unlabelled, []);
}

/** Write controls inside <main>: enabled buttons, inputs and selects (searching and filtering excepted). */
async function mainControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('main button, main input, main select, main textarea')]
    .filter((el) => !el.closest('[role="search"], .toolbar')).length);
}

// ---- wrong password, then the global admin ----
const admin = await newPage();

await step('wrong password shows an error and stores no token', async () => {
  await admin.goto(BASE + '/');
  await assertLabelled(admin);
  await admin.getByLabel('User name').fill('admin');
  await admin.getByLabel('Password').fill('not-the-password');
  await admin.getByRole('button', { name: 'Sign in' }).click();
  const alert = admin.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Wrong user name or password/);
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('otter.token')), null);
  await shot(admin, 'login-error');
});

await step('keyboard: tab through the login form, focus is visible, Enter signs in', async () => {
  await admin.goto(BASE + '/');
  await admin.getByLabel('User name').waitFor();
  assert.equal(await admin.evaluate(() => document.activeElement.id && document.activeElement.labels[0].textContent), 'User name');
  await admin.keyboard.type('admin');
  await admin.keyboard.press('Tab');
  await admin.keyboard.type(ADMIN_PW);
  await admin.keyboard.press('Tab');
  const outline = await admin.evaluate(() => [document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]);
  assert.deepEqual(outline, ['Sign in', 'solid']);
  await admin.keyboard.press('Enter');
  await admin.getByRole('button', { name: 'Sign out' }).waitFor();
});

await step('global admin: every page in the navigation, fleet empty state says what will appear', async () => {
  assert.deepEqual(await navLinks(admin),
    ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users', 'Device certificates', 'Audit log', 'Tenants', 'All accounts', 'API tokens', 'Your account']);
  await admin.locator('.who .badge', { hasText: 'global admin' }).waitFor();
  await go(admin, 'Fleet');
  await admin.getByText('No devices yet — provision devices via the API.').waitFor();
  assert.equal(await admin.locator('main table').count(), 0, 'no fake devices');
  await shot(admin, 'fleet');
  await go(admin, 'Releases');
  await admin.getByText('No releases yet').waitFor();
  await shot(admin, 'releases');
  // Device certificates (issue #13): the mode as the server has it, no CA yet, the upload form.
  await go(admin, 'Device certificates');
  assert.equal(await admin.getByLabel('Devices authenticate with').inputValue(), 'token');
  await admin.getByText('No device CAs.').waitFor();
  await admin.getByRole('heading', { name: 'Add a device CA' }).waitFor();
  await shot(admin, 'devcerts');
  // Rollouts and approvals: tests/integration/web/fleet.test.mjs (web_fleet).
});

await step('tenant switcher lists every tenant for a global admin', async () => {
  const options = await admin.getByLabel('Tenant', { exact: true }).locator('option').allTextContents();
  assert.deepEqual(options, ['acme', 'globex']);
});

await step('global admin creates a user in the UI; it is in the list', async () => {
  await go(admin, 'Users');
  await assertLabelled(admin);
  const form = admin.locator('form', { has: admin.getByRole('heading', { name: 'Add a user' }) });
  await form.getByLabel('User name').fill('carol');
  await form.getByLabel('Password').fill(PW.carol);
  await form.getByLabel('Role').selectOption('operator');
  await form.getByRole('button', { name: 'Create user' }).click();
  await admin.getByText('Created carol as operator in acme.').waitFor();
  const row = admin.locator('main tbody tr', { has: admin.locator('th', { hasText: /^carol$/ }) });
  await row.waitFor();
  assert.equal(await row.getByLabel('Role of carol').inputValue(), 'operator');
  await shot(admin, 'users');
});

await step('the created user is in the audit log, and the action filter works', async () => {
  await go(admin, 'Audit log');
  await assertLabelled(admin);
  const row = admin.locator('main tbody tr', { hasText: 'member.create' }).filter({ hasText: 'carol' });
  await row.waitFor();
  assert.match(await row.textContent(), /admin/);
  // Failed logins belong to no tenant: look at all of them.
  await admin.getByLabel('Tenant to show').selectOption('');
  await admin.getByLabel('Action').fill('login.failed');
  await admin.getByRole('button', { name: 'Apply filters' }).click();
  await admin.locator('main tbody tr', { hasText: 'login.failed' }).first().waitFor();
  const actions = await admin.locator('main tbody td:nth-child(4)').allTextContents();
  assert.ok(actions.length > 0 && actions.every((a) => a === 'login.failed'), actions.join(','));
  await admin.getByLabel('Action').fill('');
  await admin.getByLabel('Per page').selectOption('25');
  await admin.getByRole('button', { name: 'Apply filters' }).click();
  await admin.getByText('Page 1').waitFor();
  await shot(admin, 'audit');
});

await step('audit pagination: older and newer pages', async () => {
  // Enough entries for two pages of 25: failed logins through the API.
  for (let i = 0; i < 26; i++) await api('POST', '/login', { username: `nobody${i}`, password: 'wrong-password' });
  await admin.getByRole('button', { name: 'Apply filters' }).click();
  await admin.getByText('Page 1').waitFor();
  // The whole row, not its time: 26 logins fit in one second, so pages can share their first time.
  const first = await admin.locator('main tbody tr').first().textContent();
  await admin.getByRole('button', { name: 'Older →' }).click();
  await admin.getByText('Page 2').waitFor();
  assert.notEqual(await admin.locator('main tbody tr').first().textContent(), first);
  await admin.getByRole('button', { name: '← Newer' }).click();
  await admin.getByText('Page 1').waitFor();
  assert.equal(await admin.getByRole('button', { name: '← Newer' }).isDisabled(), true);
});

await step('tenants and all accounts pages for the global admin', async () => {
  await go(admin, 'Tenants');
  await admin.getByRole('heading', { name: 'Create a tenant' }).waitFor();
  await admin.getByRole('button', { name: 'Delete globex' }).waitFor();
  await shot(admin, 'tenants');
  await go(admin, 'All accounts');
  for (const u of ['admin', 'alice', 'victor', 'carol']) await admin.locator('main tbody th', { hasText: new RegExp(`^${u}$`) }).waitFor();
  await assertLabelled(admin);
  await shot(admin, 'accounts');
});

await step('API tokens: create shows the secret once, revoke removes it', async () => {
  await go(admin, 'API tokens');
  await admin.getByLabel('Token name').fill('ci-upload');
  // A wrong password mints nothing; the right one does.
  await admin.getByLabel('Your password').fill('not-the-password');
  await admin.getByRole('button', { name: 'Create token' }).click();
  await admin.getByRole('alert').filter({ hasText: 'your password is wrong' }).waitFor();
  await admin.getByLabel('Your password').fill(ADMIN_PW);
  await admin.getByRole('button', { name: 'Create token' }).click();
  const secret = admin.locator('#new-token-secret');
  await secret.waitFor();
  const token = await secret.inputValue();
  assert.match(token, /^ota_[0-9a-f]{64}$/);
  assert.equal((await api('GET', '/me', null, token)).status, 200);
  await admin.locator('main tbody th', { hasText: 'ci-upload' }).waitFor();
  await shot(admin, 'tokens');
  await admin.getByRole('button', { name: 'Revoke ci-upload' }).click();
  const dlg = admin.getByRole('dialog');
  await dlg.getByRole('button', { name: 'Revoke token' }).click();
  await admin.getByText('Revoked ci-upload.').waitFor();
  assert.equal((await api('GET', '/me', null, token)).status, 401);
});

await step('sign-out revokes the session token', async () => {
  const token = await admin.evaluate(() => sessionStorage.getItem('otter.token'));
  assert.match(token, /^ots_/);
  await admin.getByRole('button', { name: 'Sign out' }).click();
  await admin.getByRole('button', { name: 'Sign in' }).waitFor();
  await admin.getByText('You have signed out.').waitFor();
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('otter.token')), null);
  assert.equal((await api('GET', '/me', null, token)).status, 401);
  await shot(admin, 'login');
});

// ---- a tenant admin ----
const alice = await newPage();
await step('tenant admin: tenant pages and audit, no server-wide admin', async () => {
  await signIn(alice, 'alice', PW.alice);
  assert.deepEqual(await navLinks(alice),
    ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users', 'Device certificates', 'Audit log', 'Tenants', 'API tokens', 'Your account']);
  await alice.locator('.who .badge', { hasText: 'admin' }).waitFor();
  await go(alice, 'Users');
  await alice.getByRole('heading', { name: 'Add a user' }).waitFor();
  await alice.getByRole('button', { name: 'Remove' }).first().waitFor();
  await shot(alice, 'users-tenant-admin');
  // Set a role and reset a password through the UI; the server agrees.
  const carol = alice.locator('main tbody tr', { has: alice.locator('th', { hasText: /^carol$/ }) });
  await carol.getByLabel('Role of carol').selectOption('viewer');
  await carol.getByRole('button', { name: 'Set role' }).click();
  await alice.getByText('carol is now viewer in acme.').waitFor();
  await carol.getByRole('button', { name: 'Reset password' }).click();
  const dlg = alice.getByRole('dialog', { name: 'Reset the password of carol' });
  await dlg.getByLabel('New password').fill('carol-password-2');
  await shot(alice, 'reset-password');
  await dlg.getByRole('button', { name: 'Set password' }).click();
  await alice.getByText('The password of carol was reset.').waitFor();
  // Her own password changes on "Your account", with the current one: no reset in her row.
  const self = alice.locator('main tbody tr', { has: alice.locator('th', { hasText: /^alice$/ }) });
  await self.getByLabel('Role of alice').waitFor();
  assert.equal(await self.getByRole('button', { name: 'Reset password' }).count(), 0);
  assert.equal((await api('POST', '/login', { username: 'carol', password: PW.carol })).status, 401);
  const login = await expectStatus(api('POST', '/login', { username: 'carol', password: 'carol-password-2' }), 200);
  const me = await expectStatus(api('GET', '/me', null, login.token), 200);
  assert.deepEqual(me.memberships, [{ tenant: 'acme', role: 'viewer' }]);
  await go(alice, 'Audit log');
  assert.equal(await alice.getByLabel('Tenant', { exact: true }).locator('option').count(), 2, 'only the switcher has a Tenant label');
  await alice.locator('main tbody tr', { hasText: 'member.create' }).filter({ hasText: 'carol' }).waitFor();
  await go(alice, 'Tenants');
  assert.equal(await alice.getByRole('heading', { name: 'Create a tenant' }).count(), 0);
  assert.equal(await alice.getByRole('button', { name: /^Delete/ }).count(), 0);
});

await step('tenant switcher: in globex alice is an operator and has no write controls', async () => {
  await alice.getByLabel('Tenant', { exact: true }).selectOption('globex');
  await alice.locator('.who .badge', { hasText: 'operator' }).waitFor();
  assert.equal(await alice.evaluate(() => document.activeElement.id), 'tenant-select', 'focus stays on the switcher');
  assert.deepEqual(await navLinks(alice), ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users', 'Device certificates', 'Tenants', 'API tokens', 'Your account']);
  await go(alice, 'Users');
  await alice.getByText('Your role in globex is operator').waitFor();
  assert.equal(await mainControls(alice), 0);
});

// ---- a viewer ----
const victor = await newPage();
await step('viewer: reads, sees no write controls', async () => {
  await signIn(victor, 'victor', PW.victor);
  assert.deepEqual(await navLinks(victor), ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users', 'Device certificates', 'Tenants', 'API tokens', 'Your account']);
  for (const p of ['Fleet', 'Releases', 'Approvals', 'Rollouts', 'Users', 'Tenants']) {
    await go(victor, p);
    const n = p === 'Tenants' ? await victor.locator('main').getByRole('button', { name: /Delete|Create/ }).count() : await mainControls(victor);
    assert.equal(n, 0, `write controls on ${p}`);
  }
  await go(victor, 'Users');
  for (const u of ['alice', 'victor', 'carol']) await victor.locator('main tbody th', { hasText: new RegExp(`^${u}$`) }).waitFor();
  await shot(victor, 'users-viewer');
  // The server enforces it anyway: the hidden audit page is refused, and so is a typed URL.
  await victor.goto(BASE + '/#/audit');
  await victor.locator('main h1', { hasText: 'Fleet' }).waitFor();
  const token = await victor.evaluate(() => sessionStorage.getItem('otter.token'));
  assert.equal((await api('GET', '/tenants/acme/audit', null, token)).status, 403);
});

await step('your account: a wrong current password is refused in place; a new one signs you out', async () => {
  await go(victor, 'Your account');
  await assertLabelled(victor);
  await victor.getByLabel('Current password').fill('not-my-password');
  await victor.getByLabel('New password').fill('victor-password-2');
  await victor.getByRole('button', { name: 'Change password' }).click();
  await victor.getByRole('alert').filter({ hasText: 'old password is wrong' }).waitFor();
  await victor.getByRole('button', { name: 'Sign out' }).waitFor();
  await shot(victor, 'account');
  await victor.getByLabel('Current password').fill(PW.victor);
  await victor.getByLabel('New password').fill('victor-password-2');
  await victor.getByRole('button', { name: 'Change password' }).click();
  await victor.getByText('Password changed. Sign in with the new one.').waitFor();
  await signIn(victor, 'victor', 'victor-password-2');
});

await step('keyboard: the skip link is first and moves the focus to the page', async () => {
  // From the top of the document (the page itself now holds focusable filters).
  await victor.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await victor.keyboard.press('Tab');
  assert.equal(await victor.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await victor.keyboard.press('Enter');
  assert.equal(await victor.evaluate(() => document.activeElement.id), 'main');
});

await step('a revoked session returns to the sign-in page with a reason', async () => {
  // A global admin resets victor's password through the API: his tokens are revoked.
  await expectStatus(api('PUT', '/users/victor/password', { password: 'victor-password-3' }, adminToken), 204);
  await victor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users', exact: true }).click();
  await victor.getByText('Your session has ended. Sign in again.').waitFor();
  await victor.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await victor.evaluate(() => sessionStorage.getItem('otter.token')), null);
});

await step('phone: the users page fits a 390 px screen', async () => {
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone, 'admin', ADMIN_PW);
  await go(phone, 'Users');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  await shot(phone, 'users-phone');
  await go(phone, 'Fleet');
  await shot(phone, 'fleet-phone');
});

await step('global admin deletes an account; the audit log records it', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PW);
  await go(page, 'All accounts');
  const row = page.locator('main tbody tr', { has: page.locator('th', { hasText: /^carol$/ }) });
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete account' }).click();
  await page.getByText('Deleted the account carol.').waitFor();
  await row.waitFor({ state: 'detached' });
  // Its own row has no Delete: the server would refuse (409) anyway.
  const self = page.locator('main tbody tr', { has: page.locator('th', { hasText: /^admin$/ }) });
  assert.equal(await self.getByRole('button', { name: 'Delete' }).count(), 0);
  await go(page, 'Audit log');
  await page.getByLabel('Tenant to show').selectOption('');
  await page.getByLabel('Action').fill('user.delete');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('main tbody tr', { hasText: 'user.delete' }).filter({ hasText: 'carol' }).waitFor();
});

await step('no console errors (CSP violations included)', async () => {
  // The browser logs the refusals the test provokes (wrong passwords: 401, 403).
  const real = consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (401|403)/.test(e));
  assert.deepEqual(real, []);
});

await browser.close();
if (failures) {
  console.log(`${failures} step(s) failed`);
  process.exit(1);
}
console.log('all dashboard steps passed');
