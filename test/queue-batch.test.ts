// Batch claim and batched completion: one statement claims many, guards hold per row, the local queue hands back what it holds.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { claimTasks, completeTasks, enqueueTask } from '../src/storage/tasks.js';
import { registerWorker } from '../src/storage/workers.js';
import { sleep } from '../src/worker/backoff.js';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker, type Worker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { captureLogger, statusCounts, waitFor } from './helpers/worker-fixtures.js';

let db: TestDatabase;
const running: Worker[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.pool.query('truncate tasks, workers');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop(0)));
});

async function newWorker(): Promise<string> {
  const id = randomUUID();
  await registerWorker(db.pool, { id, hostname: 'test', pid: 1, concurrency: 1 });
  return id;
}

describe('claimTasks and completeTasks', () => {
  it('claims up to the limit in priority/run_at/id order, only due tasks of the asked types, counting attempts', async () => {
    const w = await newWorker();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await enqueueTask(db.pool, { type: 't', payload: { i }, priority: i === 3 ? 9 : 0 }))!.id);
    await enqueueTask(db.pool, { type: 't', payload: {}, runAt: new Date(Date.now() + 60_000), priority: 99 });
    await enqueueTask(db.pool, { type: 'other', payload: {}, priority: 99 });
    const first = await claimTasks(db.pool, w, ['t'], 3);
    expect(first.map((t) => t.id)).toEqual([ids[3], ids[0], ids[1]]);
    expect(first.every((t) => t.attempt === 1 && t.type === 't')).toBe(true);
    expect((await claimTasks(db.pool, w, ['t'], 10)).map((t) => t.id)).toEqual([ids[2], ids[4]]);
    expect(await claimTasks(db.pool, w, ['t'], 10)).toEqual([]);
    expect(await claimTasks(db.pool, w, ['t'], 0)).toEqual([]);
  });

  it('two claimers at once never share a row; a worker with no row claims nothing', async () => {
    await db.pool.query(`insert into tasks (type) select 't' from generate_series(1, 500)`);
    const [a, b] = [await newWorker(), await newWorker()];
    expect(await claimTasks(db.pool, randomUUID(), undefined, 10)).toEqual([]);
    const batches = await Promise.all(Array.from({ length: 10 }, (_, i) => claimTasks(db.pool, i % 2 ? a : b, undefined, 60)));
    const all = batches.flat().map((t) => t.id);
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
  });

  it('completeTasks answers per row: only the owner’s running tasks are completed', async () => {
    const [a, b] = [await newWorker(), await newWorker()];
    await db.pool.query(`insert into tasks (type) select 't' from generate_series(1, 4)`);
    const mine = await claimTasks(db.pool, a, undefined, 3);
    const theirs = await claimTasks(db.pool, b, undefined, 1);
    const ids = [...mine.map((t) => t.id), theirs[0]!.id];
    const accepted = await completeTasks(db.pool, ids, a);
    expect([...accepted].sort((x, y) => x - y)).toEqual(mine.map((t) => t.id).sort((x, y) => x - y));
    expect((await completeTasks(db.pool, ids, a)).size).toBe(0); // already succeeded
    expect(await statusCounts(db.pool)).toEqual({ succeeded: 3, running: 1 });
  });
});

describe('worker batching', () => {
  const seen: number[] = [];
  const noop = defineTask({ type: 'noop', payload: z.object({}), handler: async (_p, ctx) => void seen.push(ctx.task.id) });
  // Throws when aborted: a handler that returns normally after the abort counts as a success (runTask's contract).
  const hold = defineTask({
    type: 'hold',
    payload: z.object({}),
    async handler(_p, ctx) {
      await sleep(5_000, ctx.signal);
      if (ctx.signal.aborted) throw new Error('aborted');
    },
  });
  const registry = createTaskRegistry([noop, hold]);
  const start = (overrides: Partial<Parameters<typeof createWorker<typeof registry>>[0]>) => {
    const worker = createWorker({ db, logger: captureLogger('warn').logger, concurrency: 5, tasks: registry, deps: {}, pollIntervalMs: 50, ...overrides });
    running.push(worker);
    return worker;
  };

  it.each([1, 50])('batchSize %i runs every task once and records every completion', async (batchSize) => {
    seen.length = 0;
    await db.pool.query(`insert into tasks (type) select 'noop' from generate_series(1, 1000)`);
    await start({ batchSize, prefetch: batchSize }).start();
    await waitFor(async () => (await statusCounts(db.pool, 'noop')).succeeded === 1000, 20_000, 20);
    expect(seen).toHaveLength(1000);
    expect(new Set(seen).size).toBe(1000);
  });

  it('holds at most min(batchSize, idle loops + prefetch) unstarted, and stop() hands them back with their attempt', async () => {
    await db.pool.query(`insert into tasks (type) select 'hold' from generate_series(1, 20)`);
    const worker = start({ concurrency: 2, batchSize: 10, prefetch: 3 });
    await worker.start();
    await waitFor(async () => (await statusCounts(db.pool, 'hold')).running !== undefined);
    await sleep(200);
    // 2 loops busy + at most 3 waiting in the local queue: the other 15 stay for other processes.
    expect(await statusCounts(db.pool, 'hold')).toEqual({ running: 5, pending: 15 });
    await worker.stop(0);
    const { rows } = await db.pool.query<{ status: string; attempts: number; n: number }>(
      `select status, attempts, count(*)::int as n from tasks group by 1, 2`,
    );
    expect(rows).toEqual([{ status: 'pending', attempts: 0, n: 20 }]);
  });
});
