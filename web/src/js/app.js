// SPDX-License-Identifier: Apache-2.0
// The dashboard shell: sign-in, the session (GET /me + GET /tenants), the
// tenant switcher, navigation by URL hash (#/users, #/rollouts/3), and the pages.
import { createApi } from './api.js';
import { h, replace } from './dom.js';
import { capabilities } from './perm.js';
import { renderLogin } from './pages/login.js';
import { renderFleet, renderDevice } from './pages/fleet.js';
import { renderReleases } from './pages/releases.js';
import { renderApprovals } from './pages/approvals.js';
import { renderRollouts } from './pages/rollouts.js';
import { renderRollout } from './pages/rollout.js';
import { renderMembers } from './pages/members.js';
import { renderAccounts } from './pages/accounts.js';
import { renderTenants } from './pages/tenants.js';
import { renderDevCerts } from './pages/devcerts.js';
import { renderTokens } from './pages/tokens.js';
import { renderAudit } from './pages/audit.js';
import { renderAccount } from './pages/account.js';
import { message } from './ui.js';

const TENANT_KEY = 'otter.tenant';
const root = document.getElementById('app');

// Every page: where it sits in the navigation and who sees it (the server decides anyway).
const PAGES = [
  { id: 'fleet', label: 'Fleet', group: 'tenant', show: (c) => c.readTenant, render: renderFleet },
  { id: 'device', label: 'Device', parent: 'fleet', show: (c) => c.readTenant, render: renderDevice },
  { id: 'releases', label: 'Releases', group: 'tenant', show: (c) => c.readTenant, render: renderReleases },
  { id: 'approvals', label: 'Approvals', group: 'tenant', show: (c) => c.readTenant, render: renderApprovals },
  { id: 'rollouts', label: 'Rollouts', group: 'tenant', show: (c) => c.readTenant, render: renderRollouts },
  { id: 'rollout', label: 'Rollout', parent: 'rollouts', show: (c) => c.readTenant, render: renderRollout },
  { id: 'users', label: 'Users', group: 'tenant', show: (c) => c.readTenant, render: renderMembers },
  { id: 'devcerts', label: 'Device certificates', group: 'tenant', show: (c) => c.readTenant, render: renderDevCerts },
  { id: 'audit', label: 'Audit log', group: 'tenant', show: (c) => c.readAudit, render: renderAudit },
  { id: 'tenants', label: 'Tenants', group: 'server', show: () => true, render: renderTenants },
  { id: 'accounts', label: 'All accounts', group: 'server', show: (c) => c.manageAccounts, render: renderAccounts },
  { id: 'tokens', label: 'API tokens', group: 'you', show: () => true, render: renderTokens },
  { id: 'account', label: 'Your account', group: 'you', show: () => true, render: renderAccount },
];
const GROUPS = { tenant: 'Tenant', server: 'Server', you: 'You' };

const state = { me: null, tenants: [], tenant: null, loginNotice: '' };

const api = createApi({
  onUnauthorized: () => {
    if (state.me) {
      leavePage();
      state.me = null;
      showLogin('Your session has ended. Sign in again.');
    }
  },
});

function caps() {
  return capabilities(state.me, state.tenant);
}

function pageFromHash() {
  const m = /^#\/([a-z]+)/.exec(location.hash);
  return m ? m[1] : '';
}

/** The part after the page: #/device/gw-0001 → 'gw-0001' ('' when none or malformed). */
function argFromHash() {
  const m = /^#\/[a-z]+\/(.+)$/.exec(location.hash);
  if (!m) return '';
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return '';
  }
}

// What the current page must stop when the user leaves it (live feeds, timers).
let leaveHooks = [];
function leavePage() {
  const hooks = leaveHooks;
  leaveHooks = [];
  for (const fn of hooks) {
    try {
      fn();
    } catch {
      // a page that cannot clean up must not block the next one
    }
  }
}

function defaultPage() {
  const c = caps();
  if (c.readTenant) return 'fleet';
  return c.manageTenants ? 'tenants' : 'account';
}

/** Loads who is signed in and their tenants; picks the tenant to show. */
async function loadSession() {
  const [me, tenants] = await Promise.all([api.me(), api.tenants()]);
  state.me = me;
  state.tenants = tenants;
  const saved = sessionStorage.getItem(TENANT_KEY);
  const names = tenants.map((t) => t.name);
  state.tenant = names.includes(saved) ? saved : names[0] || null;
}

function setTenant(name) {
  state.tenant = name || null;
  if (name) sessionStorage.setItem(TENANT_KEY, name);
  else sessionStorage.removeItem(TENANT_KEY);
}

function showLogin(notice = '') {
  state.loginNotice = notice;
  document.title = 'Sign in · Otter';
  replace(root, renderLogin({
    api,
    notice,
    onSignedIn: async () => {
      await loadSession();
      if (!pageFromHash()) history.replaceState(null, '', `#/${defaultPage()}`);
      renderShell();
    },
  }));
}

