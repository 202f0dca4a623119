// The queue: counts by status and type, the oldest due task's wait, dead tasks with their errors, retry one.
import type { FastifyInstance } from 'fastify';
import { idParam, parse } from '../api/schemas.js';
import { listDeadTasks, oldestPendingAgeSeconds, retryDeadTask } from '../../storage/queue-overview.js';
import { taskCounts } from '../../storage/tasks.js';
import { taskStatuses } from '../../storage/schema.js';
import { withTransaction } from '../../storage/transaction.js';
import { formatAge, formatDate, html, page } from './html.js';
import { requireCsrf, viewerOf, type DashboardContext } from './index.js';

export function queuePages(app: FastifyInstance, ctx: DashboardContext): void {
  app.get('/queue', async (request, reply) => {
    const viewer = viewerOf(request);
    const [counts, age, dead] = await Promise.all([taskCounts(ctx.db.pool), oldestPendingAgeSeconds(ctx.db.pool), listDeadTasks(ctx.db.pool, viewer.accountId)]);
    const types = [...new Set(counts.map((c) => c.type))].sort();
    const count = (type: string, status: string) => counts.find((c) => c.type === type && c.status === status)?.count ?? 0;
    const notice = (request.query as Record<string, string | undefined>).retried;
    const body = html`<h1>Queue</h1>
${notice === undefined ? '' : html`<p role="status">Task ${notice} is pending again; a worker will pick it up.</p>`}
<dl class="cards">
  <div class="card"><dt>Oldest due task waiting</dt><dd data-stat="oldestPending">${formatAge(age)}</dd><small>pending and due now</small></div>
  ${taskStatuses.map((s) => html`<div class="card"><dt>${s}</dt><dd data-stat="${s}">${counts.filter((c) => c.status === s).reduce((n, c) => n + c.count, 0)}</dd></div>`)}
</dl>
<h2>By type</h2>
<table><thead><tr><th>Type</th>${taskStatuses.map((s) => html`<th class="num">${s}</th>`)}</tr></thead>
<tbody>${types.length === 0 ? html`<tr><td colspan="6">The queue is empty.</td></tr>` : ''}${types.map(
      (t) => html`<tr><td>${t}</td>${taskStatuses.map((s) => html`<td class="num">${count(t, s)}</td>`)}</tr>`,
    )}</tbody></table>
<h2>Dead tasks</h2>
<table><thead><tr><th>#</th><th>Type</th><th>Message</th><th class="num">Attempts</th><th>Died (UTC)</th><th>Last error</th><th></th></tr></thead>
<tbody>${dead.length === 0 ? html`<tr><td colspan="7">No dead tasks.</td></tr>` : ''}${dead.map(
      (t) => html`<tr data-task="${t.id}"><td>${t.id}</td><td>${t.type}</td><td>${t.logId === null ? '' : html`<a href="/messages/${t.logId}">${t.logId}</a>`}</td>
  <td class="num">${t.attempts}</td><td>${formatDate(t.finishedAt)}</td><td class="error">${t.lastError ?? ''}</td>
  <td><form method="post" action="/queue/tasks/${t.id}/retry"><input type="hidden" name="_csrf" value="${viewer.csrf}"><button type="submit">Retry</button></form></td></tr>`,
    )}</tbody></table>`;
    return reply
      .type('text/html; charset=utf-8')
      .send(page({ title: 'Queue', account: viewer.accountName, csrf: viewer.csrf, active: 'queue', showOutbox: ctx.options.outbox !== undefined }, body));
  });

  app.post('/queue/tasks/:id/retry', async (request, reply) => {
    if (!requireCsrf(ctx, request, reply)) return reply;
    const viewer = viewerOf(request);
    const { id } = parse(idParam, request.params, 'the path');
    const retried = await withTransaction(ctx.db, (tx) => retryDeadTask(tx, viewer.accountId, id));
    if (!retried) {
      return reply
        .status(409)
        .type('text/html; charset=utf-8')
        .send(page({ title: 'Queue', account: viewer.accountName, csrf: viewer.csrf }, html`<p class="error" role="alert">Task ${id} is not a dead task of this account (already retried?).</p><p><a href="/queue">Back to the queue</a></p>`));
    }
    request.log.info({ taskId: id, accountId: viewer.accountId }, 'dead task retried from the dashboard');
    return reply.redirect(`/queue?retried=${id}`, 303);
  });
}
