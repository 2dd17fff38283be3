// SPDX-License-Identifier: Apache-2.0
// The management API client (/api/v1). No DOM: it runs under node --test
// with a fake fetch and storage. The bearer token lives in sessionStorage
// (gone when the tab closes; never in a cookie, so no CSRF surface).

export const TOKEN_KEY = 'otter.token';

/** An API error: HTTP status, the server's message and its `where`. */
export class ApiError extends Error {
  constructor(status, message, where) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.where = where || '';
  }
}

const seg = (s) => encodeURIComponent(String(s));

/** Where the server says the error is: {"error": {"where"}} (or a top-level "where"). */
export function errorWhere(doc) {
  const e = doc && doc.error;
  if (e && typeof e === 'object' && typeof e.where === 'string') return e.where;
  return doc && typeof doc.where === 'string' ? doc.where : '';
}

/** The server's words from an error body: {"error": {"code", "message", "where"}} or {"error": "…"}. */
export function errorMessage(doc, status) {
  const e = doc && doc.error;
  if (typeof e === 'string' && e) return e;
  if (e && typeof e === 'object' && typeof e.message === 'string' && e.message) return e.message;
  return `HTTP ${status}`;
}

/** Rollout commands the server takes as POST …/rollouts/{id}/{command}. */
export const ROLLOUT_COMMANDS = ['start', 'pause', 'resume', 'advance', 'cancel'];

/**
 * createApi({fetch, storage, base, onUnauthorized}) → client.
 * fetch: a fetch function; storage: a Storage-like {getItem, setItem, removeItem};
 * onUnauthorized(): called when an authenticated call gets 401 (token expired or revoked).
 */
