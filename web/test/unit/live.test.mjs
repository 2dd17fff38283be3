// SPDX-License-Identifier: Apache-2.0
// live.js with a fake EventSource and fake timers: events, back-off, resume, stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIVE_CONNECTING, LIVE_OPEN, LIVE_RETRYING, LIVE_STOPPED, createLiveFeed } from '../../src/js/live.js';

function fakeEnv() {
  const sources = [];
  class FakeEventSource {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.listeners = {};
      this.closed = false;
      sources.push(this);
    }
    addEventListener(name, fn) {
      (this.listeners[name] ||= []).push(fn);
    }
    close() {
      this.closed = true;
      this.readyState = 2;
    }
    // test helpers
    open() {
      this.readyState = 1;
      this.onopen?.();
    }
    emit(name, data, lastEventId = '') {
      for (const fn of this.listeners[name] || []) fn({ data, lastEventId });
    }
    fail(readyState) {
      this.readyState = readyState;
      this.onerror?.();
    }
  }
  const timers = [];
  return {
    sources,
    timers,
    EventSource: FakeEventSource,
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: (id) => { timers[id - 1].cleared = true; },
    random: () => 1, // no jitter: the wait is exactly the delay
  };
}

test('named JSON events reach onEvent; status follows the connection', async () => {
  const env = fakeEnv();
  const events = [];
  const statuses = [];
  const feed = createLiveFeed({
    ...env,
    url: (last) => `/api/v1/rollouts/7/events${last ? `?last=${last}` : ''}`,
    events: ['stage', 'counts'],
    onEvent: (name, data, id) => events.push([name, data, id]),
    onStatus: (s) => statuses.push(s),
  });
  feed.start();
  assert.equal(env.sources.length, 1);
  assert.equal(env.sources[0].url, '/api/v1/rollouts/7/events');
  env.sources[0].open();
  env.sources[0].emit('counts', '{"success":3,"failure":0}', '41');
  env.sources[0].emit('stage', '{"stage":2}', '42');
  env.sources[0].emit('other', '{"ignored":true}', '43');
  assert.deepEqual(events, [['counts', { success: 3, failure: 0 }, '41'], ['stage', { stage: 2 }, '42']]);
  assert.deepEqual(statuses, [LIVE_CONNECTING, LIVE_OPEN]);
  assert.equal(feed.status, LIVE_OPEN);
  assert.equal(feed.lastEventId, '42');
});

test('data that is not JSON is dropped and reported, not thrown', () => {
  const env = fakeEnv();
  const infos = [];
  const feed = createLiveFeed({ ...env, url: () => '/e', onEvent: () => assert.fail('no event'), onStatus: (s, i) => infos.push(i) });
  feed.start();
  env.sources[0].open();
  env.sources[0].emit('message', 'not json');
  assert.deepEqual(infos.at(-1), { badEvent: 'message' });
});

test('the browser retrying by itself (CONNECTING) is shown, nothing reopened', () => {
  const env = fakeEnv();
  const statuses = [];
  const feed = createLiveFeed({ ...env, url: () => '/e', onStatus: (s, i) => statuses.push([s, i.delay]) });
  feed.start();
  env.sources[0].open();
  env.sources[0].fail(0);
  assert.deepEqual(statuses.at(-1), [LIVE_RETRYING, 0]);
  assert.equal(env.sources.length, 1);
  assert.equal(env.timers.length, 0);
  env.sources[0].open();
  assert.equal(feed.status, LIVE_OPEN);
});

test('CLOSED: reconnect with doubling back-off up to the cap, resume from the last id, reset on open', () => {
  const env = fakeEnv();
  const feed = createLiveFeed({ ...env, url: (last) => `/e?last=${last}`, minDelay: 100, maxDelay: 350 });
  feed.start();
  env.sources[0].open();
  env.sources[0].emit('message', '{}', '9');
  const waits = [];
  for (let i = 0; i < 4; i++) {
    env.sources.at(-1).fail(2);
    assert.equal(feed.status, LIVE_RETRYING);
    const t = env.timers.at(-1);
    waits.push(t.ms);
    t.fn();
  }
  assert.deepEqual(waits, [100, 200, 350, 350]);
  assert.equal(env.sources.length, 5);
  assert.ok(env.sources.slice(0, 4).every((s) => s.closed));
  assert.equal(env.sources[4].url, '/e?last=9');
  env.sources[4].open();
  env.sources[4].fail(2);
  assert.equal(env.timers.at(-1).ms, 100);
});

test('stop closes the source, cancels a pending retry, and late callbacks are ignored', () => {
  const env = fakeEnv();
  const events = [];
  const feed = createLiveFeed({ ...env, url: () => '/e', onEvent: (n) => events.push(n) });
  feed.start();
  const first = env.sources[0];
  first.open();
  first.fail(2);
  feed.stop();
  assert.equal(env.timers[0].cleared, true);
  assert.equal(feed.status, LIVE_STOPPED);
  first.emit('message', '{}');
  assert.deepEqual(events, []);

  feed.start();
  const second = env.sources.at(-1);
  second.open();
  feed.stop();
  assert.equal(second.closed, true);
  second.emit('message', '{}');
  assert.deepEqual(events, []);
});

test('start twice opens one connection', () => {
  const env = fakeEnv();
  const feed = createLiveFeed({ ...env, url: () => '/e' });
  feed.start();
  feed.start();
  assert.equal(env.sources.length, 1);
});

test('url may return a Promise (a ticket fetched first); a rejected one is retried with back-off', async () => {
  const env = fakeEnv();
  let n = 0;
  const statuses = [];
  const feed = createLiveFeed({
    ...env,
    url: async () => {
      n += 1;
      if (n === 1) throw new Error('ticket refused');
      return `/events?ticket=t${n}`;
    },
    events: ['stats'],
    onStatus: (s, info) => statuses.push([s, info.delay]),
  });
  feed.start();
  feed.start(); // already starting: no second ticket
  await new Promise((r) => setImmediate(r));
  assert.equal(n, 1);
  assert.equal(env.sources.length, 0);
  assert.deepEqual(statuses.at(-1), [LIVE_RETRYING, 1000]);
  env.timers[0].fn();
  await new Promise((r) => setImmediate(r));
  assert.equal(env.sources.length, 1);
  assert.equal(env.sources[0].url, '/events?ticket=t2');
  env.sources[0].open();
  assert.equal(feed.status, LIVE_OPEN);
  feed.stop();
});

test('stop while the ticket is on its way: no connection afterwards', async () => {
  const env = fakeEnv();
  let release;
  const feed = createLiveFeed({ ...env, url: () => new Promise((r) => { release = r; }), events: ['stats'] });
  feed.start();
  feed.stop();
  release('/events?ticket=late');
  await new Promise((r) => setImmediate(r));
  assert.equal(env.sources.length, 0);
  assert.equal(feed.status, LIVE_STOPPED);
});
