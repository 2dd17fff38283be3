// SPDX-License-Identifier: Apache-2.0
// What the dashboard's browser tests share (caps, windows, campaign): the
// environment dashboard.sh sets, API calls with fetch, steps that report
// TAP-like lines, and Debian's chromium through playwright-core with every
// request outside the server refused.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OTTER_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export const BASE = process.env.BASE_URL;
export const ADMIN_PW = process.env.ADMIN_PASSWORD;
export const PKG = process.env.PKG_DIR;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE && ADMIN_PW && PKG, 'BASE_URL, ADMIN_PASSWORD and PKG_DIR must be set');
assert.ok(new URL(BASE).hostname === '127.0.0.1', 'tests talk to 127.0.0.1 only');
export const PW = 'user-password-1';

/** One call to the server at path p (from the root): {status, doc}. auth replaces "Bearer token". */
export async function api(method, p, body, token, { raw = false, type, auth } = {}) {
  const headers = {};
  if (token) headers.Authorization = auth || `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  const r = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, doc: text ? JSON.parse(text) : null };
}

export async function expectStatus(promise, want) {
  const r = await promise;
  assert.equal(r.status, want, JSON.stringify(r.doc));
  return r.doc;
}

let failures = 0;
/** Runs fn as one named step: "ok - name" or "not ok - name" with the stack; the run goes on. */
export async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`not ok - ${name}\n${e.stack || e}`);
  }
}

/** chromium with one page that may reach BASE only; errors collects the page's uncaught errors. */
export async function openBrowser({ timeout = 10000 } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-proxy-server'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.route('**/*', (route) => (route.request().url().startsWith(BASE) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { browser, page, errors };
}

/** Signs user in through the login form and waits for the first page. */
export async function signIn(page, user, password = PW) {
  await page.goto(BASE + '/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.locator('main .loading').waitFor({ state: 'detached' });
}

/** The last step: no page errors; closes the browser and exits 1 when a step failed. */
export async function finish(browser, errors) {
  await step('no page errors', async () => assert.deepEqual(errors, []));
  await browser.close();
  if (failures) {
    console.log(`${failures} step(s) failed`);
    process.exit(1);
  }
}
