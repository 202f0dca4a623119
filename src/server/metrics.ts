// GET /metrics in Prometheus text format: a registry per app with HTTP latency per route, the queue, tracking and process metrics.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../storage/db.js';
import { sendError } from './error-handler.js';
import { oldestPendingAgeSeconds } from '../storage/queue-overview.js';
import { taskCounts } from '../storage/tasks.js';
import type { RecorderStats } from '../tracking/recorder.js';

/**
 * Histograms fed from outside the HTTP layer: the worker's claims and the tracking recorder's batches. main/
 * creates one set per process, hands `observeClaim` to the worker and `observeTrackingBatch` to the recorder,
 * and the same set to the app, which serves it on /metrics (a ROLE=worker process serves no /metrics).
 */
export interface Observations {
  readonly metrics: ReadonlyArray<Histogram>;
  observeClaim(seconds: number, tasks: number): void;
  observeTrackingBatch(events: number, lagMs: number): void;
}

export function createObservations(): Observations {
  const claim = new Histogram({
    name: 'beacon_task_claim_duration_seconds',
    help: 'Time one claim statement took (one-at-a-time or batch), by whether it found work.',
    labelNames: ['found'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [],
  });
  const batchEvents = new Histogram({
    name: 'beacon_tracking_batch_events',
    help: 'Opens or clicks written by one tracking batch statement.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [],
  });
  const batchLag = new Histogram({
    name: 'beacon_tracking_batch_lag_seconds',
    help: 'From the arrival of a batch\'s oldest open or click to its commit.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [],
  });
  return {
    metrics: [claim, batchEvents, batchLag],
    observeClaim: (seconds, tasks) => claim.observe({ found: tasks > 0 ? 'yes' : 'no' }, seconds),
    observeTrackingBatch: (events, lagMs) => {
      batchEvents.observe(events);
      batchLag.observe(lagMs / 1000);
    },
  };
}

export interface MetricsDeps {
  db: Database;
  /** Histograms fed by the worker and the recorder of this process. */
  observations?: Observations | undefined;
  /** The tracking recorder's counters (absent in a process without one). */
  recorderStats?: (() => RecorderStats) | undefined;
  /** When set, /metrics answers only `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

/** A counter whose value is read from elsewhere at scrape time (the recorder keeps its own totals). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      this.reset();
      if (value !== undefined) this.inc(value);
    },
  });
}

export function prometheusRoutes(app: FastifyInstance, deps: MetricsDeps): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of deps.observations?.metrics ?? []) registry.registerMetric(metric);

  const http = new Histogram({
    name: 'beacon_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The pattern (/api/messages/:id), never the raw URL: one series per route, not per id or query.
    const route = request.routeOptions.url ?? 'unmatched';
    http.observe({ route, method: request.method, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  new Gauge({
    name: 'beacon_tasks',
    help: 'Tasks in the queue by status and type.',
    labelNames: ['status', 'type'],
    registers: [registry],
    async collect() {
      const counts = await taskCounts(deps.db.pool);
      this.reset();
      for (const c of counts) this.set({ status: c.status, type: c.type }, c.count);
    },
  });
  new Gauge({
    name: 'beacon_tasks_oldest_pending_age_seconds',
    help: 'How long the oldest due pending task has waited (0 when none).',
    registers: [registry],
    async collect() {
      this.set(await oldestPendingAgeSeconds(deps.db.pool));
    },
  });

  const stats = deps.recorderStats;
  if (stats !== undefined) {
    new Gauge({
      name: 'beacon_tracking_events_buffered',
      help: 'Opens and clicks in memory, waiting for their batch to be written.',
      registers: [registry],
      collect() {
        this.set(stats().buffered);
      },
    });
    new Gauge({
      name: 'beacon_tracking_events_in_flight',
      help: 'Opens and clicks in the batch being written now.',
      registers: [registry],
      collect() {
        this.set(stats().inFlight);
      },
    });
    mirroredCounter(registry, 'beacon_tracking_events_recorded_total', 'Opens and clicks written to the database.', () => stats().recorded);
    mirroredCounter(registry, 'beacon_tracking_events_lost_total', 'Opens and clicks dropped (buffer full, or not written by shutdown).', () => stats().lost);
    mirroredCounter(registry, 'beacon_tracking_batches_total', 'Tracking batches committed (events recorded / batches = mean batch size).', () => stats().batches);
    mirroredCounter(registry, 'beacon_tracking_batches_failed_total', 'Tracking batch writes that failed and were retried.', () => stats().failedBatches);
  }

  const expected = deps.token === undefined ? undefined : Buffer.from(`Bearer ${deps.token}`);
  app.get('/metrics', async (request, reply) => {
    if (expected !== undefined) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (!(given.length === expected.length && timingSafeEqual(given, expected))) {
        return sendError(reply.header('www-authenticate', 'Bearer realm="metrics"'), 'UNAUTHORIZED', 'Send METRICS_TOKEN as "Authorization: Bearer <token>"');
      }
    }
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(await registry.metrics());
  });
  return registry;
}