async function signOut() {
  try {
    await api.logout();
  } catch {
    // The token is forgotten here whatever the server says; it expires on its own.
  }
  leavePage();
  state.me = null;
  sessionStorage.removeItem(TENANT_KEY);
  history.replaceState(null, '', location.pathname);
  showLogin('You have signed out.');
}

function tenantSwitcher() {
  if (!state.tenants.length) return h('p', { class: 'no-tenant' }, 'No tenant yet');
  const select = h('select', {
    id: 'tenant-select',
    on: {
      change: () => {
        setTenant(select.value);
        // A device or rollout of the old tenant means nothing in the new one: go to its list.
        const sub = PAGES.find((p) => p.id === pageFromHash() && p.parent);
        if (sub) history.replaceState(null, '', `#/${sub.parent}`);
        renderShell({ keepFocus: 'tenant-select' });
      },
    },
  }, state.tenants.map((t) => h('option', { value: t.name, selected: t.name === state.tenant }, t.name)));
  return h('div', { class: 'tenant-switch' }, h('label', { for: 'tenant-select' }, 'Tenant'), select);
}

function roleBadge() {
  const c = caps();
  if (c.globalAdmin) return h('span', { class: 'badge badge-admin' }, 'global admin');
  return c.role ? h('span', { class: 'badge' }, c.role) : null;
}

function nav(current) {
  const c = caps();
  const groups = Object.entries(GROUPS).map(([g, label]) => {
    const items = PAGES.filter((p) => p.group === g && !p.parent && p.show(c));
    if (!items.length) return null;
    return h('li', {},
      h('span', { class: 'nav-group' }, g === 'tenant' ? `${label}: ${state.tenant}` : label),
      h('ul', {}, items.map((p) => h('li', {},
        h('a', { href: `#/${p.id}`, 'aria-current': p.id === current ? 'page' : null }, p.label)))));
  });
  return h('nav', { 'aria-label': 'Main' }, h('ul', {}, groups));
}

let renderSeq = 0;

/**
 * Draws the header, navigation and the page named by the URL hash.
 * keepFocus: the id of a header control that should keep the focus.
 */
async function renderShell({ keepFocus } = {}) {
  leavePage();
  if (!state.me) return showLogin(state.loginNotice);
  const c = caps();
  let id = pageFromHash();
  let page = PAGES.find((p) => p.id === id && p.show(c));
  if (!page) {
    id = defaultPage();
    page = PAGES.find((p) => p.id === id);
    history.replaceState(null, '', `#/${id}`);
  }
  const main = h('main', { id: 'main', tabindex: '-1' });
  replace(root,
    h('a', { class: 'skip', href: '#main', on: { click: (ev) => { ev.preventDefault(); main.focus(); } } }, 'Skip to content'),
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: `#/${defaultPage()}` }, h('img', { src: '/img/otter.svg', alt: '', width: 28, height: 28 }), 'Otter'),
      tenantSwitcher(),
      h('div', { class: 'who' },
        h('span', { class: 'who-name' }, state.me.username), roleBadge(),
        h('button', { type: 'button', class: 'secondary', on: { click: signOut } }, 'Sign out'))),
    h('div', { class: 'layout' }, nav(page.parent || id), main));
  document.title = `${page.label} · Otter`;
  // Redrawing the header dropped the focus to <body>: give it back to the control
  // at once, not only when the page has loaded (a slow page left it nowhere).
  const keep = keepFocus && document.getElementById(keepFocus);
  if (keep) keep.focus();
  const seq = ++renderSeq;
  const ctx = {
    api,
    state,
    caps: c,
    arg: argFromHash(),
    /** fn runs when the user leaves this page (or the tenant, or signs out). */
    onLeave: (fn) => { if (seq === renderSeq) leaveHooks.push(fn); else fn(); },
    /** Is this page still the one shown? (async work checks before it touches the DOM) */
    current: () => seq === renderSeq && Boolean(state.me),
    rerender: () => renderShell(),
    openTenant: (name) => {
      setTenant(name);
      history.replaceState(null, '', '#/fleet');
      return renderShell();
    },
    reloadSession: async () => {
      await loadSession();
      return renderShell();
    },
    signOut,
    showLogin,
  };
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  let node;
  try {
    node = await page.render(ctx);
  } catch (e) {
    node = h('section', {}, h('h1', {}, page.label), message('error', e.message || String(e)));
  }
  if (seq !== renderSeq || !state.me) return; // a newer navigation won
  replace(main, node);
  // Keyboard and screen-reader users land on the new page, unless they were in the header.
  if (!keep) main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => {
  if (state.me && location.hash.startsWith('#/')) renderShell();
});

async function boot() {
  if (!api.hasToken()) return showLogin();
  try {
    await loadSession();
    renderShell();
  } catch {
    showLogin('Your session has ended. Sign in again.');
  }
}

boot();
