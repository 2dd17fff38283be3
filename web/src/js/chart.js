// SPDX-License-Identifier: Apache-2.0
// Line charts of live rollout counts with uPlot (embedded at build time from the
// pinned npm package: /vendor/uplot/uPlot.esm.js, loaded only by the pages that
// draw). uPlot draws on a canvas and sets sizes through the CSSOM, which the
// Content-Security-Policy allows (no inline style attribute or element).
import { h } from './dom.js';

let uplotModule = null;
async function loadUplot() {
  if (!uplotModule) uplotModule = import('/vendor/uplot/uPlot.esm.js').then((m) => m.default);
  return uplotModule;
}

// Colours that read on light and dark backgrounds; the line styles differ too (solid,
// dotted, dashed), so the series stay apart without colour.
const SERIES = [
  { label: 'Success', stroke: '#1e8e3e', fill: 'rgba(30, 142, 62, 0.08)' },
  { label: 'Failure', stroke: '#d93025', fill: 'rgba(217, 48, 37, 0.08)', dash: [2, 3] },
  { label: 'In progress', stroke: '#1a73e8', dash: [6, 4] },
];

/**
 * A chart of success, failure and in-progress counts over time inside a <figure>.
 * → {el, update(data), resize(), destroy()}; data: [[unix s…], [success…], [failure…], [busy…]].
 * title: the figure's caption (also the canvas's accessible name).
 */
export function countsChart(title) {
  const holder = h('div', { class: 'chart-canvas', role: 'img', 'aria-label': title });
  const el = h('figure', { class: 'chart' }, h('figcaption', {}, title), holder);
  let plot = null;
  let pending = null;
  let dead = false;
  let waiting = false;

  const width = () => Math.max(260, Math.floor(holder.getBoundingClientRect().width || el.getBoundingClientRect().width || 600));
  const height = () => (window.matchMedia('(max-width: 760px)').matches ? 200 : 260);

  async function ensure(data) {
    const UPlot = await loadUplot();
    if (dead || plot) return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#a3adb5' : '#55606a', grid: { stroke: dark ? '#38424a' : '#e3e7ea' }, ticks: { stroke: dark ? '#38424a' : '#d5dbe0' } };
    plot = new UPlot({
      width: width(),
      height: height(),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      // Whole seconds at least: the server's stats carry second resolution.
      axes: [{ ...axis, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400] },
        { ...axis, label: 'devices', size: 56 }],
      series: [{ label: 'Time' }, ...SERIES.map((s) => ({ ...s, width: 2, points: { show: true, size: 5 } }))],
      legend: { live: true },
    }, pending || data, holder);
    pending = null;
    widenSingle();
  }

  // uPlot gives a lone sample an axis of years: show the minute around it instead.
  function widenSingle() {
    const t = plot && plot.data[0];
    if (t && t.length === 1) plot.setScale('x', { min: t[0] - 30, max: t[0] + 30 });
  }

  const api = {
    el,
    async update(data) {
      pending = data;
      if (!plot) {
        // Sized from the page's layout: wait until the figure is in the document.
        if (!el.isConnected) {
          if (!waiting) {
            waiting = true;
            requestAnimationFrame(() => {
              waiting = false;
              if (!dead && pending) api.update(pending);
            });
          }
          return;
        }
        await ensure(pending);
        return;
      }
      if (pending) {
        plot.setData(pending);
        pending = null;
        widenSingle();
      }
    },
    resize() {
      if (plot) plot.setSize({ width: width(), height: height() });
    },
    destroy() {
      dead = true;
      if (plot) plot.destroy();
      plot = null;
    },
    /** The number of points drawn (for tests and the text fallback). */
    get points() {
      return plot ? plot.data[0].length : 0;
    },
  };
  return api;
}
