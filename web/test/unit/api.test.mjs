// SPDX-License-Identifier: Apache-2.0
// api.js against a fake fetch and storage: URLs, headers, bodies, errors, token handling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, TOKEN_KEY, createApi } from '../../src/js/api.js';

function memoryStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

/** A fetch that answers from a queue of [status, body, headers] and records each call. */
function fakeFetch(answers) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    const [status, body, headers = {}] = answers.shift();
    return {
      status,
      ok: status >= 200 && status < 300,
      text: async () => (body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
      headers: { get: (k) => headers[k] ?? null },
    };
  };
  fn.calls = calls;
  return fn;
}

test('login stores the token; later calls send it as a bearer token', async () => {
  const storage = memoryStorage();
  const fetch = fakeFetch([[200, { token: 'ots_abc', token_type: 'Bearer' }], [200, { username: 'ann' }]]);
  const api = createApi({ fetch, storage });
  await api.login('ann', 'pw-12345678');
  assert.equal(storage.getItem(TOKEN_KEY), 'ots_abc');
  assert.equal(fetch.calls[0].url, '/api/v1/login');
  assert.equal(fetch.calls[0].init.method, 'POST');
  assert.equal(fetch.calls[0].init.headers.Authorization, undefined);
  assert.equal(fetch.calls[0].init.headers['Content-Type'], 'application/json');
  assert.deepEqual(JSON.parse(fetch.calls[0].init.body), { username: 'ann', password: 'pw-12345678' });
  assert.equal(fetch.calls[0].init.credentials, 'omit');
  const me = await api.me();
  assert.equal(me.username, 'ann');
  assert.equal(fetch.calls[1].init.headers.Authorization, 'Bearer ots_abc');
  assert.equal(fetch.calls[1].init.body, undefined);
});

test('path segments are encoded', async () => {
  const fetch = fakeFetch([[204], [200, { users: [] }]]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await api.removeMember('acme corp', 'a/b?c');
  assert.equal(fetch.calls[0].url, '/api/v1/tenants/acme%20corp/users/a%2Fb%3Fc');
  assert.equal(fetch.calls[0].init.method, 'DELETE');
  assert.deepEqual(await api.members('x'), []);
});

test('an error answer becomes an ApiError with status, message, where', async () => {
  const fetch = fakeFetch([[409, { error: { code: 'conflict', message: "user 'bob' exists", where: 'body.username' } }]]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await assert.rejects(api.createMember('acme', 'bob', 'pw-12345678', 'viewer'), (e) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 409);
    assert.equal(e.message, "user 'bob' exists");
    assert.equal(e.where, 'body.username');
    return true;
  });
});

test('a non-JSON error body still gives a message; 429 carries Retry-After', async () => {
  const fetch = fakeFetch([[502, '<html>bad gateway</html>'], [429, { error: 'too many' }, { 'Retry-After': '42' }]]);
  const api = createApi({ fetch, storage: memoryStorage() });
  await assert.rejects(api.login('a', 'b'), { status: 502, message: 'HTTP 502' });
  await assert.rejects(api.login('a', 'b'), (e) => e.status === 429 && e.retryAfter === 42);
});

test('401 on an authenticated call forgets the token and reports it once', async () => {
  const storage = memoryStorage({ [TOKEN_KEY]: 'ots_old' });
  let told = 0;
  const api = createApi({ fetch: fakeFetch([[401, { error: 'invalid or expired token' }]]), storage, onUnauthorized: () => { told += 1; } });
  await assert.rejects(api.tenants(), { status: 401 });
  assert.equal(storage.getItem(TOKEN_KEY), null);
  assert.equal(told, 1);
  assert.equal(api.hasToken(), false);
});

test('a wrong password (401 on login) is not a lost session', async () => {
  let told = 0;
  const api = createApi({ fetch: fakeFetch([[401, { error: 'wrong' }]]), storage: memoryStorage(), onUnauthorized: () => { told += 1; } });
  await assert.rejects(api.login('a', 'b'), { status: 401 });
  assert.equal(told, 0);
});

test('no token: no request at all', async () => {
  const fetch = fakeFetch([]);
  const api = createApi({ fetch, storage: memoryStorage() });
  await assert.rejects(api.me(), { status: 401 });
  assert.equal(fetch.calls.length, 0);
});

test('logout revokes on the server and forgets the token even when that fails', async () => {
  const storage = memoryStorage({ [TOKEN_KEY]: 'ots_x' });
  const fetch = fakeFetch([[204]]);
  await createApi({ fetch, storage }).logout();
  assert.equal(fetch.calls[0].url, '/api/v1/logout');
  assert.equal(fetch.calls[0].init.headers.Authorization, 'Bearer ots_x');
  assert.equal(storage.getItem(TOKEN_KEY), null);

  const storage2 = memoryStorage({ [TOKEN_KEY]: 'ots_y' });
  const failing = async () => { throw new Error('connection refused'); };
  await assert.rejects(createApi({ fetch: failing, storage: storage2 }).logout(), { status: 0 });
  assert.equal(storage2.getItem(TOKEN_KEY), null);
});

