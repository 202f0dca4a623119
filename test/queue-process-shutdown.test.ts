// Graceful shutdown of a real worker process on SIGTERM (pg-boss #303): no new claims after the signal, in-flight
// tasks finish within SHUTDOWN_GRACE_MS or go back to `pending` when it runs out, exit 0. In-process: queue-worker.test.ts "stop()".
import { expect, it } from 'vitest';
import { enqueueTask } from '../src/storage/tasks.js';
import { useQueueDatabase, enqueueMany, eventually, executions, startQueueChild, type QueueChild } from './helpers/queue-processes.js';

const ctx = useQueueDatabase();

/** Index of the child's "signal received" log line: every execution must come before it. */
function signalIndex(child: QueueChild): number {
  return child.logs().findIndex((l) => l.msg === 'queue-child: signal received; stopping');
}

it('SIGTERM with 5 tasks in flight and a 10 s grace: they finish, nothing new is claimed, exit 0 long before the grace ends', async () => {
  const worker = await startQueueChild({ DATABASE_URL: ctx.db.url, CONCURRENCY: 5, POLL_MS: 200, SHUTDOWN_GRACE_MS: 10_000 });
  // 10 tasks for 5 loops: 5 run, the rest wait (some may sit claimed in the local queue: they must go back).
  const ids = await enqueueMany(ctx.db.pool, 'sleep', { ms: 1_500 }, 10);
  await eventually(async () => executions(worker, 'sleep').length === 5, 10_000, '5 tasks in flight');
  const started = executions(worker, 'sleep').map((l) => l.taskId);

  worker.signal('SIGTERM');
  const t0 = Date.now();
  await worker.waitForLog((l) => l.msg === 'queue-child: signal received; stopping');
  // Enqueued (and notified) after the signal: must not be claimed.
  const late = (await enqueueTask(ctx.db.pool, { type: 'sleep', payload: { ms: 1 } }))!;
  expect(await worker.exited).toEqual({ code: 0, signal: null });
  const took = Date.now() - t0;
  expect(took).toBeLessThan(6_000); // the tasks' 1.5 s, not the 10 s grace

  const effects = (await ctx.db.pool.query<{ task_id: number }>(`select task_id from task_effects order by task_id`)).rows.map((r) => r.task_id);
  expect(effects).toEqual([...started].sort((a, b) => a - b));
  const logs = worker.logs();
  const after = logs.slice(signalIndex(worker)).filter((l) => /executing task/.test(l.msg));
  expect(after).toEqual([]);
  const rows = (await ctx.db.pool.query<{ id: number; status: string; attempts: number; locked_by: string | null }>(`select id, status, attempts, locked_by from tasks where type = 'sleep' order by id`)).rows;
  for (const r of rows) {
    if (started.includes(r.id)) expect(r).toMatchObject({ status: 'succeeded', attempts: 1, locked_by: null });
    else expect(r).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
  }
  expect(rows.map((r) => r.id)).toEqual([...ids, late.id]);
  expect((await ctx.db.pool.query('select 1 from workers')).rowCount).toBe(0);
}, 60_000);

it('SIGTERM with 5 tasks longer than a 1 s grace: aborted and back to pending (attempt given back) at once, exit 0', async () => {
  // The scenario's grace is 10 s; 1 s keeps the test short and the behaviour is the same.
  const worker = await startQueueChild({ DATABASE_URL: ctx.db.url, CONCURRENCY: 5, POLL_MS: 200, SHUTDOWN_GRACE_MS: 1_000 });
  await enqueueMany(ctx.db.pool, 'sleep', { ms: 60_000 }, 5);
  await eventually(async () => executions(worker, 'sleep').length === 5, 10_000, '5 tasks in flight');

  worker.signal('SIGTERM');
  const t0 = Date.now();
  expect(await worker.exited).toEqual({ code: 0, signal: null });
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(900);
  expect(took).toBeLessThan(4_000);

  const rows = (await ctx.db.pool.query<{ status: string; attempts: number; locked_by: string | null }>(`select status, attempts, locked_by from tasks where type = 'sleep'`)).rows;
  expect(rows).toEqual(Array.from({ length: 5 }, () => ({ status: 'pending', attempts: 0, locked_by: null })));
  expect((await ctx.db.pool.query('select 1 from task_effects')).rowCount).toBe(0);
  expect(worker.logs().find((l) => l.msg === 'Worker stopped')).toMatchObject({ released: 5 });
  expect(worker.logs().slice(signalIndex(worker)).filter((l) => /executing task/.test(l.msg))).toEqual([]);
}, 60_000);
