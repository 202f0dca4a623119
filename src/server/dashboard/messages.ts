// Messages: a filtered, paged list; one message with its events, per-link clicks and an inert, sandboxed preview.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { listMessageEvents, listUsageLogs } from '../../storage/message-list.js';
import { usageLogStatuses } from '../../storage/schema.js';
import { getUsageLogForSend } from '../../storage/usage-logs.js';
import { previewHtml } from '../../tracking/links.js';
import { idParam, parse } from '../api/schemas.js';
import { describeMessage } from '../operations/describe-message.js';
import { formatDate, html, page } from './html.js';
import { viewerOf, type DashboardContext } from './index.js';

const PAGE_SIZE = 50;

const day = z
  .string()
  .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'must be a date like 2026-01-31')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'is not a real date');
const blankIsUnset = (v: unknown) => (v === '' ? undefined : v);

const listQuery = z.object({
  status: z.preprocess(blankIsUnset, z.enum(usageLogStatuses, { error: `must be one of ${usageLogStatuses.join(', ')}` }).optional()),
  from: z.preprocess(blankIsUnset, day.optional()),
  to: z.preprocess(blankIsUnset, day.optional()),
  page: z.preprocess(blankIsUnset, z.coerce.number().int().min(1).max(100_000).default(1)),
});

/** The sender's HTML on our origin: a sandbox without scripts or same-origin, nothing loaded but images and styles. */
export const PREVIEW_CSP = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:; frame-ancestors 'self'";

const status = (s: string) => html`<span class="status status-${s}">${s}</span>`;

export function messagePages(app: FastifyInstance, ctx: DashboardContext): void {
  const nav = (request: Parameters<typeof viewerOf>[0]) => {
    const v = viewerOf(request);
    return { account: v.accountName, csrf: v.csrf, active: 'messages' as const, showOutbox: ctx.options.outbox !== undefined };
  };

  app.get('/messages', async (request, reply) => {
    const viewer = viewerOf(request);
    const q = parse(listQuery, request.query, 'the filter');
    const { rows, total } = await listUsageLogs(ctx.db.pool, viewer.accountId, {
      status: q.status,
      from: q.from,
      to: q.to,
      limit: PAGE_SIZE,
      offset: (q.page - 1) * PAGE_SIZE,
    });
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const link = (p: number) => `/messages?${new URLSearchParams({ status: q.status ?? '', from: q.from ?? '', to: q.to ?? '', page: String(p) }).toString()}`;
    const body = html`<h1>Messages</h1>
<form class="filters" method="get" action="/messages">
  <div><label for="status">Status</label><select id="status" name="status"><option value="">any</option>${usageLogStatuses.map(
    (s) => html`<option value="${s}"${s === q.status ? html` selected` : ''}>${s}</option>`,
  )}</select></div>
  <div><label for="from">Created from</label><input id="from" name="from" type="date" value="${q.from ?? ''}"></div>
  <div><label for="to">to</label><input id="to" name="to" type="date" value="${q.to ?? ''}"></div>
  <button type="submit">Filter</button>
</form>
<table>
  <thead><tr><th>#</th><th>Status</th><th>To</th><th>Subject</th><th>Created (UTC)</th><th class="num">Opens</th><th class="num">Clicks</th><th>Last error</th></tr></thead>
  <tbody>${rows.length === 0 ? html`<tr><td colspan="8">No messages match.</td></tr>` : ''}${rows.map(
    (m) => html`<tr data-id="${m.id}"><td><a href="/messages/${m.id}">${m.id}</a></td><td>${status(m.status)}</td><td>${m.to}</td>
      <td><a href="/messages/${m.id}">${m.subject}</a></td><td>${formatDate(m.createdAt)}</td><td class="num">${m.openCount}</td>
      <td class="num">${m.clickCount}</td><td class="error">${m.lastError ?? ''}</td></tr>`,
  )}</tbody>
</table>
<div class="pager"><span>${total} message${total === 1 ? '' : 's'}, page ${q.page} of ${pages}</span>
  ${q.page > 1 ? html`<a href="${link(q.page - 1)}" rel="prev">Newer</a>` : ''}
  ${q.page < pages ? html`<a href="${link(q.page + 1)}" rel="next">Older</a>` : ''}</div>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Messages', ...nav(request) }, body));
  });

  app.get('/messages/:id', async (request, reply) => {
    const viewer = viewerOf(request);
    const { id } = parse(idParam, request.params, 'the path');
    const view = await describeMessage(ctx.db, viewer.accountId, id);
    if (view === undefined) throw new AppError('NOT_FOUND', `No message ${id}`);
    const events = await listMessageEvents(ctx.db.pool, id);
    const body = html`<h1>Message ${id}: ${view.subject}</h1>
<table class="facts">
  <tr><th>Status</th><td>${status(view.status)}</td></tr>
  <tr><th>To</th><td>${view.to}</td></tr>
  <tr><th>Created</th><td>${formatDate(view.createdAt)}</td></tr>
  <tr><th>Sent</th><td>${formatDate(view.sentAt)}</td></tr>
  <tr><th>Opens (people)</th><td data-stat="openCount">${view.openCount} · first ${formatDate(view.openedAt)}</td></tr>
  <tr><th>Clicks (people)</th><td data-stat="clickCount">${view.clickCount} · first ${formatDate(view.clickedAt)}</td></tr>
  ${view.lastError === null ? '' : html`<tr><th>Last error</th><td class="error">${view.lastError}</td></tr>`}
</table>
<h2>Links</h2>
<table><thead><tr><th>Destination</th><th class="num">Clicks (people)</th><th class="num">Clicks (machines)</th></tr></thead>
<tbody>${view.links.length === 0 ? html`<tr><td colspan="3">No tracked links.</td></tr>` : ''}${view.links.map(
      (l) => html`<tr><td>${l.url}</td><td class="num">${l.clicks}</td><td class="num">${l.machineClicks}</td></tr>`,
    )}</tbody></table>
<h2>Events</h2>
<table><thead><tr><th>When (UTC)</th><th>Event</th><th>Who</th><th>Link</th><th>User agent</th></tr></thead>
<tbody>${events.length === 0 ? html`<tr><td colspan="5">No opens or clicks yet.</td></tr>` : ''}${events.map(
      (e) => html`<tr><td>${formatDate(e.occurredAt)}</td><td>${e.kind}</td><td>${e.machine ? 'machine' : 'person'}</td><td>${e.url ?? ''}</td><td>${e.userAgent ?? ''}</td></tr>`,
    )}</tbody></table>
<h2>Preview</h2>
<p><a href="/messages/${id}/preview" target="_blank" rel="noopener">Open the preview on its own</a> (inert: links go straight to their destination, no open is recorded).</p>
<iframe class="preview" title="Preview of message ${id}" sandbox src="/messages/${id}/preview"></iframe>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: `Message ${id}`, ...nav(request) }, body));
  });

  app.get('/messages/:id/preview', async (request, reply) => {
    const viewer = viewerOf(request);
    const { id } = parse(idParam, request.params, 'the path');
    const log = await getUsageLogForSend(ctx.db.pool, id);
    if (log === undefined || log.accountId !== viewer.accountId) throw new AppError('NOT_FOUND', `No message ${id}`);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', PREVIEW_CSP)
      .header('cache-control', 'private, no-store')
      .send(previewHtml(log.html, log.trackClicks));
  });
}
