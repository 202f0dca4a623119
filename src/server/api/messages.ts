// POST /api/messages (queue an email) and GET /api/messages/:id (what happened to it).
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/index.js';
import { getUsageLogForSend } from '../../storage/usage-logs.js';
import { previewHtml } from '../../tracking/links.js';
import { describeMessage } from '../operations/describe-message.js';
import { queueMessage } from '../operations/queue-message.js';
import type { AppDeps } from '../app.js';
import { createMessageBody, idParam, parse } from './schemas.js';

export function messageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post('/api/messages', async (request, reply) => {
    const body = parse(createMessageBody, request.body, 'the message');
    const id = await queueMessage(deps.db, deps.enqueueSend, request.accountId, body);
    deps.wakeWorkers?.();
    return reply.status(202).send({ id, status: 'queued' });
  });

  app.get('/api/messages/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'the path');
    const view = await describeMessage(deps.db, request.accountId, id);
    if (view === undefined) throw new AppError('NOT_FOUND', `No message ${id}`);
    return view;
  });

  // The message as sent but inert: looking at it records nothing. Sandboxed: it is the sender's HTML on our origin.
  app.get('/api/messages/:id/preview', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'the path');
    const log = await getUsageLogForSend(deps.db.pool, id);
    if (log === undefined || log.accountId !== request.accountId) throw new AppError('NOT_FOUND', `No message ${id}`);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:")
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      .send(previewHtml(log.html, log.trackClicks));
  });
}
