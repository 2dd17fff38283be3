// SPDX-License-Identifier: Apache-2.0
// perm.js: what each kind of user is shown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROLES, capabilities, roleIn } from '../../src/js/perm.js';

const alice = { username: 'alice', is_admin: false, memberships: [{ tenant: 'acme', role: 'admin' }, { tenant: 'globex', role: 'operator' }] };
const root = { username: 'admin', is_admin: true, memberships: [] };

test('roles are the server’s five', () => {
  assert.deepEqual([...ROLES].sort(), ['admin', 'approver', 'operator', 'publisher', 'viewer']);
});

test('roleIn reads the membership', () => {
  assert.equal(roleIn(alice, 'acme'), 'admin');
  assert.equal(roleIn(alice, 'globex'), 'operator');
  assert.equal(roleIn(alice, 'initech'), null);
  assert.equal(roleIn(null, 'acme'), null);
});

test('tenant admin: members and audit in that tenant only; nothing server-wide', () => {
  const c = capabilities(alice, 'acme');
  assert.deepEqual(c, {
    globalAdmin: false, role: 'admin', readTenant: true, manageMembers: true, readAudit: true,
    uploadRelease: true, approveRelease: true, operateRollouts: true, manageDevices: true,
    manageTenants: false, manageAccounts: false,
  });
  const g = capabilities(alice, 'globex');
  assert.equal(g.manageMembers, false);
  assert.equal(g.readAudit, false);
  assert.equal(g.readTenant, true);
  assert.equal(capabilities(alice, 'initech').readTenant, false);
});

test('global admin: everything, with or without a membership', () => {
  const c = capabilities(root, 'acme');
  assert.equal(c.role, null);
  assert.ok(c.readTenant && c.manageMembers && c.readAudit && c.manageTenants && c.manageAccounts);
  const none = capabilities(root, null);
  assert.ok(none.manageTenants && none.readAudit && !none.readTenant && !none.manageMembers);
});

test('viewer: reads only', () => {
  const v = { is_admin: false, memberships: [{ tenant: 'acme', role: 'viewer' }] };
  const c = capabilities(v, 'acme');
  assert.ok(c.readTenant);
  assert.ok(!c.manageMembers && !c.readAudit && !c.manageTenants && !c.manageAccounts);
});

test('duties: publisher uploads, approver approves, operator steers rollouts; none does another’s', () => {
  const as = (role) => capabilities({ is_admin: false, memberships: [{ tenant: 'acme', role }] }, 'acme');
  const duty = (c) => [c.uploadRelease, c.approveRelease, c.operateRollouts, c.manageDevices];
  assert.deepEqual(duty(as('publisher')), [true, false, false, false]);
  assert.deepEqual(duty(as('approver')), [false, true, false, false]);
  assert.deepEqual(duty(as('operator')), [false, false, true, true]);
  assert.deepEqual(duty(as('viewer')), [false, false, false, false]);
  assert.deepEqual(duty(as('admin')), [true, true, true, true]);
  assert.deepEqual(duty(capabilities(root, 'acme')), [true, true, true, true]);
  // A role in another tenant gives nothing here, and no tenant chosen gives nothing at all.
  assert.deepEqual(duty(capabilities(alice, 'initech')), [false, false, false, false]);
  assert.deepEqual(duty(capabilities(root, null)), [false, false, false, false]);
});
