// SPDX-License-Identifier: Apache-2.0
// Live updates over Server-Sent Events, for the rollout pages: named events
// carry JSON; the feed reconnects with capped exponential back-off when the
// browser gives up, and resumes from the last event id. No DOM: tests pass a
// fake EventSource and timer functions.
//
// EventSource cannot send an Authorization header, so `url` is a function:
// the page builds the URL (with a short-lived ticket from POST /api/v1/tickets)
// for every (re)connection, and gets the last event id to resume from. It may
// return a Promise (the ticket is fetched first); a rejected one is retried
// with the same back-off as a refused connection.

export const LIVE_CONNECTING = 'connecting';
export const LIVE_OPEN = 'live';
export const LIVE_RETRYING = 'retrying';
export const LIVE_STOPPED = 'stopped';

/**
 * createLiveFeed({url, events, onEvent, onStatus, ...}) → {start, stop, status}
 * url(lastEventId) → string or Promise<string>; events: event names to listen to ('message' is the unnamed one);
 * onEvent(name, data, id): data is the parsed JSON (events whose data is not JSON are
 * reported through onStatus(LIVE_OPEN, {badEvent}) and dropped);
 * onStatus(status, info): one of the LIVE_* constants, info.delay when retrying.
 */
export function createLiveFeed({
  url,
  events = ['message'],
  onEvent = () => {},
  onStatus = () => {},
  EventSource: ES = globalThis.EventSource,
  setTimeout: setT = globalThis.setTimeout,
  clearTimeout: clearT = globalThis.clearTimeout,
  minDelay = 1000,
  maxDelay = 30000,
  random = Math.random,
} = {}) {
  let es = null;
  let timer = null;
  let delay = minDelay;
  let lastId = '';
  let status = LIVE_STOPPED;
  let pending = 0; // > 0 while a Promise from url() is outstanding (its generation)
  let generation = 0;

  const setStatus = (s, info = {}) => {
    status = s;
    onStatus(s, info);
  };

  function handle(name, ev) {
    if (ev.lastEventId) lastId = ev.lastEventId;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      onStatus(status, { badEvent: name });
      return;
    }
    onEvent(name, data, ev.lastEventId || '');
  }

  function retryLater() {
    const wait = Math.min(maxDelay, delay) * (0.5 + random() / 2);
    delay = Math.min(maxDelay, delay * 2);
    setStatus(LIVE_RETRYING, { delay: wait });
    timer = setT(open, wait);
  }

  function open() {
    timer = null;
    setStatus(LIVE_CONNECTING);
    const gen = ++generation;
    let u;
    try {
      u = url(lastId);
    } catch {
      retryLater();
      return;
    }
    if (u && typeof u.then === 'function') {
      pending = gen;
      u.then(
        (s) => { if (pending === gen) { pending = 0; connect(s); } },
        () => { if (pending === gen) { pending = 0; retryLater(); } });
      return;
    }
    connect(u);
  }

  function connect(u) {
    const source = new ES(u);
    es = source;
    source.onopen = () => {
      if (es !== source) return;
      delay = minDelay;
      setStatus(LIVE_OPEN);
    };
    source.onerror = () => {
      if (es !== source) return;
      // CONNECTING (0): the browser retries by itself. CLOSED (2): it gave up (HTTP error,
      // wrong content type); we retry later with back-off and a fresh URL.
      if (source.readyState === 2) {
        source.close();
        es = null;
        retryLater();
      } else {
        setStatus(LIVE_RETRYING, { delay: 0 });
      }
    };
    for (const name of events) source.addEventListener(name, (ev) => es === source && handle(name, ev));
  }

  return {
    start() {
      if (es || timer || pending) return;
      delay = minDelay;
      open();
    },
    stop() {
      if (timer) clearT(timer);
      timer = null;
      pending = 0;
      if (es) es.close();
      es = null;
      setStatus(LIVE_STOPPED);
    },
    get status() {
      return status;
    },
    get lastEventId() {
      return lastId;
    },
  };
}
