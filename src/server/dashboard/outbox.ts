// The local outbox (first-run mode, no SMTP_URL): the .eml files, each with its stored message rendered inertly.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/index.js';
import { usageLogSummaries } from '../../storage/message-list.js';
import { getUsageLogForSend } from '../../storage/usage-logs.js';
import { idParam, parse } from '../api/schemas.js';
import { formatDate, html, page } from './html.js';
import { viewerOf, type DashboardContext } from './index.js';

/** What the dashboard needs of the outbox; main/ binds it to mail/outbox.ts (server may not import mail/). */
export interface OutboxReader {
  /** Newest first. */
  list(): Promise<Array<{ logId: number; size: number; modifiedAt: Date }>>;
  /** The raw .eml, or undefined. */
  read(logId: number): Promise<string | undefined>;
}

const PAGE = 200;

export function outboxPages(app: FastifyInstance, ctx: DashboardContext): void {
  const outbox = ctx.options.outbox;
  if (outbox === undefined) return;

  app.get('/outbox', async (request, reply) => {
    const viewer = viewerOf(request);
    const entries = (await outbox.list()).slice(0, PAGE * 10);
    // Files are named by usage log id: show only this account's messages.
    const rows = await usageLogSummaries(ctx.db.pool, viewer.accountId, entries.map((e) => e.logId));
    const mine = new Map(rows.map((r) => [r.id, r]));
    const shown = entries.filter((e) => mine.has(e.logId)).slice(0, PAGE);
    const body = html`<h1>Outbox</h1>
<p>No <code>SMTP_URL</code> is set, so mail is written to the local outbox instead of being delivered. Newest first.</p>
<table><thead><tr><th>File</th><th>To</th><th>Subject</th><th class="num">Size</th><th>Written (UTC)</th></tr></thead>
<tbody>${shown.length === 0 ? html`<tr><td colspan="5">The outbox is empty.</td></tr>` : ''}${shown.map((e) => {
      const m = mine.get(e.logId)!;
      return html`<tr><td><a href="/outbox/${e.logId}">${e.logId}.eml</a></td><td>${m.to}</td><td>${m.subject}</td><td class="num">${e.size}</td><td>${formatDate(e.modifiedAt)}</td></tr>`;
    })}</tbody></table>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Outbox', account: viewer.accountName, csrf: viewer.csrf, active: 'outbox', showOutbox: true }, body));
  });

  app.get('/outbox/:id', async (request, reply) => {
    const viewer = viewerOf(request);
    const { id } = parse(idParam, request.params, 'the path');
    const log = await getUsageLogForSend(ctx.db.pool, id);
    const raw = log?.accountId === viewer.accountId ? await outbox.read(id) : undefined;
    if (raw === undefined) throw new AppError('NOT_FOUND', `No outbox file ${id}.eml`);
    // Rendered from the stored message, not the .eml: the .eml carries the live open pixel and tracked links.
    const body = html`<h1>${id}.eml</h1>
<p><a href="/messages/${id}">Message ${id}</a> · rendered below without tracking; the file as written follows.</p>
<iframe class="preview" title="Preview of ${id}.eml" sandbox src="/messages/${id}/preview"></iframe>
<h2>Source</h2>
<pre>${raw}</pre>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: `${id}.eml`, account: viewer.accountName, csrf: viewer.csrf, active: 'outbox', showOutbox: true }, body));
  });
}
