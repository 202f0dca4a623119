// GET /metrics in-process on real Postgres: parses as Prometheus text; task, tracking and HTTP series move with work.
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../src/log/index.js';
import { buildApp } from '../src/server/app.js';
import { createObservations } from '../src/server/metrics.js';
import { z } from 'zod';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker } from '../src/worker/worker.js';
import { createAccount, createApiKey } from '../src/storage/accounts.js';
import { createTrackingRecorder, type TrackingRecorder } from '../src/tracking/recorder.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildOpenUrl } from '../src/tracking/urls.js';
import { createEnqueue } from '../src/worker/enqueue.js';
import { beaconTasks } from '../src/worker/tasks/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

const TOKEN = 'metrics-token-0123456789';
const signer = createSigner(['metrics-test-secret-0123456789']);
const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';

let db: TestDatabase;
let app: FastifyInstance;
let open: FastifyInstance;
let recorder: TrackingRecorder;
let key: string;
const observations = createObservations();

beforeAll(async () => {
  db = await createTestDatabase();
  key = await createApiKey(db.pool, await createAccount(db.pool, 'M'));
  const logger = createLogger({ level: 'silent' });
  recorder = createTrackingRecorder({ db, logger, maxDelayMs: 5, onBatch: observations.observeTrackingBatch });
  const enqueue = createEnqueue(beaconTasks);
  const deps = { db, logger, signer, recorder, enqueueSend: (q: Parameters<typeof enqueue>[0], p: { logId: number }) => enqueue(q, 'send_email', p) };
  app = await buildApp({ ...deps, metricsToken: TOKEN, observations });
  open = await buildApp(deps);
});

afterAll(async () => {
  await app?.close();
  await open?.close();
  await recorder?.close(1_000);
  await db?.drop();
});

async function scrape(): Promise<Map<string, PromFamily> & { text: string }> {
  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  // The parser throws on any line that is not valid text format.
  return Object.assign(new Map(parsePrometheusTextFormat(res.body).map((f) => [f.name, f])), { text: res.body });
}

/** Series of a histogram family from the raw text: the parser merges labelled histograms into one (a limitation of it). */
function histogramCounts(text: string, name: string): Array<{ labels: Record<string, string>; count: number }> {
  return [...text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => ({
    labels: Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])),
    count: Number(m[2]),
  }));
}

const value = (families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}) =>
  Number(families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);

describe('GET /metrics', () => {
  it('needs METRICS_TOKEN when set, and is open without it', async () => {
    expect((await app.inject('/metrics')).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode).toBe(401);
    expect((await open.inject('/metrics')).statusCode).toBe(200);
  });

  it('parses as Prometheus text with process defaults; task and tracking series move when work is done', async () => {
    const before = await scrape();
    expect(before.get('process_cpu_user_seconds_total')?.type).toBe('COUNTER');
    expect(before.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    expect(before.get('beacon_tasks')?.type).toBe('GAUGE');
    expect(value(before, 'beacon_tracking_events_recorded_total')).toBe(0);
    const pendingBefore = value(before, 'beacon_tasks', { status: 'pending', type: 'send_email' });
    expect(Number.isNaN(pendingBefore) ? 0 : pendingBefore).toBe(0);

    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/messages',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: { from: 'a@example.com', to: `r${i}@example.com`, subject: 's', html: '<p>x</p>' },
      });
      ids.push(res.json<{ id: number }>().id);
    }
    await db.pool.query(`update usage_logs set status = 'sent', sent_at = now() where id = any($1::bigint[])`, [ids]);
    for (const id of ids) {
      const u = new URL(buildOpenUrl('http://x', signer, id));
      expect((await app.inject({ url: `${u.pathname}${u.search}`, headers: { 'user-agent': PERSON } })).statusCode).toBe(200);
    }

    const after = await scrape();
    expect(value(after, 'beacon_tasks', { status: 'pending', type: 'send_email' })).toBe(2);
    expect(value(after, 'beacon_tracking_events_recorded_total')).toBe(2);
    expect(value(after, 'beacon_tracking_batches_total')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'beacon_tracking_events_buffered')).toBe(0);
    expect(value(after, 'beacon_tracking_events_lost_total')).toBe(0);
    expect(value(after, 'beacon_tasks_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);

    // Latency per route pattern, never per raw URL (no ids, no signatures in label values).
    expect(after.get('beacon_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const http = histogramCounts(after.text, 'beacon_http_request_duration_seconds');
    const routes = new Set(http.map((m) => m.labels.route));
    expect(routes).toContain('/api/messages');
    expect(routes).toContain('/api/track/open');
    for (const r of routes) expect(r).not.toMatch(/\?|\d{2,}/);
    expect(http.find((m) => m.labels.route === '/api/track/open' && m.labels.status_code === '200')?.count).toBe(2);
    expect(http.find((m) => m.labels.route === '/api/messages' && m.labels.method === 'POST')?.count).toBe(2);
  });

  it('serves the claim latency of this process\'s worker and the size and lag of tracking batches', async () => {
    const tracking = histogramSums(( await scrape()).text, 'beacon_tracking_batch_events');
    expect(tracking.count).toBeGreaterThanOrEqual(1);
    expect(tracking.sum).toBeGreaterThanOrEqual(2);
    expect(histogramSums((await scrape()).text, 'beacon_tracking_batch_lag_seconds').count).toBe(tracking.count);

    let ran = 0;
    const noop = defineTask({ type: 'metrics_noop', payload: z.object({}), handler: async () => void ran++ });
    const worker = createWorker({
      db,
      logger: createLogger({ level: 'silent' }),
      concurrency: 1,
      tasks: createTaskRegistry([noop]),
      deps: {},
      pollIntervalMs: 50,
      onClaim: observations.observeClaim,
    });
    await worker.start();
    try {
      await db.pool.query(`insert into tasks (type, payload) values ('metrics_noop', '{}')`);
      await expect.poll(() => ran, { timeout: 5_000 }).toBe(1);
    } finally {
      await worker.stop(1_000);
    }
    const claims = histogramCounts((await scrape()).text, 'beacon_task_claim_duration_seconds');
    expect(claims.find((c) => c.labels.found === 'yes')?.count).toBeGreaterThanOrEqual(1);
  });
});

/** Count and sum of an unlabelled histogram, from the raw text. */
function histogramSums(text: string, name: string): { count: number; sum: number } {
  const read = (suffix: string) => Number(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { count: read('count'), sum: read('sum') };
}
