// The group-commit recorder on real Postgres: batching, answering on commit, riding out a database that fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/index.js';
import { createAccount } from '../src/storage/accounts.js';
import type { Database } from '../src/storage/db.js';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { insertUsageLog } from '../src/storage/usage-logs.js';
import { createTrackingRecorder } from '../src/tracking/recorder.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let logId: number;
const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });

beforeAll(async () => {
  db = await createTestDatabase();
  const accountId = await createAccount(db.pool, 'recorder');
  logId = await insertUsageLog(db.pool, { accountId, from: 'a@example.com', to: 'b@example.com', subject: 's', html: 'h', text: undefined, trackOpens: true, trackClicks: true });
});
afterAll(async () => {
  expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  await db.drop();
});

const openCount = async () => (await db.pool.query<{ n: number }>('select count(*)::int as n from open_events')).rows[0]!.n;
const event = () => ({ logId, occurredAt: new Date(), userAgent: 'Mozilla/5.0', machine: false });

/** The test database behind a switch: while `down`, every new transaction fails as if Postgres were unreachable. */
function flaky(real: Database): Database & { down: boolean } {
  const wrapper = {
    down: false,
    url: real.url,
    orm: real.orm,
    close: () => real.close(),
    pool: new Proxy(real.pool, {
      get(target, prop, receiver) {
        if (prop === 'connect') {
          return () => (wrapper.down ? Promise.reject(new Error('connect ECONNREFUSED (test outage)')) : target.connect());
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }),
  };
  return wrapper;
}

describe('tracking recorder', () => {
  it('shares one transaction among concurrent requests, and each answers only once its event is committed', async () => {
    const recorder = createTrackingRecorder({ db, logger, maxBatch: 100, maxDelayMs: 5 });
    const before = await openCount();
    await Promise.all(Array.from({ length: 500 }, () => recorder.recordOpen(event())));
    expect(await openCount()).toBe(before + 500);
    const stats = recorder.stats();
    expect(stats.recorded).toBe(500);
    expect(stats.batches).toBeGreaterThanOrEqual(5);
    expect(stats.batches).toBeLessThan(100);
    await recorder.close(1_000);
  });

  it('answers within the timeout while the database is down, keeps the events, and writes them all once it is back', async () => {
    const fdb = flaky(db);
    const recorder = createTrackingRecorder({ db: fdb, logger, answerTimeoutMs: 50, retryBaseMs: 10, retryCapMs: 40 });
    const before = await openCount();
    fdb.down = true;
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, () => recorder.recordOpen(event())));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(recorder.stats()).toMatchObject({ buffered: 50, recorded: 0, lost: 0 });
    expect(lines.some((l) => l.source === 'tracking' && l.level === 50)).toBe(true);
    fdb.down = false;
    await expect.poll(openCount, { timeout: 5_000 }).toBe(before + 50);
    expect(recorder.stats()).toMatchObject({ buffered: 0, recorded: 50, lost: 0 });
    await recorder.close(1_000);
  });

  it('past its bound drops the oldest events, counts and logs the loss', async () => {
    const fdb = flaky(db);
    const recorder = createTrackingRecorder({ db: fdb, logger, maxBuffered: 10, answerTimeoutMs: 20, retryBaseMs: 10, retryCapMs: 20 });
    const before = await openCount();
    fdb.down = true;
    lines.length = 0;
    await Promise.all(Array.from({ length: 15 }, () => recorder.recordOpen(event())));
    expect(recorder.stats()).toMatchObject({ buffered: 10, lost: 5 });
    expect(lines.some((l) => l.msg === 'tracking buffer full: dropped the oldest events')).toBe(true);
    fdb.down = false;
    await expect.poll(openCount, { timeout: 5_000 }).toBe(before + 10);
    await recorder.close(1_000);
  });

  it('close() writes what is buffered before it resolves', async () => {
    const recorder = createTrackingRecorder({ db, logger, maxDelayMs: 1_000 });
    const before = await openCount();
    for (let i = 0; i < 30; i++) void recorder.recordOpen(event());
    await recorder.close(2_000);
    expect(await openCount()).toBe(before + 30);
    expect(recorder.stats().lost).toBe(0);
  });

  it('close() with the database down past its deadline reports what it could not write as lost', async () => {
    const fdb = flaky(db);
    const recorder = createTrackingRecorder({ db: fdb, logger, retryBaseMs: 10, retryCapMs: 20, answerTimeoutMs: 20 });
    fdb.down = true;
    for (let i = 0; i < 7; i++) void recorder.recordOpen(event());
    await recorder.close(200);
    expect(recorder.stats().lost).toBe(7);
  });
});
