// Worker loops end to end on real Postgres: overlap, retries, dead tasks, recurring tasks, lease loss, stop().
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { enqueueTask } from '../src/storage/tasks.js';
import { sleep } from '../src/worker/backoff.js';
import { defineTask, PermanentTaskError } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { pruneTasksTask } from '../src/worker/tasks/prune-tasks.js';
import { createWorker, type Worker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { captureLogger, statusCounts, taskRow, waitFor } from './helpers/worker-fixtures.js';

const sleepTask = defineTask({
  type: 'sleep',
  payload: z.object({ ms: z.number() }),
  handler: ({ ms }, ctx) => sleep(ms, ctx.signal),
});

/** Fails until attempt `succeedOn`; `succeedOn: 0` never succeeds. */
const flakyTask = defineTask({
  type: 'flaky',
  payload: z.object({ succeedOn: z.number().int() }),
  maxAttempts: 3,
  async handler({ succeedOn }, ctx) {
    if (succeedOn === 0 || ctx.task.attempt < succeedOn) throw new Error(`attempt ${ctx.task.attempt} failed`);
  },
});

const permanentTask = defineTask({
  type: 'permanent',
  payload: z.object({}),
  async handler() {
    throw new PermanentTaskError('recipient rejected');
  },
});

/** Waits on its signal (or 5 s) and records how it ended. */
const holdEvents: string[] = [];
const holdTask = defineTask({
  type: 'hold',
  payload: z.object({ tag: z.string() }),
  async handler({ tag }, ctx) {
    await sleep(5_000, ctx.signal);
    holdEvents.push(`${tag}:${ctx.signal.aborted ? 'aborted' : 'done'}:${ctx.task.attempt}`);
    if (ctx.signal.aborted) throw new Error('aborted');
  },
});

const registry = createTaskRegistry([sleepTask, flakyTask, permanentTask, holdTask, pruneTasksTask]);

let db: TestDatabase;
const running: Worker[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  holdEvents.length = 0;
  await db.pool.query('truncate tasks, workers');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop(0)));
});

function startWorker(overrides: Partial<Parameters<typeof createWorker<typeof registry>>[0]> = {}) {
  const { logger, lines } = captureLogger();
  const worker = createWorker({
    db,
    logger,
    concurrency: 5,
    tasks: registry,
    deps: {},
    pollIntervalMs: 50,
    retry: { baseMs: 20, capMs: 50 },
    ...overrides,
  });
  running.push(worker);
  return { worker, lines };
}

describe('concurrent loops', () => {
  it('5 loops really overlap: 20 × 200 ms tasks take about a fifth of the serial time', async () => {
    for (let i = 0; i < 20; i++) await enqueueTask(db.pool, { type: 'sleep', payload: { ms: 200 } });
    const { worker, lines } = startWorker();
    const t0 = Date.now();
    await worker.start();
    await waitFor(async () => (await statusCounts(db.pool, 'sleep')).succeeded === 20, 10_000, 5);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(0.4 * 20 * 200);
    expect(elapsed).toBeGreaterThan(0.9 * 4 * 200);

    expect(lines.filter((l) => /^Worker starting with 5x concurrency$/.test(l.msg))).toHaveLength(1);
    const exec = lines.filter((l) => /^Worker \d+ executing task: sleep$/.test(l.msg));
    expect(exec).toHaveLength(20);
    for (const l of exec) expect(l).toMatchObject({ source: 'worker', attempt: 1, taskId: expect.any(Number), type: 'sleep', workerId: worker.id });
    const loopOf = (l: (typeof exec)[number]) => Number(/^Worker (\d+)/.exec(l.msg)?.[1]);
    expect(new Set(exec.map(loopOf)).size).toBeGreaterThanOrEqual(3);
    // Interleaved in time: the first five start within one task's duration of each other, from ≥ 3 loops.
    const firstFive = exec.slice(0, 5);
    const span = Date.parse(firstFive[4]!.time) - Date.parse(firstFive[0]!.time);
    expect(span).toBeLessThan(200);
    expect(new Set(firstFive.map(loopOf)).size).toBeGreaterThanOrEqual(3);
  });
});

