// SPDX-License-Identifier: Apache-2.0
// The reference local update page: polls /api/status (the control API's state
// object, docs/device-ui.md) and sends the user's actions with the session's
// CSRF token. No framework: a gateway's web admin can copy or restyle it.
'use strict';
const $ = (id) => document.getElementById(id);
let csrf = null;
let timer = null;
let uploadMark = null; // the daemon's refusals count when it took our upload

async function api(path, body) {
  const opt = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf || '' },
    body: JSON.stringify(body),
  };
  const r = await fetch('/api/' + path, opt);
  let j = null;
  try { j = await r.json(); } catch (e) { j = { ok: false, error: { message: r.statusText } }; }
  if (r.status === 401 && path !== 'login') showLogin();
  return j;
}

function showLogin() {
  if (timer) clearInterval(timer);
  timer = null;
  $('panel').hidden = true;
  $('login').hidden = false;
}

function showPanel() {
  $('login').hidden = true;
  $('panel').hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, 1000);
}

function pickNotes(notes) {
  if (!notes) return '';
  for (const l of navigator.languages || []) if (notes[l]) return notes[l];
  return notes.en || Object.values(notes)[0] || '';
}

function show(el, on) { $(el).hidden = !on; }

function render(st) {
  const s = st.state, offer = st.offer;
  const busy = s === 'downloading' || s === 'installing';
  $('current').textContent = st.installed || 'unknown';
  const words = {
    idle: 'Up to date.', available: 'An update is available.',
    downloading: 'Downloading…', ready: 'Downloaded and verified: ready to install.',
    installing: 'Installing…', reboot: 'Installed: restart needed.',
    failed: 'The update failed: ' + (st.reason || 'unknown reason'),
  };
  $('summary').textContent = words[s] || s;
  show('offer', !!offer);
  if (offer) {
    $('offer-version').textContent = offer.version;
    $('offer-size').textContent = (offer.size / 1048576).toFixed(1) + ' MiB (' + offer.size + ' bytes)';
    $('offer-notes').textContent = pickNotes(offer.notes);
    show('offer-security', !!offer.security);
    // offer.deadline (docs/device-ui.md): after it the update installs without Start.
    show('offer-deadline-line', !!offer.deadline);
    $('offer-deadline').textContent = offer.deadline ? new Date(offer.deadline).toLocaleString() : '';
    $('offer-deadline').dateTime = offer.deadline || '';
  }
  show('progress-box', busy);
  $('progress').value = st.percent || 0;
  $('percent').textContent = busy ? (st.percent || 0) + ' %' : '';
  const blockers = st.start_blockers || [];
  $('blockers').replaceChildren(...blockers.map((b) => {
    const li = document.createElement('li');
    li.textContent = 'Start is not possible yet: ' + b.message;
    return li;
  }));
  show('download', s === 'available');
  show('cancel', s === 'downloading');
  show('start', s === 'available' || s === 'ready');
  $('start').disabled = blockers.length > 0;
  // The daemon looks at the preconditions again only when asked to start: once the
  // charger is in, the user asks again (with the same confirmation).
  show('retry', (s === 'available' || s === 'ready') && blockers.length > 0);
  show('later', s === 'available' || s === 'ready');
  show('decline', s === 'available' && offer && offer.needs_consent);
  show('reboot', s === 'reboot');
  $('check').disabled = busy;
  // An update.zip from this computer: whenever nothing else runs or waits for a reboot.
  show('upload-box', s === 'idle' || s === 'available' || s === 'ready' || s === 'failed');
  if (uploadMark !== null && st.refusals > uploadMark) {
    $('upload-error').textContent = 'The update file was refused: ' + st.refusal;
    uploadMark = null;
  }
  if (s === 'reboot') uploadMark = null;
}

async function refresh() {
  const j = await api('status');
  if (j && j.ok) render(j.result);
}

async function act(name, body) {
  $('error').textContent = '';
  const j = await api(name, body || {});
  if (!j.ok) $('error').textContent = (j.error && j.error.message) || 'refused';
  refresh();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const j = await api('login', { password: $('password').value });
  $('password').value = '';
  if (j.ok) { csrf = j.csrf; $('login-error').textContent = ''; showPanel(); }
  else $('login-error').textContent = j.error.message;
});
$('check').onclick = () => act('check');
$('download').onclick = () => act('download');
$('cancel').onclick = () => act('cancel');
$('start').onclick = $('retry').onclick = () => {
  if (confirm('Install the update now? The device restarts afterwards.')) act('start');
};
$('later').onclick = () => act('postpone', { seconds: 3600 });
$('decline').onclick = () => act('decline');
$('upload-file').onchange = () => { $('upload').disabled = !$('upload-file').files.length; };
$('upload').onclick = async () => {
  const file = $('upload-file').files[0];
  if (!file || !confirm('Install ' + file.name + ' now? The device restarts afterwards.')) return;
  $('upload-error').textContent = '';
  $('upload-status').textContent = 'Uploading…';
  $('upload').disabled = true;
  const before = await api('status'); // a refusal after this one is our upload's
  let j;
  try {
    // The file is the body as it is (no multipart): the front streams it to disk.
    const r = await fetch('/api/upload', {
      method: 'POST',
      headers: { 'Content-Type': 'application/zip', 'X-CSRF-Token': csrf || '' },
      body: file,
    });
    j = await r.json().catch(() => ({ ok: false, error: { message: r.status + ' ' + r.statusText } }));
  } catch (e) {
    j = { ok: false, error: { message: 'the upload broke off (' + e.message + ')' } };
  }
  $('upload-status').textContent = '';
  $('upload').disabled = false;
  if (!j.ok) { $('upload-error').textContent = 'Upload refused: ' + ((j.error && j.error.message) || 'refused'); return; }
  // Taken: its progress and its end (installed, or refused with the reason) come with the state.
  uploadMark = before && before.ok ? before.result.refusals : 0;
  $('upload-file').value = '';
  refresh();
};
$('logout').onclick = async () => { await api('logout', {}); csrf = null; showLogin(); };

(async () => {
  const j = await api('session');
  if (j && j.ok) { csrf = j.csrf; showPanel(); } else showLogin();
})();
