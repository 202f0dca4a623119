// Database outage under load (graphile-worker #185): a dedicated PostgreSQL is stopped for 60 s under 2 worker
// processes and started again on the same port. The loops back off (capped), never exit or fall silent, and then
// finish everything. In-process: queue-wakeup.test.ts "database errors while claiming…".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../src/log/index.js';
import { createDatabase, type Database } from '../src/storage/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/storage/embedded.js';
import { runMigrations } from '../src/storage/migrate.js';
import { createEffectsTable, enqueueMany, eventually, executions, killQueueChildren, startQueueChild, type QueueChild } from './helpers/queue-processes.js';

// The scenario's number. Every figure below (claim backoff capped at 5 s) stays meaningful at 60 s; the file runs
// beside the others, so the suite's wall time grows by much less than a minute.
const OUTAGE_MS = Number(process.env.QUEUE_OUTAGE_MS ?? 60_000);
const TASKS = 300;
const SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

const logger = createLogger({ level: 'warn' });
let tmp: string;
let cluster: EmbeddedPostgres | undefined;
let db: Database;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beacon-outage-'));
  fs.chmodSync(tmp, 0o755);
  cluster = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), logger, settings: SETTINGS });
  db = createDatabase(cluster.url, { max: 3, onError: () => undefined });
  await runMigrations(db);
  await createEffectsTable(db.pool);
});
afterAll(async () => {
  await killQueueChildren();
  await db?.close();
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it(`PostgreSQL stopped for ${OUTAGE_MS / 1000} s under load: both worker processes back off (capped), stay up and finish every task after the restart`, async () => {
  const env = { DATABASE_URL: cluster!.url, CONCURRENCY: 5, POLL_MS: 500, HEARTBEAT_MS: 500, STALE_AFTER_MS: 10_000 };
  const workers: QueueChild[] = await Promise.all([0, 1].map(() => startQueueChild(env)));
  await enqueueMany(db.pool, 'sleep', { ms: 300 }, TASKS);
  // Under load: both processes are running tasks when the database goes away.
  await eventually(async () => workers.every((w) => executions(w, 'sleep').length >= 10), 20_000, 'both processes busy');

  const port = cluster!.port;
  await cluster!.stop();
  const stoppedAt = Date.now();
  // Throughout the outage, both processes stay up (checked every second, not just at the end).
  while (Date.now() - stoppedAt < OUTAGE_MS) {
    for (const w of workers) expect(w.alive(), `worker ${w.pid} exited during the outage:\n${w.output().slice(-3_000)}`).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  for (const w of workers) {
    const during = w.logs().filter((l) => Date.parse(l.time) >= stoppedAt);
    const seen = [...new Set(during.map((l) => l.msg))].join('\n');
    expect(during.some((l) => /^Worker \d+ cannot claim tasks; backing off$|^Cannot record the task outcome; retrying$/.test(l.msg)), `worker ${w.pid} logged:\n${seen}`).toBe(true);
    // Not silent: still reporting in the last third of the outage.
    expect(during.some((l) => l.level >= 40 && Date.parse(l.time) >= stoppedAt + (OUTAGE_MS * 2) / 3)).toBe(true);
  }

  cluster = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), logger, settings: SETTINGS, port });
  const restartedAt = Date.now();
  expect(cluster.port).toBe(port);

  // Capped backoff: each process records work again within the 5 s cap (plus slack) of the restart; uncapped
  // doubling from 100 ms would have left its loops asleep for tens of seconds after a 60 s outage.
  for (const w of workers) {
    await eventually(
      async () => (await db.pool.query(`select 1 from task_effects where worker_pid = $1 and run_at >= $2::timestamptz`, [w.pid, new Date(restartedAt)])).rowCount! > 0,
      9_000,
      `worker ${w.pid} to resume after the restart`,
      100,
    );
  }
  // Both LISTEN connections are back (wake-ups in milliseconds again, not only the poll).
  await eventually(
    async () => (await db.pool.query(`select 1 from pg_stat_activity where application_name = 'beacon-listen' and query ilike 'listen%'`)).rowCount === 2,
    10_000,
    'both LISTEN connections to be back',
  );
  await eventually(
    async () => (await db.pool.query<{ n: number }>(`select count(*)::int as n from tasks where type = 'sleep' and status = 'succeeded'`)).rows[0]!.n === TASKS,
    60_000,
    `all ${TASKS} tasks succeeded after the restart`,
    250,
  );
  expect((await db.pool.query(`select 1 from tasks where status = 'running'`)).rowCount).toBe(0);
  for (const w of workers) expect(w.alive()).toBe(true);
  for (const w of workers) w.signal('SIGTERM');
  expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 1].map(() => ({ code: 0, signal: null })));
}, 180_000);