describe('failures', () => {
  it('retries with backoff, then succeeds', async () => {
    const t = (await enqueueTask(db.pool, { type: 'flaky', payload: { succeedOn: 3 }, maxAttempts: 3 }))!;
    const { worker, lines } = startWorker();
    await worker.start();
    await waitFor(async () => (await taskRow(db.pool, t.id)).status === 'succeeded');
    expect(await taskRow(db.pool, t.id)).toMatchObject({ attempts: 3, last_error: 'Error: attempt 2 failed' });
    expect(lines.filter((l) => /retrying/.test(l.msg)).map((l) => l.attempt)).toEqual([1, 2]);
  });

  it('past max attempts the task is dead, with its last error kept', async () => {
    const t = (await enqueueTask(db.pool, { type: 'flaky', payload: { succeedOn: 0 }, maxAttempts: 3 }))!;
    const { worker } = startWorker();
    await worker.start();
    await waitFor(async () => (await taskRow(db.pool, t.id)).status === 'dead');
    expect(await taskRow(db.pool, t.id)).toMatchObject({ attempts: 3, last_error: 'Error: attempt 3 failed' });
  });

  it('an invalid payload is dead at once', async () => {
    const t = (await enqueueTask(db.pool, { type: 'flaky', payload: { succeedOn: 'soon' } }))!;
    const { worker } = startWorker();
    await worker.start();
    await waitFor(async () => (await taskRow(db.pool, t.id)).status === 'dead');
    const row = await taskRow(db.pool, t.id);
    expect(row.attempts).toBe(1);
    expect(row.last_error).toMatch(/^invalid payload: .*succeedOn/s);
  });

  it('a PermanentTaskError is dead at once', async () => {
    const t = (await enqueueTask(db.pool, { type: 'permanent', payload: {} }))!;
    const { worker } = startWorker();
    await worker.start();
    await waitFor(async () => (await taskRow(db.pool, t.id)).status === 'dead');
    expect(await taskRow(db.pool, t.id)).toMatchObject({ attempts: 1, last_error: 'PermanentTaskError: recipient rejected' });
  });
});

describe('system tasks', () => {
  it('prune_tasks runs, deletes old finished tasks, and reschedules its one row to the next hour', async () => {
    await db.pool.query(
      `insert into tasks (type, status, finished_at) select 'x', 'succeeded', now() - interval '8 days' from generate_series(1, 2500)`,
    );
    const { worker } = startWorker();
    await worker.start();
    const row = await waitFor(async () => {
      const { rows } = await db.pool.query<{ status: string; run_at: Date; attempts: number }>(`select * from tasks where type = 'prune_tasks'`);
      return rows.length === 1 && rows[0]!.status === 'pending' && rows[0]!.run_at > new Date() ? rows[0] : undefined;
    });
    expect(row.attempts).toBe(0);
    expect(row.run_at.getTime() % 3_600_000).toBe(0);
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from tasks');
    expect(rows[0]?.n).toBe(1);
  });
});

describe('leases', () => {
  it('a worker declared dead aborts its in-flight task, rejoins, and the task is re-run (first finish rejected)', async () => {
    const t = (await enqueueTask(db.pool, { type: 'hold', payload: { tag: 't' } }))!;
    const { worker, lines } = startWorker({ heartbeatMs: 50, concurrency: 1 });
    await worker.start();
    const firstId = worker.id;
    await waitFor(async () => (await taskRow(db.pool, t.id)).status === 'running');
    // Another process decided we were dead: our row is gone (its tasks are recovered by whoever looks next).
    await db.pool.query('delete from workers where id = $1', [firstId]);
    await waitFor(() => holdEvents.includes('t:aborted:1'));
    expect(worker.id).not.toBe(firstId);
    // The recovered task is claimed again (attempt 2) by the rejoined worker; stop it so the test ends.
    await waitFor(async () => (await taskRow(db.pool, t.id)).attempts === 2);
    expect(lines.some((l) => /declared dead/.test(l.msg))).toBe(true);
  });
});

describe('stop()', () => {
  it('with 5 tasks in flight, stop(200) resolves soon after 200 ms, tasks go back to pending, no new claims', async () => {
    for (let i = 0; i < 5; i++) await enqueueTask(db.pool, { type: 'hold', payload: { tag: `h${i}` } });
    const { worker } = startWorker();
    await worker.start();
    await waitFor(async () => (await statusCounts(db.pool, 'hold')).running === 5);
    const t0 = Date.now();
    const stopping = worker.stop(200);
    expect(worker.stop(200)).toBe(stopping);
    await stopping;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(700);
    const { rows } = await db.pool.query<{ status: string; attempts: number; locked_by: string | null }>(
      `select status, attempts, locked_by from tasks where type = 'hold'`,
    );
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r).toEqual({ status: 'pending', attempts: 0, locked_by: null });
    expect((await db.pool.query('select * from workers')).rowCount).toBe(0);

    await enqueueTask(db.pool, { type: 'sleep', payload: { ms: 1 } });
    worker.wake();
    await sleep(200);
    expect(await statusCounts(db.pool, 'hold')).toEqual({ pending: 5 });
    expect(await statusCounts(db.pool, 'sleep')).toEqual({ pending: 1 });
  });

  it('tasks that finish within the grace period complete normally', async () => {
    for (let i = 0; i < 3; i++) await enqueueTask(db.pool, { type: 'sleep', payload: { ms: 100 } });
    const { worker } = startWorker();
    await worker.start();
    await waitFor(async () => (await statusCounts(db.pool, 'sleep')).running === 3);
    await worker.stop(2_000);
    expect(await statusCounts(db.pool, 'sleep')).toEqual({ succeeded: 3 });
  });
});
