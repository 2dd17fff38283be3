// SPDX-License-Identifier: Apache-2.0
// Device certificates of the current tenant (issue #13, docs/ddi.md "Authentication"):
// how devices authenticate to DDI, and the device CAs whose certificates count.
// Tenant admins change the mode and upload or delete CAs; everyone else reads.
import { h } from '../dom.js';
import { busy, confirmDanger, empty, field, showError, showOk, table, when } from '../ui.js';

const MODES = [
  { value: 'token', label: 'Token (TargetToken or GatewayToken)' },
  { value: 'certificate', label: 'Certificate (of a device CA below)' },
  { value: 'certificate+token', label: 'Certificate and token' },
];
const ID_FROM = [
  { value: 'cn', label: 'Subject common name (CN)' },
  { value: 'serial_number', label: 'Subject serial number' },
  { value: 'san_dns', label: 'First DNS subject alternative name' },
];

export async function renderDevCerts({ api, state, caps }) {
  const tenant = state.tenant;
  const admin = caps.manageMembers;
  const box = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const listArea = h('div', {});

  const mode = field('Devices authenticate with', { kind: 'select', options: MODES, disabled: !admin });
  const idFrom = field('Controller id from', { kind: 'select', options: ID_FROM, disabled: !admin });
  const modeForm = h('form', { class: 'card inline-form', 'aria-labelledby': 'ddi-auth-title' },
    h('h2', { id: 'ddi-auth-title' }, 'DDI authentication'), mode.row, idFrom.row,
    admin ? h('button', { type: 'submit', class: 'primary' }, 'Save') : null);
  modeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const a = await busy(modeForm, () => api.setDdiAuth(tenant, mode.input.value, idFrom.input.value));
      showOk(box, `Devices of ${tenant} now authenticate with: ${a.mode}.`);
    } catch (e) { showError(box, e); }
  });

  const pem = field('CA certificate (PEM)', { kind: 'input', type: 'file', accept: '.pem,.crt,.cer', required: true });
  const caForm = h('form', { class: 'card inline-form', 'aria-labelledby': 'add-ca-title' },
    h('h2', { id: 'add-ca-title' }, 'Add a device CA'), pem.row,
    h('button', { type: 'submit', class: 'primary' }, 'Upload CA'));
  caForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const file = pem.input.files[0];
      const ca = await busy(caForm, async () => api.addDeviceCa(tenant, await file.text()));
      caForm.reset();
      showOk(box, `Added ${ca.subject}.`);
      await refresh();
    } catch (e) { showError(box, e); }
  });

  async function refresh() {
    const [auth, cas] = await Promise.all([api.ddiAuth(tenant), api.deviceCas(tenant)]);
    mode.input.value = auth.mode;
    idFrom.input.value = auth.controller_id_from;
    const cols = [
      { label: 'Subject', cell: (c) => c.subject },
      { label: 'Valid until', cell: (c) => when(c.not_after) },
      { label: 'CRL', cell: (c) => (c.crl ? `updated ${when(c.crl.this_update)}` : 'none') },
      { label: 'SHA-256', cell: (c) => h('span', { class: 'mono' }, c.sha256.slice(0, 16)) },
    ];
    if (admin) {
      cols.push({ label: 'Actions', cell: (c) => h('button', {
        type: 'button', class: 'danger', 'aria-label': `Delete ${c.subject}`,
        on: {
          click: () => confirmDanger(`Delete the device CA ${c.subject}?`, 'Its devices are refused from then on.', 'Delete CA', async () => {
            await api.deleteDeviceCa(tenant, c.id);
            showOk(box, `Deleted ${c.subject}.`);
            await refresh();
          }),
        },
      }, 'Delete') });
    }
    listArea.replaceChildren(cas.length
      ? table(`Device CAs of ${tenant}`, cols, cas)
      : empty('No device CAs.', admin ? 'Upload the CA that issues your devices’ certificates.' : 'A tenant admin uploads them.'));
  }

  await refresh();
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, 'Device certificates', h('span', { class: 'sub' }, tenant)),
    h('p', { class: 'lead' }, 'Devices can prove who they are with a client certificate from your device CA, instead of or together with their token. CRLs are uploaded through the API (PUT …/device-cas/{id}/crl).'),
    modeForm, admin ? caForm : null, box, listArea);
}
