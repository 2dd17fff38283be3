// SPDX-License-Identifier: Apache-2.0
// Small pieces every page uses: labelled fields, tables, status messages,
// a confirmation dialog and the empty state.
import { h, nextId } from './dom.js';

/** A labelled form control; returns {row, input}. kind: 'input' | 'select'. */
export function field(label, { kind = 'input', options = [], hint, ...attrs } = {}) {
  const id = nextId();
  const hintId = hint ? `${id}-hint` : null;
  const input =
    kind === 'select'
      ? h('select', { id, ...attrs, 'aria-describedby': hintId },
          options.map((o) => (typeof o === 'string' ? h('option', { value: o }, o) : h('option', { value: o.value }, o.label))))
      : h('input', { id, ...attrs, 'aria-describedby': hintId });
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
  return { row, input };
}

/** A status line; role=alert for errors so screen readers announce them. */
export function message(kind, text) {
  return h('p', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Shows err (ApiError or Error) in the box. */
export function showError(box, err) {
  box.replaceChildren(message('error', err.message || String(err)));
}

export function showOk(box, text) {
  box.replaceChildren(message('ok', text));
}

/** A table with a caption; columns: [{label, cell(row) → node|string}]. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c, i) =>
        i === 0 ? h('th', { scope: 'row' }, c.cell(r)) : h('td', { 'data-label': c.label }, c.cell(r))))))));
}

/** An empty state that says what will appear here and how it gets there. */
export function empty(title, text, extra) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), h('p', {}, text), extra || null);
}

/** "2026-11-25T10:00:00Z" → readable local time; the ISO text stays in a tooltip. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

/**
 * A modal <dialog> (Escape closes it, focus stays inside). body: nodes; confirmLabel: the
 * button; onConfirm(): may throw to keep the dialog open with the error shown.
 */
export function openDialog({ title, body, confirmLabel, danger = false, onConfirm }) {
  const titleId = nextId('dlg');
  const box = h('div', { class: 'dialog-msg' });
  const form = h('form', { method: 'dialog' },
    h('h2', { id: titleId }, title),
    body,
    box,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', on: { click: () => dlg.close() } }, 'Cancel'),
      h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirmLabel)));
  const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await onConfirm();
      dlg.close();
    } catch (e) {
      showError(box, e);
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

/** A confirmation for something that cannot be undone. */
export function confirmDanger(title, text, confirmLabel, action) {
  return openDialog({ title, body: h('p', {}, text), confirmLabel, danger: true, onConfirm: action });
}

/** Disables a form's controls while fn runs. */
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll('button, input, select')];
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

/** User and tenant names as the server takes them (1..64 of A-Z a-z 0-9 . _ @ -); `v`-flag safe. */
export const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._@\\-]*';
/** The server's password rule (otter_auth_password_policy, 8..1024): forms check its minimum first. */
export const PASSWORD_MIN = 8;
