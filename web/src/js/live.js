// SPDX-License-Identifier: Apache-2.0
// Live updates over Server-Sent Events, for the rollout pages: named events
// carry JSON; the feed reconnects with capped exponential back-off when the
// browser gives up, and resumes from the last event id. No DOM: tests pass a
// fake EventSource and timer functions.
//
// EventSource cannot send an Authorization header, so `url` is a function:
// the page builds the URL (with a short-lived ticket, once the server has
// one) for every (re)connection, and gets the last event id to resume from.

export const LIVE_CONNECTING = 'connecting';
export const LIVE_OPEN = 'live';
export const LIVE_RETRYING = 'retrying';
export const LIVE_STOPPED = 'stopped';

/**
 * createLiveFeed({url, events, onEvent, onStatus, ...}) → {start, stop, status}
 * url(lastEventId) → string; events: event names to listen to ('message' is the unnamed one);
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

  function open() {
    timer = null;
    setStatus(LIVE_CONNECTING);
    const source = new ES(url(lastId));
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
        const wait = Math.min(maxDelay, delay) * (0.5 + random() / 2);
        delay = Math.min(maxDelay, delay * 2);
        setStatus(LIVE_RETRYING, { delay: wait });
        timer = setT(open, wait);
      } else {
        setStatus(LIVE_RETRYING, { delay: 0 });
      }
    };
    for (const name of events) source.addEventListener(name, (ev) => es === source && handle(name, ev));
  }

  return {
    start() {
      if (es || timer) return;
      delay = minDelay;
      open();
    },
    stop() {
      if (timer) clearT(timer);
      timer = null;
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
