// SPDX-License-Identifier: Apache-2.0
// Bandwidth caps on a rollout's page (issue #15, docs/rollouts.md "Bandwidth
// caps"): the rate this server sends the rollout's and the tenant's artifact
// bytes at, against their caps, refreshed every few seconds; operators change
// the rollout's cap, tenant admins the tenant's. Caps are entered in KiB/s and
// sent in bytes/s; 0 or empty removes a cap.
import { h } from './dom.js';
import { formatBytes } from './model.js';
import { field, showError, showOk } from './ui.js';

const REFRESH_MS = 5e3;

/** "1.5 MiB/s of 2.0 MiB/s" (or "… no cap"); exact figures go to data-* for tests and tooltips. */
function rateStat(label, doc, kind) {
  const cap = doc?.bytes_per_second || 0;
  const rate = doc?.rate_bytes_per_second || 0;
  return h('div', { class: 'stat', 'data-bandwidth': kind, 'data-cap': String(cap), 'data-rate': String(rate) },
    h('span', { class: 'stat-label' }, label),
    h('span', { class: 'stat-value', title: `${rate} bytes/s` }, `${formatBytes(rate)}/s`),
    h('span', { class: 'stat-note' }, cap ? `cap ${formatBytes(cap)}/s` : 'no cap'));
}

/** A cap's form: KiB/s field and a Set button; onSet(bytesPerSecond) saves it. */
function capForm(label, doc, onSet, box) {
  const f = field(label, { type: 'number', min: 0, step: 1, inputmode: 'numeric', placeholder: 'no cap',
    hint: 'KiB/s over all its downloads at once; 0 or empty: no cap' });
  const cap = doc?.bytes_per_second || 0;
  f.input.value = cap ? String(Math.round(cap / 1024)) : '';
  const form = h('form', { class: 'inline-form' }, f.row, h('button', { type: 'submit', class: 'secondary' }, 'Set'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const kib = f.input.value.trim() === '' ? 0 : Number(f.input.value);
    if (!Number.isInteger(kib) || kib < 0) {
      showError(box, new Error(`${label}: a whole number of KiB/s, 0 for no cap`));
      return;
    }
    try {
      await onSet(kib * 1024);
      showOk(box, kib ? `${label} set to ${kib} KiB/s.` : `${label} removed.`);
    } catch (e) {
      showError(box, e);
    }
  });
  return form;
}

/**
 * The card for rollout (its document, with bandwidth and tenant_bandwidth);
 * returns {el, stop}. caps: the user's capabilities (perm.js).
 */
export function bandwidthCard({ api, tenant, rollout, caps, current }) {
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const stats = h('div', { class: 'summary' });
  const forms = h('div', {});
  let docs = { rollout: rollout.bandwidth, tenant: rollout.tenant_bandwidth };

  function draw(withForms) {
    stats.replaceChildren(rateStat('This rollout', docs.rollout, 'rollout'), rateStat('The whole tenant', docs.tenant, 'tenant'));
    if (!withForms) return;
    forms.replaceChildren(
      caps.operateRollouts ? capForm('Rollout cap', docs.rollout, async (bps) => {
        docs.rollout = await api.setRolloutBandwidth(tenant, rollout.id, bps);
        draw(false);
      }, box) : null,
      caps.manageMembers ? capForm('Tenant cap', docs.tenant, async (bps) => {
        docs.tenant = await api.setTenantBandwidth(tenant, bps);
        draw(false);
      }, box) : null);
  }

  async function refresh() {
    try {
      const [r, t] = await Promise.all([api.rolloutBandwidth(tenant, rollout.id), api.tenantBandwidth(tenant)]);
      if (!current()) return;
      docs = { rollout: r, tenant: t };
      draw(false);
    } catch {
      /* the next refresh tries again; the figures stay as they were */
    }
  }

  draw(true);
  const timer = setInterval(refresh, REFRESH_MS);
  const el = h('div', { class: 'card bandwidth-card' },
    h('h2', {}, 'Bandwidth'),
    h('p', { class: 'hint' }, 'Artifact bytes this server sends per second, against the server-side caps (besides each device’s own).'),
    stats, forms, box);
  return { el, stop: () => clearInterval(timer) };
}
