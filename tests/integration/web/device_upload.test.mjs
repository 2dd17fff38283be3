// SPDX-License-Identifier: Apache-2.0
// Browser test of the local update page's download progress and "Upload update.zip"
// (device_upload.sh sets up the two devices): Debian's chromium driven by playwright-core.
// DL_URL: the front of device 1 (an offer of 2.0, download cut once by a proxy);
// UP_URL: the front of device 2 ([ui] max_upload_mb = 1); DEV2 its directory; KEYS the
// packages (3.0.zip good, 3.0-stranger.zip signed by an untrusted key, too-big.zip 2 MB).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OTTER_SOURCE_DIR, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const OUT = process.env.OUT_DIR;
const KEYS = process.env.KEYS;
const DEV2 = process.env.DEV2;

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

async function login(base) {
  await page.goto(base + '/');
  await page.locator('#login').waitFor();
  await page.fill('#password', process.env.PAGE_PW);
  await page.click('#login-button');
  await page.locator('#current', { hasText: '1.0' }).waitFor();
}

// What a refused upload must not touch: the inactive slot, the agent's state, the boot variables.
function fingerprint() {
  const h = createHash('sha256');
  for (const f of ['b', 'state/state.json', 'bootenv', 'state/counter'])
    h.update(f + ':' + (existsSync(path.join(DEV2, f)) ? readFileSync(path.join(DEV2, f)).toString('base64') : '-'));
  return h.digest('hex');
}
const uploadsLeft = () => readdirSync(path.join(DEV2, 'upload')).length;

async function upload(file) {
  await page.setInputFiles('#upload-file', path.join(KEYS, file));
  page.once('dialog', (d) => { assert.match(d.message(), /Install .* now\?/); d.accept(); });
  await page.click('#upload');
}

try {
  // Device 1: Download, the bar moves, a cut connection resumes, ready to install.
  await login(process.env.DL_URL);
  await page.click('#check');
  await page.locator('#offer-version', { hasText: '2.0' }).waitFor();
  await page.click('#download');
  await page.locator('#progress-box').waitFor({ state: 'visible' });
  const seen = [];
  for (;;) {
    const st = await page.evaluate(() => ({
      summary: document.getElementById('summary').textContent,
      value: document.getElementById('progress').value,
      shown: !document.getElementById('progress-box').hidden,
    }));
    if (st.shown) seen.push(st.value);
    if (process.env.DEBUG_BAR) console.log(JSON.stringify(st));
    if (/ready to install/.test(st.summary)) break;
    assert.doesNotMatch(st.summary, /failed/);
    await page.waitForTimeout(200); // a sample of the bar, not a synchronisation
  }
  const moving = [...new Set(seen.filter((v) => v > 0 && v < 100))];
  assert.ok(moving.length >= 3, 'the bar showed ' + JSON.stringify(moving));
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i] >= seen[i - 1], 'the bar went back (' + seen[i - 1] + ' then ' + seen[i] + '): the download restarted');
  assert.equal(await page.isDisabled('#start'), false);
  await shot('1-downloaded');
  console.log('ok   the progress bar moved (' + moving.join(', ') + ' %), never back, through the cut: ready to install');

  // Device 2: uploads.
  await login(process.env.UP_URL);
  await page.locator('#upload-box').waitFor({ state: 'visible' });
  assert.equal(await page.isDisabled('#upload'), true);

  await upload('too-big.zip');
  await page.locator('#upload-error', { hasText: 'too large' }).waitFor();
  assert.match(await page.textContent('#upload-error'), /at most 1 MiB/);
  assert.equal(uploadsLeft(), 0);
  await shot('2-too-big');
  console.log('ok   an upload over [ui] max_upload_mb is refused with the limit named; nothing kept');

  const print = fingerprint();
  await upload('3.0-stranger.zip');
  await page.locator('#upload-error', { hasText: 'The update file was refused:' }).waitFor();
  const why = await page.textContent('#upload-error');
  assert.match(why, /sign|key|trust/i);
  assert.equal(fingerprint(), print, 'a refused upload changed the slot or the state');
  assert.equal(uploadsLeft(), 0);
  await shot('3-refused');
  console.log('ok   a package signed by an untrusted key: refused with the reason (' + why.trim() + '), slot and state untouched, nothing kept');

  await upload('3.0.zip');
  await page.locator('#reboot').waitFor({ state: 'visible', timeout: 120000 });
  assert.match(await page.textContent('#summary'), /Installed: restart needed/);
  assert.equal(await page.locator('#upload-box').isVisible(), false);
  assert.equal(uploadsLeft(), 0);
  await shot('4-installed');
  console.log('ok   a good package uploaded: installed, the reboot prompt, nothing kept');
} catch (e) {
  failed = true;
  console.error('FAIL', e);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
