// POST /api/messages (queue an email) and GET /api/messages/:id (what happened to it).
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/index.js';
import { getUsageLog } from '../../storage/usage-logs.js';
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
    const log = await getUsageLog(deps.db.pool, request.accountId, id);
    if (log === undefined) throw new AppError('NOT_FOUND', `No message ${id}`);
    const { from: _from, ...view } = log;
    return view;
  });
}
