// No duplicate execution: 3 workers (own pools) × 5 loops race for 2,000 tasks; every task's side effect happens once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabase, type Database } from '../src/storage/db.js';
import { defineTask } from '../src/worker/define-task.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { createWorker } from '../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { captureLogger, statusCounts, waitFor } from './helpers/worker-fixtures.js';

const TASKS = 2_000;

const sideEffectTask = defineTask({
  type: 'side_effect',
  payload: z.object({ n: z.number() }),
  async handler({ n }, ctx) {
    await ctx.db.pool.query('insert into side_effects (task_id, n, worker_id) values ($1, $2, $3)', [ctx.task.id, n, ctx.logger.bindings().workerId]);
  },
});

let db: TestDatabase;
const pools: Database[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  // No unique constraint on purpose: a duplicate run must show up as a second row, not an error.
  await db.pool.query('create table side_effects (task_id bigint not null, n int not null, worker_id text)');
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await db.drop();
});

it(`3 workers × 5 loops run each of ${TASKS} tasks exactly once`, async () => {
  await db.pool.query(
    `insert into tasks (type, payload) select 'side_effect', jsonb_build_object('n', i) from generate_series(1, $1::int) i`,
    [TASKS],
  );
  const registry = createTaskRegistry([sideEffectTask]);
  const workers = [0, 1, 2].map(() => {
    const own = createDatabase(db.url, { max: 7 });
    pools.push(own);
    return createWorker({ db: own, logger: captureLogger('warn').logger, concurrency: 5, tasks: registry, deps: {}, pollIntervalMs: 100 });
  });
  await Promise.all(workers.map((w) => w.start()));
  await waitFor(async () => (await statusCounts(db.pool, 'side_effect')).succeeded === TASKS, 30_000, 50);
  await Promise.all(workers.map((w) => w.stop(1_000)));

  const { rows } = await db.pool.query<{ runs: number; distinct_tasks: number; workers: number }>(
    'select count(*)::int as runs, count(distinct task_id)::int as distinct_tasks, count(distinct worker_id)::int as workers from side_effects',
  );
  expect(rows[0]).toEqual({ runs: TASKS, distinct_tasks: TASKS, workers: 3 });
  const attempts = await db.pool.query<{ max: number }>(`select max(attempts)::int as max from tasks where type = 'side_effect'`);
  expect(attempts.rows[0]?.max).toBe(1);
});
