// SPDX-License-Identifier: Apache-2.0
// Fleet, releases and rollouts: the server has no endpoints for them yet,
// so these pages say what will appear and how it gets there. No fake data.
import { h } from '../dom.js';
import { empty } from '../ui.js';

function page(title, intro, emptyTitle, emptyText, ctx) {
  return h('section', { 'aria-labelledby': 'page-title' },
    h('h1', { id: 'page-title' }, title, h('span', { class: 'sub' }, ctx.state.tenant)),
    h('p', { class: 'lead' }, intro),
    empty(emptyTitle, emptyText));
}

export function renderFleet(ctx) {
  return page('Fleet',
    'Every device of this tenant: model, installed version, last poll and update state.',
    'No devices yet — provision devices via the API.',
    'A device appears here once it is provisioned for this tenant and polls the device API ' +
      '(/' + ctx.state.tenant + '/controller/v1/{controllerId}, hawkBit DDI compatible).',
    ctx);
}

export function renderReleases(ctx) {
  return page('Releases',
    'Signed update packages (update.zip) available to this tenant, with their approvals.',
    'No releases yet — publishers upload signed update.zip packages via the API.',
    'Each release appears here with its version, compatible models, signing keys and whether ' +
      'this tenant has approved it.',
    ctx);
}

export function renderRollouts(ctx) {
  return page('Rollouts',
    'Staged rollouts of approved releases to this tenant’s devices, with live progress.',
    'No rollouts yet — operators create rollouts via the API.',
    'Each rollout appears here with its target filter, its stages and live counts per stage ' +
      '(scheduled, downloading, installing, success, failure).',
    ctx);
}
