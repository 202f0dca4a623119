// The open pixel and the click redirect. They never fail the recipient: a failed write is logged, the answer stands.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyRequest } from '../tracking/classify.js';
import { sendError } from './error-handler.js';
import { TRANSPARENT_GIF } from '../tracking/gif.js';
import type { TrackingRecorder } from '../tracking/recorder.js';
import { checkClickRequest, checkOpenRequest } from '../tracking/request.js';
import type { Signer } from '../tracking/signature.js';

export interface TrackDeps {
  signer: Signer;
  recorder: Pick<TrackingRecorder, 'recordOpen' | 'recordClick'>;
}

const NO_STORE = 'no-store, no-cache, must-revalidate, private';

function sendGif(reply: FastifyReply): FastifyReply {
  return reply
    .status(200)
    .header('content-type', 'image/gif')
    .header('cache-control', NO_STORE)
    .header('pragma', 'no-cache')
    .header('expires', '0')
    .send(TRANSPARENT_GIF);
}

function eventFrom(request: FastifyRequest, logId: number) {
  const userAgent = request.headers['user-agent'];
  const { machine } = classifyRequest({ userAgent, method: request.method });
  return { logId, occurredAt: new Date(), userAgent: userAgent?.slice(0, 512) ?? null, machine };
}

export function trackRoutes(app: FastifyInstance, deps: TrackDeps): void {
  app.get('/api/track/open', async (request, reply) => {
    try {
      const check = checkOpenRequest(request.query, deps.signer);
      // HEAD is a scanner or a cache checking the link, not a person opening the mail.
      if (check.kind === 'ok' && request.method === 'GET') await deps.recorder.recordOpen(eventFrom(request, check.logId));
    } catch (err) {
      request.log.error({ err, source: 'tracking' }, 'recording an open failed; pixel served anyway');
    }
    return sendGif(reply);
  });

  app.get('/api/track/click', async (request, reply) => {
    const check = checkClickRequest(request.query, deps.signer);
    if (check.kind === 'bad-request') {
      return sendError(reply.header('cache-control', NO_STORE), 'BAD_TRACKING_REQUEST', check.message);
    }
    if (check.kind === 'forbidden') {
      request.log.warn({ source: 'security', logId: check.logId, reason: check.message }, `Invalid tracking signature detected for log ${check.logId}`);
      return reply.status(403).header('cache-control', NO_STORE).type('text/plain; charset=utf-8').send('Invalid tracking signature');
    }
    if (request.method === 'GET') {
      try {
        await deps.recorder.recordClick({ ...eventFrom(request, check.logId), url: check.url });
      } catch (err) {
        request.log.error({ err, source: 'tracking' }, 'recording a click failed; redirecting anyway');
      }
    }
    return reply.status(302).header('cache-control', NO_STORE).header('location', check.url).send();
  });
}
