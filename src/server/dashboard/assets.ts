// Static files of the dashboard: uPlot vendored from node_modules (no CDN), and the dashboard's own CSS and script.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot'));

const CSS = `
:root { --fg: #1d2330; --muted: #5d6678; --line: #dde1e8; --bg: #f6f7f9; --accent: #2456d6; --bad: #b3261e; font-family: system-ui, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header nav { display: flex; gap: 1rem; flex: 1; }
header nav a { color: var(--muted); text-decoration: none; padding: .3rem 0; }
header nav a[aria-current="page"] { color: var(--fg); border-bottom: 2px solid var(--accent); }
.brand { font-size: 1.1rem; }
.signout { display: flex; align-items: center; gap: .6rem; color: var(--muted); margin: 0; }
main { padding: 1.2rem 1.5rem; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .8rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card dt { color: var(--muted); font-size: .85rem; }
.card dd { margin: .2rem 0 0; font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.card small { color: var(--muted); font-size: .8rem; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin-top: 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); font-size: .92rem; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 0 .45rem; border-radius: 4px; background: #eef0f4; font-size: .85rem; }
.status-sent, .status-succeeded { background: #e3f4e8; }
.status-failed, .status-dead { background: #fbe4e2; color: var(--bad); }
.error { color: var(--bad); }
form.filters { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
label { display: block; font-size: .85rem; color: var(--muted); }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
.signout button { background: #fff; color: var(--fg); border-color: var(--line); }
.signin { max-width: 420px; margin: 3rem auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem; }
.signin input { width: 100%; box-sizing: border-box; margin: .3rem 0 1rem; }
iframe.preview { width: 100%; height: 480px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line); padding: .8rem; font-size: .8rem; max-height: 400px; overflow: auto; }
.pager { display: flex; gap: 1rem; margin-top: .8rem; color: var(--muted); }
#chart { min-height: 320px; }
`;

// Draws the overview chart from the page's JSON data block.
const SCRIPT = `
(function () {
  var el = document.getElementById('page-data');
  var target = document.getElementById('chart');
  if (!el || !target || typeof uPlot === 'undefined') return;
  var d = JSON.parse(el.textContent);
  var xs = d.days.map(function (day) { return Date.parse(day.date + 'T00:00:00Z') / 1000; });
  var col = function (k) { return d.days.map(function (day) { return day[k]; }); };
  var series = [
    ['Sent', 'sent', '#2456d6'], ['Opens (people)', 'opens', '#1a8f4c'], ['Opens (machines)', 'machineOpens', '#9bd3b0'],
    ['Clicks (people)', 'clicks', '#d9730d'], ['Clicks (machines)', 'machineClicks', '#f2c18d'], ['Failed', 'failed', '#b3261e']
  ];
  var opts = {
    width: Math.max(320, target.clientWidth), height: 300, tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
    scales: { x: { time: true } }, axes: [{}, { label: 'per day' }],
    series: [{}].concat(series.map(function (s) { return { label: s[0], stroke: s[2], width: 2, points: { show: true, size: 4 } }; }))
  };
  var plot = new uPlot(opts, [xs].concat(series.map(function (s) { return col(s[1]); })), target);
  window.addEventListener('resize', function () { plot.setSize({ width: Math.max(320, target.clientWidth), height: 300 }); });
  document.documentElement.dataset.chart = 'ready';
})();
`;

export function assetRoutes(app: FastifyInstance): void {
  const files = new Map<string, { type: string; body: string | Buffer }>(Object.entries({
    'dashboard.css': { type: 'text/css; charset=utf-8', body: CSS },
    'dashboard.js': { type: 'text/javascript; charset=utf-8', body: SCRIPT },
    'uplot.min.js': { type: 'text/javascript; charset=utf-8', body: fs.readFileSync(path.join(uplotDir, 'uPlot.iife.min.js')) },
    'uplot.min.css': { type: 'text/css; charset=utf-8', body: fs.readFileSync(path.join(uplotDir, 'uPlot.min.css')) },
  }));
  app.get('/assets/:name', async (request, reply) => {
    const file = files.get((request.params as { name: string }).name);
    if (file === undefined) return reply.status(404).type('text/plain').send('Not found');
    return reply.type(file.type).header('cache-control', 'public, max-age=3600').send(file.body);
  });
}
