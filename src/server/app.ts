// Builds the Fastify app (routes, auth, error handling) from its dependencies; main/ decides whether to listen.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log/index.js';
import { withTimeout, type Database } from '../storage/db.js';
import { messageRoutes } from './api/messages.js';
import { dailyMetricsRoutes } from './api/metrics.js';
import { requireApiKey } from './auth.js';
import { dashboardRoutes, type DashboardOptions } from './dashboard/index.js';
import { errorHandler, sendError } from './error-handler.js';
import { prometheusRoutes, type Observations } from './metrics.js';
import type { EnqueueSend } from './operations/queue-message.js';
import { trackRoutes, type TrackDeps } from './track.js';
import type { TrackingRecorder } from '../tracking/recorder.js';

export interface AppDeps extends TrackDeps {
  /** The recorder; `stats()` feeds /metrics when present. */
  recorder: TrackDeps['recorder'] & Partial<Pick<TrackingRecorder, 'stats'>>;
  db: Database;
  logger: Logger;
  enqueueSend: EnqueueSend;
  /** Wakes this process's worker loops at once (ROLE=all); other processes hear the NOTIFY. */
  wakeWorkers?: () => void;
  /** The dashboard at /; without it only the API, tracking and /metrics are served. */
  dashboard?: DashboardOptions;
  /** METRICS_TOKEN: when set, GET /metrics requires it as a bearer token. */
  metricsToken?: string | undefined;
  /** The worker's and recorder's histograms, served on /metrics. */
  observations?: Observations | undefined;
}

const HEALTH_TIMEOUT_MS = 2_000;

/** Largest request body: generous for HTML newsletters, small enough that a flood cannot exhaust memory. */
export const BODY_LIMIT_BYTES = 10 * 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Per-request lines would dominate the log at tracking volumes; errors are logged where they are handled.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    // While closing, requests already on open connections are served as usual: the pixel and the redirect must
    // keep working until the sockets close (the recorder is flushed after the server has closed).
    return503OnClosing: false,
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
  );

  // First, so its latency hook sees every route registered after it.
  const recorder = deps.recorder;
  prometheusRoutes(app, {
    db: deps.db,
    token: deps.metricsToken,
    observations: deps.observations,
    recorderStats: recorder.stats ? () => recorder.stats!() : undefined,
  });

  app.get('/healthz', async (_request, reply) => {
    try {
      await withTimeout(deps.db.pool.query('select 1'), HEALTH_TIMEOUT_MS, 'health check');
      return { status: 'ok' };
    } catch {
      return reply.status(503).send({ status: 'unavailable', error: 'database is not answering' });
    }
  });

  trackRoutes(app, deps);

  await app.register(async (api) => {
    api.addHook('preHandler', requireApiKey(deps.db));
    messageRoutes(api, deps);
    dailyMetricsRoutes(api, deps);
  });

  const dashboard = deps.dashboard;
  if (dashboard !== undefined) await app.register(async (scope) => dashboardRoutes(scope, deps.db, dashboard));

  return app;
}