export function createApi({
  fetch: fetchImpl = globalThis.fetch?.bind(globalThis),
  storage = globalThis.sessionStorage,
  base = '/api/v1',
  onUnauthorized = () => {},
  XMLHttpRequest: XHR = globalThis.XMLHttpRequest,
} = {}) {
  const token = () => storage.getItem(TOKEN_KEY);

  async function request(method, path, body, { auth = true, query } = {}) {
    const headers = { Accept: 'application/json' };
    if (auth) {
      const t = token();
      if (!t) {
        onUnauthorized();
        throw new ApiError(401, 'not signed in', 'header Authorization');
      }
      headers.Authorization = `Bearer ${t}`;
    }
    let url = base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      }
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const init = { method, headers, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetchImpl(url, init);
    } catch (e) {
      throw new ApiError(0, `cannot reach the server (${e.message})`, 'network');
    }
    let doc = null;
    if (resp.status !== 204) {
      const text = await resp.text();
      if (text) {
        try {
          doc = JSON.parse(text);
        } catch {
          doc = null;
        }
      }
    }
    if (!resp.ok) {
      // Only a refused token ends the session (a wrong password in a body is not that).
      const where = errorWhere(doc);
      if (resp.status === 401 && auth && (!where || where === 'header Authorization')) {
        storage.removeItem(TOKEN_KEY);
        onUnauthorized();
      }
      const msg = errorMessage(doc, resp.status);
      const err = new ApiError(resp.status, msg, where);
      if (doc && doc.error && typeof doc.error === 'object' && doc.error.code) err.code = String(doc.error.code);
      const ra = resp.headers && resp.headers.get && resp.headers.get('Retry-After');
      if (ra) err.retryAfter = Number(ra);
      throw err;
    }
    return doc;
  }

  const T = (tenant) => `/tenants/${seg(tenant)}`;

  /**
   * Uploads a release file with XMLHttpRequest, which (unlike fetch) reports upload
   * progress. onProgress(loaded, total); signal: an AbortSignal. → the release document.
   */
  function upload(tenant, file, { onProgress = () => {}, signal } = {}) {
    return new Promise((resolve, reject) => {
      const t = token();
      if (!t) {
        onUnauthorized();
        reject(new ApiError(401, 'not signed in', 'header Authorization'));
        return;
      }
      const xhr = new XHR();
      xhr.open('POST', `${base}${T(tenant)}/releases`);
      xhr.setRequestHeader('Authorization', `Bearer ${t}`);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.withCredentials = false;
      xhr.upload.onprogress = (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : (file.size || 0));
      xhr.onerror = () => reject(new ApiError(0, 'cannot reach the server (upload interrupted)', 'network'));
      xhr.onabort = () => reject(new ApiError(0, 'upload canceled', 'aborted'));
      xhr.onload = () => {
        let doc = null;
        try {
          doc = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          doc = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(doc);
          return;
        }
        const where = errorWhere(doc);
        if (xhr.status === 401 && (!where || where === 'header Authorization')) {
          storage.removeItem(TOKEN_KEY);
          onUnauthorized();
        }
        reject(new ApiError(xhr.status, errorMessage(doc, xhr.status), where));
      };
      if (signal) {
        if (signal.aborted) {
          reject(new ApiError(0, 'upload canceled', 'aborted'));
          return;
        }
        signal.addEventListener('abort', () => xhr.abort(), { once: true });
      }
      xhr.send(file);
    });
  }

  return {
    request,
    upload,
    hasToken: () => Boolean(token()),

    async login(username, password) {
      const doc = await request('POST', '/login', { username, password }, { auth: false });
      storage.setItem(TOKEN_KEY, doc.token);
      return doc;
    },
    /** Revokes the token on the server, then forgets it (even when the server call fails). */
    async logout() {
      try {
        if (token()) await request('POST', '/logout');
      } finally {
        storage.removeItem(TOKEN_KEY);
      }
    },
    me: () => request('GET', '/me'),
    changePassword: (oldPassword, newPassword) =>
      request('PUT', '/me/password', { old_password: oldPassword, new_password: newPassword }),

    tokens: () => request('GET', '/tokens').then((d) => d.tokens),
    /** A new API token needs the caller's password again (a session alone cannot mint one). */
    createToken: (name, password, expiresIn) =>
      request('POST', '/tokens', expiresIn ? { name, password, expires_in: expiresIn } : { name, password }),
    revokeToken: (id) => request('DELETE', `/tokens/${seg(id)}`),

    tenants: () => request('GET', '/tenants').then((d) => d.tenants),
    createTenant: (name) => request('POST', '/tenants', { name }),
    deleteTenant: (name) => request('DELETE', `/tenants/${seg(name)}`),

    members: (tenant) => request('GET', `/tenants/${seg(tenant)}/users`).then((d) => d.users),
    createMember: (tenant, username, password, role) =>
      request('POST', `/tenants/${seg(tenant)}/users`, { username, password, role }),
    setRole: (tenant, user, role) =>
      request('PUT', `/tenants/${seg(tenant)}/users/${seg(user)}`, { role }),
    removeMember: (tenant, user) => request('DELETE', `/tenants/${seg(tenant)}/users/${seg(user)}`),
    setMemberPassword: (tenant, user, password) =>
      request('PUT', `/tenants/${seg(tenant)}/users/${seg(user)}/password`, { password }),

    users: () => request('GET', '/users').then((d) => d.users),
    createUser: (username, password, isAdmin) =>
      request('POST', '/users', { username, password, is_admin: Boolean(isAdmin) }),
    deleteUser: (user) => request('DELETE', `/users/${seg(user)}`),
    setUserPassword: (user, password) => request('PUT', `/users/${seg(user)}/password`, { password }),

    /**
     * One page of the audit log. scope 'tenant' reads /tenants/{tenant}/audit (tenant admins),
     * 'global' reads /audit (global admins; tenant narrows it). Filters: limit, before, action,
     * actor, since, until (unix seconds). → {entries, next_before}
     */
    audit: ({ scope, tenant, ...filters }) =>
      scope === 'tenant'
        ? request('GET', `/tenants/${seg(tenant)}/audit`, undefined, { query: filters })
        : request('GET', '/audit', undefined, { query: { tenant, ...filters } }),

    // ---- fleet ----
    /** One page of devices. filters: model, version, group, attribute ("k=v"), limit, after. */
    devices: (tenant, filters = {}) => request('GET', `${T(tenant)}/devices`, undefined, { query: filters }),
    device: (tenant, id) => request('GET', `${T(tenant)}/devices/${seg(id)}`),
    deviceHistory: (tenant, id) => request('GET', `${T(tenant)}/devices/${seg(id)}/history`),
    groups: (tenant) => request('GET', `${T(tenant)}/groups`).then((d) => d.groups),
    /** A group's maintenance schedule (issue #15): {time_zone, windows} or null to remove it. */
    setGroupSchedule: (tenant, group, schedule) =>
      request('PUT', `${T(tenant)}/groups/${seg(group)}/maintenance-schedule`, { maintenance_schedule: schedule }),
    // ---- device certificates (issue #13) ----
    ddiAuth: (tenant) => request('GET', `${T(tenant)}/ddi-auth`),
    setDdiAuth: (tenant, mode, controllerIdFrom) =>
      request('PUT', `${T(tenant)}/ddi-auth`, { mode, controller_id_from: controllerIdFrom }),
    deviceCas: (tenant) => request('GET', `${T(tenant)}/device-cas`),
    addDeviceCa: (tenant, pem) => request('POST', `${T(tenant)}/device-cas`, { pem }),
    deleteDeviceCa: (tenant, id) => request('DELETE', `${T(tenant)}/device-cas/${seg(id)}`),

    // ---- releases and approvals ----
    releases: (tenant) => request('GET', `${T(tenant)}/releases`).then((d) => d.releases),
    release: (tenant, id) => request('GET', `${T(tenant)}/releases/${seg(id)}`),
    deleteRelease: (tenant, id) => request('DELETE', `${T(tenant)}/releases/${seg(id)}`),
    approvals: (tenant, state = 'pending') =>
      request('GET', `${T(tenant)}/approvals`, undefined, { query: { state } }).then((d) => d.approvals),
    /** verb: approve | reject | revoke; → the approval document. */
    decide: (tenant, id, verb, comment = '') => {
      if (!['approve', 'reject', 'revoke'].includes(verb)) throw new Error(`unknown decision ${verb}`);
      return request('POST', `${T(tenant)}/releases/${seg(id)}/${verb}`, { comment });
    },

    // ---- rollouts ----
    rollouts: (tenant) => request('GET', `${T(tenant)}/rollouts`).then((d) => d.rollouts),
    rollout: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}`),
    previewRollout: (tenant, body) => request('POST', `${T(tenant)}/rollouts/preview`, body),
    createRollout: (tenant, body) => request('POST', `${T(tenant)}/rollouts`, body),
    /** options: only for resume, {retryFailed: true} gives the failed devices a new action. */
    rolloutCommand: (tenant, id, command, { retryFailed = false } = {}) => {
      if (!ROLLOUT_COMMANDS.includes(command)) throw new Error(`unknown rollout command ${command}`);
      const body = command === 'resume' && retryFailed ? { retry_failed: true } : undefined;
      return request('POST', `${T(tenant)}/rollouts/${seg(id)}/${command}`, body);
    },
    rolloutStats: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}/stats`),
    /** The rollout's counts since its start, as the server sampled them (issue #15). */
    rolloutHistory: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}/history`),
    // Bandwidth caps (issue #15): {bytes_per_second (0: none), rate_bytes_per_second}.
    rolloutBandwidth: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}/bandwidth`),
    setRolloutBandwidth: (tenant, id, bps) =>
      request('PUT', `${T(tenant)}/rollouts/${seg(id)}/bandwidth`, { bytes_per_second: bps }),
    // Campaign controls after creation (issue #15): {maintenance_schedule, deferrals, urgent}, every key.
    rolloutCampaign: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}/campaign`),
    setRolloutCampaign: (tenant, id, body) => request('PUT', `${T(tenant)}/rollouts/${seg(id)}/campaign`, body),
    // Push state: the server's publisher, and the wake-ups a rollout's stages got.
    pushState: (tenant) => request('GET', `${T(tenant)}/push`),
    rolloutPush: (tenant, id) => request('GET', `${T(tenant)}/rollouts/${seg(id)}/push`),
    tenantBandwidth: (tenant) => request('GET', `${T(tenant)}/bandwidth`),
    setTenantBandwidth: (tenant, bps) => request('PUT', `${T(tenant)}/bandwidth`, { bytes_per_second: bps }),
    /** A short-lived ticket for an EventSource URL (which cannot carry a bearer token). */
    ticket: () => request('POST', '/tickets'),
    rolloutEventsUrl: (tenant, id, ticket) =>
      `${base}${T(tenant)}/rollouts/${seg(id)}/events?ticket=${encodeURIComponent(ticket)}`,
  };
}
