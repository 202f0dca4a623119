// The pixel under a steady stream of requests while the database refuses every connection for 5 s: every
// request is answered with the GIF within the answer timeout, and once the database is back every open is in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { createLogger } from '../src/log/index.js';
import { buildApp } from '../src/server/app.js';
import { createAccount } from '../src/storage/accounts.js';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { TRANSPARENT_GIF } from '../src/tracking/gif.js';
import { createTrackingRecorder, type TrackingRecorder } from '../src/tracking/recorder.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildOpenUrl } from '../src/tracking/urls.js';
import { createEnqueue } from '../src/worker/enqueue.js';
import { beaconTasks } from '../src/worker/tasks/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { insertSentUsageLogs } from './helpers/sent-logs.js';

const ANSWER_TIMEOUT_MS = 250;
const STREAM_MS = 10_000;
const OUTAGE_START_MS = 2_000;
const OUTAGE_MS = 5_000;
/** Requests per 10 ms tick: about 300 a second. */
const PER_TICK = 3;

let db: TestDatabase;
let app: FastifyInstance;
let recorder: TrackingRecorder;
let base: string;
let logIds: number[];
const signer = createSigner(['outage-test-secret-0123456789']);
const logLines: Array<Record<string, unknown>> = [];

/** The test database closed to everyone (ALLOW_CONNECTIONS false) and its open connections terminated. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
const takeDown = async () => {
  await admin(`alter database ${db.name} allow_connections false`);
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and pid <> pg_backend_pid()`);
};
const bringBack = () => admin(`alter database ${db.name} allow_connections true`);

beforeAll(async () => {
  db = await createTestDatabase();
  const accountId = await createAccount(db.pool, 'outage');
  // One usage log per request, so each answered request can be matched to its own event.
  logIds = await insertSentUsageLogs(db.pool, accountId, 4_000);
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });
  recorder = createTrackingRecorder({ db, logger, answerTimeoutMs: ANSWER_TIMEOUT_MS, retryCapMs: 1_000 });
  const enqueue = createEnqueue(beaconTasks);
  app = await buildApp({ db, logger, signer, recorder, enqueueSend: (q, p) => enqueue(q, 'send_email', p) });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await bringBack().catch(() => undefined);
  await app?.close();
  await recorder?.close(5_000);
  await db?.drop();
});

interface Answer {
  logId: number;
  valid: boolean;
  status: number;
  gif: boolean;
  ms: number;
  error?: string;
}

async function hit(logId: number, valid: boolean): Promise<Answer> {
  const url = buildOpenUrl(base, signer, logId);
  const started = performance.now();
  try {
    const res = await fetch(valid ? url : url.replace(/sig=[0-9a-f]/, 'sig=x'), { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15' } });
    const body = Buffer.from(await res.arrayBuffer());
    return { logId, valid, status: res.status, gif: body.equals(TRANSPARENT_GIF), ms: performance.now() - started };
  } catch (err) {
    return { logId, valid, status: 0, gif: false, ms: performance.now() - started, error: String(err) };
  }
}

describe('tracking through a database outage', () => {
  it('answers every pixel request during a 5 s outage and records every valid open once the database is back', async () => {
    const answers: Array<Promise<Answer>> = [];
    const started = Date.now();
    let down = false;
    let outage: Promise<void> = Promise.resolve();
    let next = 0;
    while (Date.now() - started < STREAM_MS) {
      const t = Date.now() - started;
      if (!down && t >= OUTAGE_START_MS && t < OUTAGE_START_MS + OUTAGE_MS) {
        down = true;
        outage = takeDown().then(() => new Promise<void>((r) => setTimeout(r, OUTAGE_MS))).then(bringBack);
      }
      for (let i = 0; i < PER_TICK && next < logIds.length; i++, next++) answers.push(hit(logIds[next]!, next % 10 !== 9));
      await new Promise((r) => setTimeout(r, 10));
    }
    await outage;
    const all = await Promise.all(answers);

    expect(all.length).toBeGreaterThan(2_000);
    expect(all.filter((a) => a.error !== undefined || a.status !== 200 || !a.gif)).toEqual([]);
    // Bounded by the answer timeout (plus scheduling on a shared machine), outage or not.
    expect(Math.max(...all.map((a) => a.ms))).toBeLessThan(ANSWER_TIMEOUT_MS + 1_000);
    // The outage really happened: writes failed and some answers had to wait for the timeout.
    expect(logLines.some((l) => l.msg === 'writing tracking events failed; keeping them to retry')).toBe(true);
    expect(all.filter((a) => a.ms >= ANSWER_TIMEOUT_MS - 10).length).toBeGreaterThan(100);

    const valid = all.filter((a) => a.valid).map((a) => a.logId);
    const recordedIds = async () =>
      (await db.pool.query<{ log_id: number }>('select log_id from open_events order by log_id')).rows.map((r) => r.log_id);
    await expect.poll(async () => (await recordedIds()).length, { timeout: 20_000, interval: 200 }).toBe(valid.length);
    expect(await recordedIds()).toEqual([...valid].sort((a, b) => a - b));
    expect(recorder.stats()).toMatchObject({ buffered: 0, inFlight: 0, lost: 0 });
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  });
});