test('audit: tenant scope uses the tenant path, global scope a query; empty filters are left out', async () => {
  const fetch = fakeFetch([[200, { entries: [] }], [200, { entries: [], next_before: 7 }]]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await api.audit({ scope: 'tenant', tenant: 'acme', limit: '25', action: 'login', actor: undefined, since: '' });
  assert.equal(fetch.calls[0].url, '/api/v1/tenants/acme/audit?limit=25&action=login');
  const page = await api.audit({ scope: 'global', tenant: undefined, limit: 50, before: 99, actor: 'a b' });
  assert.equal(fetch.calls[1].url, '/api/v1/audit?limit=50&before=99&actor=a+b');
  assert.equal(page.next_before, 7);
});

test('token creation sends the password, and expires_in only when chosen', async () => {
  const fetch = fakeFetch([[201, { token: 'ota_1' }], [201, { token: 'ota_2' }]]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await api.createToken('ci', 'pw-1');
  await api.createToken('ci', 'pw-1', 3600);
  assert.deepEqual(JSON.parse(fetch.calls[0].init.body), { name: 'ci', password: 'pw-1' });
  assert.deepEqual(JSON.parse(fetch.calls[1].init.body), { name: 'ci', password: 'pw-1', expires_in: 3600 });
});

test('a 401 about something other than the token keeps the session', async () => {
  const storage = memoryStorage({ [TOKEN_KEY]: 'ots_keep' });
  let told = 0;
  const api = createApi({ fetch: fakeFetch([[401, { error: { code: 'unauthorized', message: 'wrong', where: 'body.old_password' } }]]), storage, onUnauthorized: () => { told += 1; } });
  await assert.rejects(api.changePassword('a', 'b'), { status: 401 });
  assert.equal(storage.getItem(TOKEN_KEY), 'ots_keep');
  assert.equal(told, 0);
});

test('errors in the {"error": {"code", "message"}} shape read as well', async () => {
  const fetch = fakeFetch([[409, { error: { code: 'conflict', message: 'release 12 is not approved' } }]]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await assert.rejects(api.rolloutCommand('acme', 3, 'start'), (e) => e.status === 409 && e.message === 'release 12 is not approved' && e.code === 'conflict');
});

test('fleet, release, approval and rollout calls: paths, methods, bodies', async () => {
  const fetch = fakeFetch([
    [200, { devices: [], next_after: null }], [200, { actions: [] }], [200, { releases: [{ id: 1 }] }],
    [200, { approvals: [] }], [200, { state: 'approved' }], [200, { devices: 250, stages: [] }], [201, { id: 3 }],
    [200, { rollouts: [] }], [200, { id: 3, state: 'paused' }], [200, { id: 3, state: 'running', retried: 2 }],
    [200, { rollout: 3 }], [201, { ticket: 'tk/1', expires_in: 600 }],
  ]);
  const api = createApi({ fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
  await api.devices('acme', { model: 'gw-a', attribute: 'hw=rev2', limit: 1000, after: undefined });
  await api.deviceHistory('acme', 'gw 1');
  assert.deepEqual(await api.releases('acme'), [{ id: 1 }]);
  await api.approvals('acme');
  await api.decide('acme', 12, 'approve', 'looks good');
  const body = { name: 'w', release: 12, filter: {}, stages: [{ percent: 100, success_threshold: 100, failure_threshold: 10, min_devices: 0 }] };
  await api.previewRollout('acme', body);
  await api.createRollout('acme', body);
  await api.rollouts('acme');
  await api.rolloutCommand('acme', 3, 'pause');
  assert.equal((await api.rolloutCommand('acme', 3, 'resume', { retryFailed: true })).retried, 2);
  await api.rolloutStats('acme', 3);
  const t = await api.ticket();
  const calls = fetch.calls.map((c) => `${c.init.method} ${c.url}`);
  assert.deepEqual(calls, [
    'GET /api/v1/tenants/acme/devices?model=gw-a&attribute=hw%3Drev2&limit=1000',
    'GET /api/v1/tenants/acme/devices/gw%201/history',
    'GET /api/v1/tenants/acme/releases',
    'GET /api/v1/tenants/acme/approvals?state=pending',
    'POST /api/v1/tenants/acme/releases/12/approve',
    'POST /api/v1/tenants/acme/rollouts/preview',
    'POST /api/v1/tenants/acme/rollouts',
    'GET /api/v1/tenants/acme/rollouts',
    'POST /api/v1/tenants/acme/rollouts/3/pause',
    'POST /api/v1/tenants/acme/rollouts/3/resume',
    'GET /api/v1/tenants/acme/rollouts/3/stats',
    'POST /api/v1/tickets',
  ]);
  assert.deepEqual(JSON.parse(fetch.calls[4].init.body), { comment: 'looks good' });
  assert.deepEqual(JSON.parse(fetch.calls[6].init.body), body);
  assert.equal(fetch.calls[8].init.body, undefined);
  assert.deepEqual(JSON.parse(fetch.calls[9].init.body), { retry_failed: true });
  assert.equal(api.rolloutEventsUrl('acme', 3, t.ticket), '/api/v1/tenants/acme/rollouts/3/events?ticket=tk%2F1');
  assert.throws(() => api.rolloutCommand('acme', 3, 'explode'), /unknown rollout command/);
  assert.throws(() => api.decide('acme', 3, 'bless'), /unknown decision/);
});

/** A fake XMLHttpRequest: records what is sent; the test drives progress and the answer. */
function fakeXhr() {
  const made = [];
  class FakeXHR {
    constructor() {
      this.headers = {};
      this.upload = {};
      made.push(this);
    }
    open(method, url) { this.method = method; this.url = url; }
    setRequestHeader(k, v) { this.headers[k] = v; }
    send(body) { this.body = body; }
    abort() { this.onabort?.(); }
    answer(status, doc) {
      this.status = status;
      this.responseText = doc === undefined ? '' : JSON.stringify(doc);
      this.onload();
    }
  }
  return { FakeXHR, made };
}

test('upload: XMLHttpRequest with the bearer token, progress reported, the release returned', async () => {
  const { FakeXHR, made } = fakeXhr();
  const api = createApi({ fetch: fakeFetch([]), storage: memoryStorage({ [TOKEN_KEY]: 'ots_p' }), XMLHttpRequest: FakeXHR });
  const seen = [];
  const p = api.upload('acme', { size: 1000 }, { onProgress: (l, t) => seen.push([l, t]) });
  const x = made[0];
  assert.equal(x.method, 'POST');
  assert.equal(x.url, '/api/v1/tenants/acme/releases');
  assert.equal(x.headers.Authorization, 'Bearer ots_p');
  assert.equal(x.headers['Content-Type'], 'application/octet-stream');
  assert.deepEqual(x.body, { size: 1000 });
  x.upload.onprogress({ loaded: 400, total: 1000, lengthComputable: true });
  x.upload.onprogress({ loaded: 1000, total: 1000, lengthComputable: true });
  x.answer(201, { id: 7, product: 'gw', version: '1.0' });
  assert.deepEqual(await p, { id: 7, product: 'gw', version: '1.0' });
  assert.deepEqual(seen, [[400, 1000], [1000, 1000]]);
});

test('upload: a refusal carries the server’s message; abort rejects; 401 ends the session', async () => {
  const { FakeXHR, made } = fakeXhr();
  const storage = memoryStorage({ [TOKEN_KEY]: 'ots_p' });
  let told = 0;
  const api = createApi({ fetch: fakeFetch([]), storage, XMLHttpRequest: FakeXHR, onUnauthorized: () => { told += 1; } });
  const p1 = api.upload('acme', {});
  made[0].answer(422, { error: { code: 'unprocessable_entity', message: 'update.zip: manifest.sig: not signed (1 signature required)', where: 'body' } });
  await assert.rejects(p1, { status: 422, message: 'update.zip: manifest.sig: not signed (1 signature required)' });
  const ac = new AbortController();
  const p2 = api.upload('acme', {}, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p2, { status: 0, where: 'aborted' });
  const p3 = api.upload('acme', {});
  made[2].answer(401, { error: 'invalid or expired token' });
  await assert.rejects(p3, { status: 401 });
  assert.equal(told, 1);
  assert.equal(storage.getItem(TOKEN_KEY), null);
});

test('device certificates: mode and CAs of a tenant', async () => {
  const storage = memoryStorage({ [TOKEN_KEY]: 'ots_x' });
  const fetch = fakeFetch([[200, { mode: 'certificate', controller_id_from: 'cn' }], [201, { id: 3 }], [204]]);
  const api = createApi({ fetch, storage });
  await api.setDdiAuth('a b', 'certificate', 'cn');
  assert.equal(fetch.calls[0].url, '/api/v1/tenants/a%20b/ddi-auth');
  assert.equal(fetch.calls[0].init.method, 'PUT');
  assert.deepEqual(JSON.parse(fetch.calls[0].init.body), { mode: 'certificate', controller_id_from: 'cn' });
  await api.addDeviceCa('acme', '-----BEGIN CERTIFICATE-----\n');
  assert.equal(fetch.calls[1].url, '/api/v1/tenants/acme/device-cas');
  assert.deepEqual(JSON.parse(fetch.calls[1].init.body), { pem: '-----BEGIN CERTIFICATE-----\n' });
  await api.deleteDeviceCa('acme', 3);
  assert.equal(fetch.calls[2].url, '/api/v1/tenants/acme/device-cas/3');
  assert.equal(fetch.calls[2].init.method, 'DELETE');
});
