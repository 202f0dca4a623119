// GET /metrics in Prometheus text format: a registry per app with HTTP latency per route, the queue, tracking and process metrics.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../storage/db.js';
import { oldestPendingAgeSeconds } from '../storage/queue-overview.js';
import { taskCounts } from '../storage/tasks.js';
import type { RecorderStats } from '../tracking/recorder.js';

export interface MetricsDeps {
  db: Database;
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

export function metricsRoutes(app: FastifyInstance, deps: MetricsDeps): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

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
        return reply.status(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: { code: 'UNAUTHORIZED', message: 'Send METRICS_TOKEN as "Authorization: Bearer <token>"' } });
      }
    }
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(await registry.metrics());
  });
  return registry;
}
