// Table growth (river #59): claim latency stays flat with 200,000 finished rows, and prune_tasks deletes them in
// bounded batches. Scaled from the scenario's 1,000,000: a million rows took over two minutes here (insert plus
// 1,000 prune batches), too long for every CI run, and 200,000 already dwarfs the pending set the claim scans.
// Pushing tasks through the queue would take longer still, so the finished rows are inserted directly
// (backdated past the 7-day keep).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimNextTask } from '../src/storage/tasks.js';
import { registerWorker } from '../src/storage/workers.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { PRUNE_BATCH_SIZE, pruneTasksTask } from '../src/worker/tasks/prune-tasks.js';
import { createWorker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { captureLogger, waitFor } from './helpers/worker-fixtures.js';

const FINISHED = 200_000;
const RECENT = 1_000;
const CLAIMS = 200;
const WORKER = '00000000-0000-4000-8000-000000000001';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await registerWorker(db.pool, { id: WORKER, hostname: 'test', pid: process.pid, concurrency: 1 });
});
afterAll(async () => db.drop());

/** Median ms of CLAIMS one-at-a-time claims over CLAIMS fresh pending tasks. */
async function medianClaimMs(): Promise<number> {
  await db.pool.query(`insert into tasks (type, payload) select 'noop', '{}' from generate_series(1, $1::int)`, [CLAIMS]);
  const times: number[] = [];
  for (let i = 0; i < CLAIMS; i++) {
    const t0 = performance.now();
    const task = await claimNextTask(db.pool, WORKER, ['noop']);
    times.push(performance.now() - t0);
    expect(task).toBeDefined();
  }
  await db.pool.query(`delete from tasks where type = 'noop'`);
  times.sort((a, b) => a - b);
  return times[CLAIMS / 2]!;
}

it(`claim latency stays flat with ${FINISHED.toLocaleString('en')} finished rows, and prune_tasks deletes them in batches of ≤ ${PRUNE_BATCH_SIZE}`, async () => {
  const before = await medianClaimMs();
  await db.pool.query(
    `insert into tasks (type, payload, status, attempts, created_at, run_at, finished_at)
     select 'old', '{}', case when i % 10 = 0 then 'dead' else 'succeeded' end, 1, t, t, t
       from (select i, now() - interval '8 days' - i * interval '1 second' as t from generate_series(1, $1::int) i) s`,
    [FINISHED],
  );
  await db.pool.query(`insert into tasks (type, payload, status, attempts, finished_at) select 'recent', '{}', 'succeeded', 1, now() from generate_series(1, $1::int)`, [RECENT]);
  const after = await medianClaimMs();
  expect(after, `median claim ${before.toFixed(2)} ms before, ${after.toFixed(2)} ms after`).toBeLessThan(Math.max(2 * before, before + 3));

  // The real system task, run by a worker, every statement it sends counted.
  const deletes: number[] = [];
  const query = db.pool.query.bind(db.pool);
  const spy = (async (...args: Parameters<typeof query>) => {
    const res = await (query as (...a: unknown[]) => Promise<{ rowCount: number | null }>)(...args);
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
    if (/^\s*delete from tasks/i.test(text ?? '')) deletes.push(res.rowCount ?? 0);
    return res;
  }) as typeof query;
  db.pool.query = spy;
  const worker = createWorker({ db, logger: captureLogger('warn').logger, concurrency: 1, tasks: createTaskRegistry([pruneTasksTask]), deps: {}, pollIntervalMs: 100 });
  try {
    await worker.start();
    await waitFor(async () => {
      const { rows } = await query<{ status: string; run_at: Date }>(`select status, run_at from tasks where type = 'prune_tasks'`);
      return rows[0]?.status === 'pending' && rows[0].run_at > new Date();
    }, 120_000, 100);
  } finally {
    await worker.stop(0);
    db.pool.query = query;
  }
  expect(deletes.reduce((a, b) => a + b, 0)).toBe(FINISHED);
  expect(Math.max(...deletes)).toBeLessThanOrEqual(PRUNE_BATCH_SIZE);
  expect(deletes.length).toBe(FINISHED / PRUNE_BATCH_SIZE + 1); // full batches, then the one that found nothing
  const left = (await db.pool.query<{ type: string; n: number }>(`select type, count(*)::int as n from tasks group by 1 order by 1`)).rows;
  expect(left).toEqual([
    { type: 'prune_tasks', n: 1 },
    { type: 'recent', n: RECENT },
  ]);
}, 180_000);
