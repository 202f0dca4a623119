// Duplicate execution across real processes (issue 3, "What must be shown" #2): 3 worker processes × 5 loops,
// 10,000 `record` tasks, every side effect counted. queue-duplicates.test.ts proves the same in one process.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { createEffectsTable, eventually, executions, killQueueChildren, startQueueChild, type QueueChild } from './helpers/queue-processes.js';

const TASKS = 10_000;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await createEffectsTable(db.pool);
});
afterAll(async () => {
  await killQueueChildren();
  await db.drop();
});

it(`3 worker processes × 5 loops run each of ${TASKS} tasks exactly once`, async () => {
  await db.pool.query(`insert into tasks (type, payload) select 'record', '{}'::jsonb from generate_series(1, $1::int)`, [TASKS]);
  const env = { DATABASE_URL: db.url, CONCURRENCY: 5, POLL_MS: 200 };
  const workers: QueueChild[] = await Promise.all([0, 1, 2].map(() => startQueueChild(env)));

  await eventually(
    async () => (await db.pool.query<{ n: number }>(`select count(*)::int as n from tasks where type = 'record' and status = 'succeeded'`)).rows[0]!.n === TASKS,
    120_000,
    `${TASKS} succeeded tasks`,
    200,
  );
  for (const w of workers) w.signal('SIGTERM');
  const exits = await Promise.all(workers.map((w) => w.exited));
  expect(exits).toEqual([0, 1, 2].map(() => ({ code: 0, signal: null })));

  const { rows } = await db.pool.query<{ runs: number; distinct_tasks: number; pids: number }>(
    `select count(*)::int as runs, count(distinct task_id)::int as distinct_tasks, count(distinct worker_pid)::int as pids from task_effects where kind = 'record'`,
  );
  expect(rows[0]).toEqual({ runs: TASKS, distinct_tasks: TASKS, pids: 3 });
  const attempts = await db.pool.query<{ max: number; statuses: string[] }>(`select max(attempts)::int as max, array_agg(distinct status) as statuses from tasks where type = 'record'`);
  expect(attempts.rows[0]).toEqual({ max: 1, statuses: ['succeeded'] });
  // The operators' log line, once per task across the three processes, with the task id and attempt.
  const lines = workers.flatMap((w) => executions(w, 'record'));
  expect(lines).toHaveLength(TASKS);
  expect(new Set(lines.map((l) => l.taskId)).size).toBe(TASKS);
  expect(lines.every((l) => l.attempt === 1)).toBe(true);
}, 180_000);
