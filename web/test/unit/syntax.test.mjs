// SPDX-License-Identifier: Apache-2.0
// Every module under web/src/js parses (node --check), so a typo in a page fails here
// without a browser, and nothing in the pages uses inline handlers or innerHTML,
// which the Content-Security-Policy and dom.js rule out.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const files = readdirSync(src, { recursive: true }).map(String).sort();
const js = files.filter((f) => f.endsWith('.js'));

test('every module parses', () => {
  assert.ok(js.length >= 10);
  for (const f of js) execFileSync(process.execPath, ['--check', path.join(src, f)]);
});

test('no innerHTML, no eval, no inline script or style in the markup', () => {
  for (const f of js) {
    const text = readFileSync(path.join(src, f), 'utf8');
    assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|\beval\(|new Function\(/, f);
  }
  for (const f of files.filter((x) => x.endsWith('.html'))) {
    const text = readFileSync(path.join(src, f), 'utf8');
    assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i, f);
  }
});
