// System tasks exactly once across 3 processes started at the same instant (oban #1488, solid_queue #615), and
// backoff overflow (river #697, bull #452) end to end. In-process: queue-storage.test.ts "system tasks",
// src/worker/backoff.test.ts (the arithmetic).
import { expect, it, vi } from 'vitest';
import { z } from 'zod';
import { enqueueTask } from '../src/storage/tasks.js';
import { MAX_TIMER_MS } from '../src/worker/backoff.js';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker } from '../src/worker/worker.js';
import { captureLogger, taskRow, waitFor } from './helpers/worker-fixtures.js';
import { useQueueDatabase, eventually, startQueueChild } from './helpers/queue-processes.js';

const realSetTimeout = globalThis.setTimeout;

const ctx = useQueueDatabase();

it('3 processes started at once make exactly one row per system task, and a 1 s recurring task runs once per slot', async () => {
  const TICK_MS = 1_000;
  const SLOTS = 5;
  const workers = await Promise.all([0, 1, 2].map(() => startQueueChild({ DATABASE_URL: ctx.db.url, CONCURRENCY: 5, POLL_MS: 100, TICK_MS })));
  // pino's line and the ready line are separate writes to stdout: the log line may arrive just after the ready one.
  await eventually(async () => workers.every((w) => w.logs().some((l) => /^Worker starting with 5x concurrency$/.test(l.msg))), 5_000, 'the start log line of every process');
  const keys = (await ctx.db.pool.query<{ type: string; unique_key: string; n: number }>(
    `select type, unique_key, count(*)::int as n from tasks where unique_key is not null group by 1, 2 order by 1`,
  )).rows;
  expect(keys).toEqual([
    { type: 'prune_tasks', unique_key: 'system:prune_tasks', n: 1 },
    { type: 'tick', unique_key: 'system:test_tick', n: 1 },
  ]);

  // Every process polls every 100 ms and races for the one row; the database decides who runs each slot.
  await eventually(async () => (await ctx.db.pool.query(`select 1 from task_effects where kind = 'tick'`)).rowCount! >= SLOTS + 1, 20_000, `${SLOTS + 1} tick runs`);
  for (const w of workers) w.signal('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  const runs = (await ctx.db.pool.query<{ task_id: number; slot: Date; worker_pid: number }>(`select task_id, slot, worker_pid from task_effects where kind = 'tick' order by slot`)).rows;
  const slots = runs.map((r) => r.slot.getTime());
  expect(new Set(slots).size).toBe(runs.length); // one run per scheduled time
  expect(new Set(runs.map((r) => r.task_id)).size).toBe(1); // one row forever
  // After the first run (due at creation), every slot is a multiple of the interval, one interval apart.
  for (const [i, s] of slots.slice(1).entries()) {
    expect(s % TICK_MS).toBe(0);
    if (i > 0) expect(s - slots[i]!).toBe(TICK_MS);
  }
  expect((await ctx.db.pool.query(`select 1 from tasks where type = 'tick'`)).rowCount).toBe(1);
}, 60_000);

it('a task failing its 1,000th time gets a finite, capped, non-negative retry time; no timer is ever given more than 2^31−1 ms', async () => {
  const failing = (type: string, retry?: { capMs: number }) =>
    defineTask({
      type,
      payload: z.object({}),
      maxAttempts: 1_001,
      ...(retry ? { retry } : {}),
      handler: async (_p, ctx) => {
        throw new Error(`attempt ${ctx.task.attempt} failed`);
      },
    });
  // Default backoff (cap 1 h), and a task whose own cap is far past what a timer can hold (2^40 ms ≈ 35 years).
  const registry = createTaskRegistry([failing('fail_default'), failing('fail_huge', { capMs: 2 ** 40 })]);
  const timers: number[] = [];
  const spy = vi.spyOn(globalThis, 'setTimeout');
  spy.mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
    timers.push(ms ?? 0);
    return realSetTimeout(fn, ms, ...(args as []));
  }) as typeof setTimeout);
  const { logger } = captureLogger('warn');
  // Poll and heartbeat intervals past the timer limit too: they must be clamped, not overflow to 1 ms.
  const worker = createWorker({ db: ctx.db, logger, concurrency: 2, tasks: registry, deps: {}, pollIntervalMs: 2 ** 40, heartbeatMs: 2 ** 40 });
  try {
    await worker.start();
    const ids: Record<string, number> = {};
    for (const type of ['fail_default', 'fail_huge']) {
      const { id } = (await ctx.db.pool.query<{ id: number }>(`insert into tasks (type, payload, attempts, max_attempts) values ($1, '{}', 999, 1001) returning id`, [type])).rows[0]!;
      ids[type] = id;
    }
    worker.wake();
    const t0 = Date.now();
    for (const [type, cap] of [['fail_default', 3_600_000], ['fail_huge', MAX_TIMER_MS]] as const) {
      const row = await waitFor(async () => {
        const r = await taskRow(ctx.db.pool, ids[type]!);
        return r.attempts === 1_000 && r.status === 'pending' ? r : undefined;
      }, 10_000);
      const delay = row.run_at.getTime() - t0;
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(cap + 10_000);
      // Equal jitter: at least half the cap, so it did grow to the cap rather than wrap around to something small.
      expect(delay).toBeGreaterThanOrEqual(cap / 2 - 10_000);
      expect(row.last_error).toBe('Error: attempt 1000 failed');
    }
    // The 1,001st attempt is the last: dead, error kept.
    await ctx.db.pool.query(`update tasks set run_at = now() where type like 'fail_%'`);
    await enqueueTask(ctx.db.pool, { type: 'fail_default', payload: {}, runAt: new Date(Date.now() + 3_600_000) }); // only to NOTIFY
    worker.wake();
    for (const id of Object.values(ids)) {
      const row = await waitFor(async () => {
        const r = await taskRow(ctx.db.pool, id);
        return r.status === 'dead' ? r : undefined;
      }, 10_000);
      expect(row).toMatchObject({ attempts: 1_001, last_error: 'Error: attempt 1001 failed' });
    }
  } finally {
    await worker.stop(0);
    spy.mockRestore();
  }
  expect(timers.length).toBeGreaterThan(0);
  expect(Math.max(...timers)).toBeLessThanOrEqual(MAX_TIMER_MS);
  expect(Math.min(...timers)).toBeGreaterThanOrEqual(0);
}, 60_000);
