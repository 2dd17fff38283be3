// SPDX-License-Identifier: Apache-2.0
// Browser test of the local update page (web/device/): Debian's chromium driven by
// playwright-core, against `otter-agentd ui` (BASE_URL) in front of a simulated device
// (device_page.sh sets it up). BAT_DIR is the device's power_supply directory.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OTTER_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const BASE = process.env.BASE_URL;
const OUT = process.env.OUT_DIR;
const BAT = process.env.BAT_DIR;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-proxy-server'],
});
let failed = false;
const page = await browser.newPage();
page.setDefaultTimeout(60000);
const shot = (name) => page.screenshot({ path: path.join(OUT, name + '.png'), fullPage: true });
try {
  await page.goto(BASE + '/');
  await page.locator('#login').waitFor();
  await page.fill('#password', 'not-it');
  await page.click('#login-button');
  await page.locator('#login-error', { hasText: 'wrong password' }).waitFor();
  console.log('ok   a wrong password is refused on the page');
  await page.fill('#password', process.env.PAGE_PW);
  await page.click('#login-button');
  await page.locator('#current', { hasText: '1.0' }).waitFor();
  console.log('ok   logged in: installed 1.0');

  await page.click('#check');
  await page.locator('#offer-version', { hasText: '2.0' }).waitFor();
  assert.match(await page.textContent('#offer-size'), /bytes\)$/);
  await shot('1-offer');
  console.log('ok   the offer: version and size');

  // Low battery, discharging: Download (and Start) refused by the daemon, the reasons shown.
  await page.click('#download');
  await page.locator('#error', { hasText: 'download is not possible yet: battery at 15 %' }).waitFor();
  await page.locator('#blockers li', { hasText: 'battery at 15 %' }).waitFor();
  assert.equal(await page.isDisabled('#start'), true);
  await shot('2-blocked');
  console.log('ok   Start disabled on a low battery, the reason shown');

  writeFileSync(path.join(BAT, 'capacity'), '80\n');
  writeFileSync(path.join(BAT, 'status'), 'Charging\n');
  await page.click('#download');
  // The progress bar shows while downloading (2 MB through 127.0.0.1 may be quick: then
  // the state is already "ready"); either way the page ends at "ready", Start enabled.
  await page.locator('#summary', { hasText: 'ready to install' }).waitFor();
  assert.equal(await page.locator('#blockers li').count(), 0);
  assert.equal(await page.isDisabled('#start'), false);
  console.log('ok   charger in: downloaded and verified, Start enabled');

  page.once('dialog', (d) => { assert.match(d.message(), /Install the update now/); d.accept(); });
  await page.click('#start');
  await page.locator('#reboot').waitFor({ state: 'visible', timeout: 120000 });
  await shot('3-reboot');
  console.log('ok   Start after the confirmation: installed, the reboot prompt');
} catch (e) {
  failed = true;
  console.error('FAIL', e);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
