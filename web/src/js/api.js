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
      const where = doc && doc.where;
      if (resp.status === 401 && auth && (!where || where === 'header Authorization')) {
        storage.removeItem(TOKEN_KEY);
        onUnauthorized();
      }
      const msg = doc && typeof doc.error === 'string' ? doc.error : `HTTP ${resp.status}`;
      const err = new ApiError(resp.status, msg, doc && doc.where);
      const ra = resp.headers && resp.headers.get && resp.headers.get('Retry-After');
      if (ra) err.retryAfter = Number(ra);
      throw err;
    }
    return doc;
  }

  return {
    request,
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
    createToken: (name, expiresIn) =>
      request('POST', '/tokens', expiresIn ? { name, expires_in: expiresIn } : { name }),
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
  };
}
