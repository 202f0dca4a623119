// Wake-ups: NOTIFY reaches an idle worker in milliseconds, also after its LISTEN connection was killed; DB errors back off.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabase } from '../src/storage/db.js';
import { enqueueTask } from '../src/storage/tasks.js';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker, type Worker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { captureLogger, statusCounts, waitFor } from './helpers/worker-fixtures.js';

const noop = defineTask({ type: 'noop', payload: z.object({}), handler: async () => undefined });
const registry = createTaskRegistry([noop]);

let db: TestDatabase;
let other: pg.Client;
const running: Worker[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  other = new pg.Client({ connectionString: db.url });
  await other.connect();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop(0)));
  await db.pool.query('truncate tasks, workers');
});
afterAll(async () => {
  await other.end();
  await db.drop();
});

async function listenerPid(): Promise<number | undefined> {
  const { rows } = await db.pool.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database() and application_name = 'beacon-listen' and query ilike 'listen%'`,
  );
  return rows.length === 1 ? rows[0]!.pid : undefined;
}

/** Enqueues `n` tasks on another connection in one transaction and measures until all succeeded. */
async function enqueueAndTime(n: number): Promise<number> {
  const t0 = Date.now();
  await other.query('begin');
  for (let i = 0; i < n; i++) await enqueueTask(other, { type: 'noop', payload: {} });
  await other.query('commit');
  await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === n, 5_000, 5);
  await db.pool.query(`delete from tasks`);
  return Date.now() - t0;
}

it('an idle worker polling every 30 s picks up a task enqueued elsewhere in < 500 ms, also after its LISTEN connection is killed', async () => {
  const { logger, lines } = captureLogger();
  const worker = createWorker({ db, logger, concurrency: 5, tasks: registry, deps: {}, pollIntervalMs: 30_000 });
  running.push(worker);
  await worker.start();
  const pid = await waitFor(listenerPid);
  await new Promise((r) => setTimeout(r, 50)); // all loops idle
  expect(await enqueueAndTime(1)).toBeLessThan(500);

  await db.pool.query('select pg_terminate_backend($1)', [pid]);
  // Enqueued while the listener is down: no NOTIFY reaches us, the fetch right after reconnecting must find it.
  const t0 = Date.now();
  await enqueueTask(other, { type: 'noop', payload: {} });
  await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === 1, 5_000, 5);
  expect(Date.now() - t0).toBeLessThan(1_500);
  await db.pool.query('delete from tasks');
  const newPid = await waitFor(async () => {
    const p = await listenerPid();
    return p !== undefined && p !== pid ? p : undefined;
  });
  expect(newPid).not.toBe(pid);
  expect(lines.some((l) => /LISTEN beacon_tasks connection lost/.test(l.msg))).toBe(true);

  // Back to milliseconds without a restart, for one task and for a burst of 100.
  expect(await enqueueAndTime(1)).toBeLessThan(500);
  expect(await enqueueAndTime(100)).toBeLessThan(2_000);
});

it('database errors while claiming are logged once per streak, backed off, and the loops resume', async () => {
  const own = createDatabase(db.url, { max: 6 });
  const realQuery = own.pool.query.bind(own.pool);
  const { logger, lines } = captureLogger();
  const worker = createWorker({ db: own, logger, concurrency: 3, tasks: registry, deps: {}, pollIntervalMs: 20, heartbeatMs: 50 });
  running.push(worker);
  await worker.start();

  let failing = true;
  let claims = 0;
  own.pool.query = ((...args: Parameters<typeof realQuery>) => {
    if (String(args[0]).includes('update tasks')) claims++;
    return failing ? Promise.reject(new Error('connect ECONNREFUSED')) : realQuery(...args);
  }) as typeof own.pool.query;
  await new Promise((r) => setTimeout(r, 1_000));
  const failLines = lines.filter((l) => /cannot claim tasks/.test(l.msg));
  expect(failLines).toHaveLength(3); // once per loop, not once per attempt
  expect(claims).toBeLessThan(3 * 15); // backed off: 100 ms, 200 ms, 400 ms … not every 20 ms

  failing = false;
  await enqueueTask(db.pool, { type: 'noop', payload: {} });
  await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === 1, 10_000);
  expect(lines.some((l) => /claiming again after/.test(l.msg))).toBe(true);
  await worker.stop(0);
  await own.close();
});
