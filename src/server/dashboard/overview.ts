// The overview page: the last 30 days' totals and a uPlot chart of sent, opens and clicks, people and machines.
import type { FastifyInstance } from 'fastify';
import { getDailyMetrics, type DailyMetricsRow } from '../../storage/metrics.js';
import { html, page } from './html.js';
import { viewerOf, type DashboardContext } from './index.js';

const DAYS = 30;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function card(label: string, stat: keyof DailyMetricsRow, value: number, note: string) {
  return html`<div class="card"><dt>${label}</dt><dd data-stat="${stat}">${value}</dd><small>${note}</small></div>`;
}

export function overviewPage(app: FastifyInstance, ctx: DashboardContext): void {
  app.get('/', async (request, reply) => {
    const viewer = viewerOf(request);
    const now = Date.now();
    const days = await getDailyMetrics(ctx.db.pool, viewer.accountId, utcDay(now - (DAYS - 1) * 86_400_000), utcDay(now));
    const sum = (k: keyof Omit<DailyMetricsRow, 'date'>) => days.reduce((n, d) => n + d[k], 0);
    const today = days[days.length - 1]!;
    const body = html`<h1>Last ${DAYS} days</h1>
<dl class="cards">
  ${card('Sent', 'sent', sum('sent'), `${today.sent} today`)}
  ${card('Failed', 'failed', sum('failed'), `${today.failed} today`)}
  ${card('Opens (people)', 'opens', sum('opens'), `${sum('uniqueOpens')} unique`)}
  ${card('Opens (machines)', 'machineOpens', sum('machineOpens'), 'scanners, proxies, prefetch')}
  ${card('Clicks (people)', 'clicks', sum('clicks'), `${sum('uniqueClicks')} unique`)}
  ${card('Clicks (machines)', 'machineClicks', sum('machineClicks'), 'link scanners')}
</dl>
<section class="panel">
  <h2>Per day (UTC)</h2>
  <div id="chart" role="img" aria-label="Sent, opens and clicks per day over the last ${DAYS} days"></div>
</section>`;
    return reply
      .type('text/html; charset=utf-8')
      .send(page({ title: 'Overview', account: viewer.accountName, csrf: viewer.csrf, active: 'overview', showOutbox: ctx.options.outbox !== undefined, scripts: ['uplot', 'dashboard'], data: { days } }, body));
  });
}
