// Memory (bullmq #3040): 100,000 no-op tasks through one worker leave the heap, after GC, within 10 % of where it started.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../src/log/index.js';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { statusCounts, waitFor } from './helpers/worker-fixtures.js';

// No --expose-gc on the vitest fork: switch it on now and take `gc` from a fresh context, which sees the flag.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const WARMUP = 5_000;
const TASKS = 100_000;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function settledHeap(): Promise<number> {
  // Several rounds: finalizers and weak callbacks free more on the next pass; timers get their turn in between.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;

it(`${TASKS} no-op tasks leave the heap within 10 % of where it started, and no timer behind`, async () => {
  let runs = 0;
  const noop = defineTask({ type: 'noop', payload: z.object({}), handler: async () => void runs++ });
  // A real logger at info: every task formats its `executing task` line (written nowhere, so nothing accumulates).
  const logger = createLogger({ level: 'info', destination: { write: () => undefined } });
  const worker = createWorker({ db, logger, concurrency: 5, tasks: createTaskRegistry([noop]), deps: {}, batchSize: 200, prefetch: 200 });
  const insert = (n: number) => db.pool.query(`insert into tasks (type, payload) select 'noop', '{}'::jsonb from generate_series(1, $1::int)`, [n]);

  await worker.start();
  // Warm up first: JIT code, pools, prepared statements and pino's caches are one-off growth, not per-task.
  await insert(WARMUP);
  await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === WARMUP, 30_000, 50);
  const before = await settledHeap();
  const timersBefore = timers();

  await insert(TASKS);
  // Fresh statistics: with the warm-up's (no pending rows) the planner sorts all 100,000 rows on every claim,
  // which autovacuum would fix within a minute; this test is about memory, not about that minute.
  await db.pool.query('analyze tasks');
  // Counting in process first: polling a 100,000-row table would compete with the worker for the database.
  await waitFor(() => runs === WARMUP + TASKS, 55_000, 50);
  await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === WARMUP + TASKS, 5_000, 20);
  const after = await settledHeap();
  const timersAfter = timers();
  await worker.stop(1_000);

  expect(runs).toBe(WARMUP + TASKS);
  expect(after).toBeLessThanOrEqual(before * 1.1);
  // Slack for pg's idle-client timers (one per idle pooled connection, pool max 10); a per-task leak would be thousands.
  expect(timersAfter).toBeLessThanOrEqual(timersBefore + 10);
}, 90_000);
