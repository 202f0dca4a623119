// The queue's SQL on real Postgres: claim order and index, guards, recovery, recurring rows, pruning.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  claimNextTask,
  completeTask,
  enqueueTask,
  failTask,
  pruneFinishedTasks,
  releaseTask,
  rescheduleRecurringTask,
  taskCounts,
} from '../src/storage/tasks.js';
import { deregisterWorker, heartbeatWorker, recoverStaleTasks, registerWorker } from '../src/storage/workers.js';
import { createTaskRegistry } from '../src/worker/registry.js';
import { ensureSystemTasks } from '../src/worker/system-tasks.js';
import { pruneTasksTask } from '../src/worker/tasks/prune-tasks.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { taskRow } from './helpers/worker-fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.pool.query('truncate tasks, workers');
});

async function newWorker(): Promise<string> {
  const id = randomUUID();
  await registerWorker(db.pool, { id, hostname: 'test', pid: 1, concurrency: 1 });
  return id;
}

describe('enqueue and claim', () => {
  it('claims by priority, then run_at, skips future tasks, counts the attempt', async () => {
    const w = await newWorker();
    const low = await enqueueTask(db.pool, { type: 't', payload: { n: 1 } });
    const high = await enqueueTask(db.pool, { type: 't', payload: { n: 2 }, priority: 5 });
    await enqueueTask(db.pool, { type: 't', payload: {}, runAt: new Date(Date.now() + 60_000), priority: 99 });
    const first = await claimNextTask(db.pool, w);
    expect(first).toMatchObject({ id: high?.id, attempt: 1, payload: { n: 2 }, maxAttempts: 5 });
    expect((await claimNextTask(db.pool, w))?.id).toBe(low?.id);
    expect(await claimNextTask(db.pool, w)).toBeUndefined();
  });

  it('claims only the types asked for', async () => {
    const w = await newWorker();
    await enqueueTask(db.pool, { type: 'other', payload: {} });
    expect(await claimNextTask(db.pool, w, ['mine'])).toBeUndefined();
    expect((await claimNextTask(db.pool, w, ['other']))?.type).toBe('other');
  });

  it('does not claim for a worker whose row is gone (declared dead)', async () => {
    await enqueueTask(db.pool, { type: 't', payload: {} });
    expect(await claimNextTask(db.pool, randomUUID())).toBeUndefined();
  });

  it('a unique key enqueues once', async () => {
    expect(await enqueueTask(db.pool, { type: 't', payload: {}, uniqueKey: 'k' })).toBeDefined();
    expect(await enqueueTask(db.pool, { type: 't', payload: {}, uniqueKey: 'k' })).toBeUndefined();
  });

  it('the claim subquery uses the partial claim index', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('set enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain select id from tasks where status = 'pending' and run_at <= now()
          order by priority desc nulls last, run_at, id limit 1 for update skip locked`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('tasks_claim_idx');
    } finally {
      client.release();
    }
  });

  it('counts tasks by status and type', async () => {
    await enqueueTask(db.pool, { type: 'a', payload: {} });
    await enqueueTask(db.pool, { type: 'a', payload: {} });
    expect(await taskCounts(db.pool)).toEqual([{ status: 'pending', type: 'a', count: 2 }]);
  });
});

describe('guarded finishes', () => {
  it('complete, fail (retry and dead) and release only match the owner of a running task', async () => {
    const a = await newWorker();
    const b = await newWorker();
    const t = (await enqueueTask(db.pool, { type: 't', payload: {}, maxAttempts: 2 }))!;
    await claimNextTask(db.pool, a);
    expect(await completeTask(db.pool, t.id, b)).toBe(false);
    const retryAt = new Date(Date.now() + 1_000);
    expect(await failTask(db.pool, t.id, a, 'boom', retryAt)).toBe(true);
    expect(await failTask(db.pool, t.id, a, 'again', null)).toBe(false); // no longer running
    expect(await taskRow(db.pool, t.id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'boom', locked_by: null, run_at: retryAt });

    await db.pool.query('update tasks set run_at = now()');
    await claimNextTask(db.pool, a);
    expect(await releaseTask(db.pool, t.id, a)).toBe(true);
    expect(await taskRow(db.pool, t.id)).toMatchObject({ status: 'pending', attempts: 1 }); // release gives the attempt back
    await claimNextTask(db.pool, a);
    expect(await failTask(db.pool, t.id, a, 'fatal', null)).toBe(true);
    expect(await taskRow(db.pool, t.id)).toMatchObject({ status: 'dead', last_error: 'fatal' });
  });

  it('a late finish after the lease was lost is rejected', async () => {
    const a = await newWorker();
    const t = (await enqueueTask(db.pool, { type: 't', payload: {} }))!;
    await claimNextTask(db.pool, a);
    await db.pool.query(`update workers set heartbeat_at = now() - interval '1 hour' where id = $1`, [a]);
    expect(await recoverStaleTasks(db.pool, 10_000)).toBe(1);
    expect(await heartbeatWorker(db.pool, a)).toBe(false);
    expect(await completeTask(db.pool, t.id, a)).toBe(false);
    // Another worker takes it over; A's late finish still cannot touch it.
    const b = await newWorker();
    expect((await claimNextTask(db.pool, b))?.attempt).toBe(2);
    expect(await completeTask(db.pool, t.id, a)).toBe(false);
    expect(await completeTask(db.pool, t.id, b)).toBe(true);
  });
});

describe('recovery', () => {
  it('returns a dead worker’s running tasks to pending (or dead on the last attempt) and keeps live workers’ tasks', async () => {
    const dead = await newWorker();
    const live = await newWorker();
    const t1 = (await enqueueTask(db.pool, { type: 't', payload: {}, priority: 3 }))!;
    const t2 = (await enqueueTask(db.pool, { type: 't', payload: {}, priority: 2, maxAttempts: 1 }))!;
    const t3 = (await enqueueTask(db.pool, { type: 't', payload: {}, priority: 1 }))!;
    await claimNextTask(db.pool, dead);
    await claimNextTask(db.pool, dead);
    await claimNextTask(db.pool, live);
    await db.pool.query(`update workers set heartbeat_at = now() - interval '1 minute' where id = $1`, [dead]);

    // Several processes recovering at the same instant handle each task once.
    const counts = await Promise.all([1, 2, 3].map(() => recoverStaleTasks(db.pool, 10_000)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
    expect(await taskRow(db.pool, t1.id)).toMatchObject({ status: 'pending', locked_by: null });
    expect((await taskRow(db.pool, t1.id)).last_error).toMatch(/died/);
    expect(await taskRow(db.pool, t2.id)).toMatchObject({ status: 'dead' });
    expect(await taskRow(db.pool, t3.id)).toMatchObject({ status: 'running', locked_by: live });
    const { rows } = await db.pool.query('select id from workers');
    expect(rows).toEqual([{ id: live }]);
  });

  it('recovers tasks locked by a worker with no row at all', async () => {
    const w = await newWorker();
    const t = (await enqueueTask(db.pool, { type: 't', payload: {} }))!;
    await claimNextTask(db.pool, w);
    await db.pool.query('delete from workers');
    expect(await recoverStaleTasks(db.pool, 10_000)).toBe(1);
    expect((await taskRow(db.pool, t.id)).status).toBe('pending');
  });

  it('deregister releases the worker’s running tasks', async () => {
    const w = await newWorker();
    const t = (await enqueueTask(db.pool, { type: 't', payload: {} }))!;
    await claimNextTask(db.pool, w);
    expect(await deregisterWorker(db.pool, w)).toBe(1);
    expect(await taskRow(db.pool, t.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });
});

describe('system tasks', () => {
  const registry = createTaskRegistry([pruneTasksTask]);

  it('ensureSystemTasks from 3 processes at once makes exactly one row per system task', async () => {
    const dbs = [db, await createTestDatabaseHandle(), await createTestDatabaseHandle()];
    try {
      const created = await Promise.all(dbs.map((d) => ensureSystemTasks(d, registry)));
      expect(created.flat()).toEqual(['prune_tasks']);
      await Promise.all(dbs.map((d) => ensureSystemTasks(d, registry)));
      const { rows } = await db.pool.query(`select type, unique_key, status from tasks`);
      expect(rows).toEqual([{ type: 'prune_tasks', unique_key: 'system:prune_tasks', status: 'pending' }]);
    } finally {
      await Promise.all(dbs.slice(1).map((d) => d.close()));
    }
  });

  it('a recurring task reschedules its one row', async () => {
    await ensureSystemTasks(db, registry);
    const w = await newWorker();
    const claimed = (await claimNextTask(db.pool, w))!;
    const next = new Date(Date.now() + 3_600_000);
    expect(await rescheduleRecurringTask(db.pool, claimed.id, w, next)).toBe(true);
    expect(await rescheduleRecurringTask(db.pool, claimed.id, w, next)).toBe(false);
    const { rows } = await db.pool.query<{ id: number; status: string; attempts: number; run_at: Date }>('select id, status, attempts, run_at from tasks');
    expect(rows).toEqual([{ id: claimed.id, status: 'pending', attempts: 0, run_at: next }]);
  });
});

describe('pruning', () => {
  it('deletes old finished tasks without a unique key, in bounded batches', async () => {
    await db.pool.query(
      `insert into tasks (type, status, finished_at, unique_key)
       select 't', case when i % 2 = 0 then 'succeeded' else 'dead' end, now() - interval '8 days', null from generate_series(1, 25) i
       union all select 't', 'succeeded', now(), null
       union all select 't', 'succeeded', now() - interval '8 days', 'keep-me'
       union all select 't', 'pending', null, null`,
    );
    const olderThan = new Date(Date.now() - 7 * 86_400_000);
    expect(await pruneFinishedTasks(db.pool, olderThan, 10)).toBe(10);
    expect(await pruneFinishedTasks(db.pool, olderThan, 10)).toBe(10);
    expect(await pruneFinishedTasks(db.pool, olderThan, 10)).toBe(5);
    expect(await pruneFinishedTasks(db.pool, olderThan, 10)).toBe(0);
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from tasks');
    expect(rows[0]?.n).toBe(3);
  });
});

/** A second pool on the same test database: a stand-in for another process. */
async function createTestDatabaseHandle() {
  const { createDatabase } = await import('../src/storage/db.js');
  return createDatabase(db.url, { max: 2 });
}
