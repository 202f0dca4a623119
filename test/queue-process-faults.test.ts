// Faults across real worker processes: a SIGKILLed process, a process frozen (SIGSTOP) past its lease, and a
// killed LISTEN connection. In-process versions: queue-worker.test.ts ("leases") and queue-wakeup.test.ts.
import { expect, it } from 'vitest';
import { enqueueTask } from '../src/storage/tasks.js';
import { useQueueDatabase, enqueueMany, eventually, executions, startQueueChild } from './helpers/queue-processes.js';

const ctx = useQueueDatabase();

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await ctx.db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;
}

const HEARTBEAT_MS = 500;
const STALE_AFTER_MS = 3_000;

it('hard kill: the tasks of a SIGKILLed process (1 of 3) are re-run by the others within one lease period; none stay running', async () => {
  const env = { DATABASE_URL: ctx.db.url, CONCURRENCY: 5, POLL_MS: 200, HEARTBEAT_MS, STALE_AFTER_MS };
  const workers = await Promise.all([0, 1, 2].map(() => startQueueChild(env)));
  // 5 tasks of 4 s (a re-run takes 100 ms): the process that claims them is killed mid-task; the others are idle,
  // so a re-run starts as soon as the lease is recovered.
  await enqueueMany(ctx.db.pool, 'sleep', { ms: 4_000, retryMs: 100 }, 5);
  await eventually(async () => (await count(`select count(*)::int as n from tasks where status = 'running' and type = 'sleep'`)) === 5, 10_000, '5 running tasks');
  const owners = (await ctx.db.pool.query<{ locked_by: string; n: number }>(`select locked_by, count(*)::int as n from tasks where status = 'running' group by 1 order by 2 desc`)).rows;
  const victim = workers.find((w) => w.workerId === owners[0]!.locked_by)!;
  const survivors = workers.filter((w) => w !== victim);
  const held = (await ctx.db.pool.query<{ id: number }>(`select id from tasks where locked_by = $1 and status = 'running' order by id`, [victim.workerId])).rows.map((r) => r.id);
  // Mid-task: its loops have started them (the operators' line is out), not merely claimed them.
  await eventually(async () => executions(victim, 'sleep').length >= held.length, 5_000, 'the victim to start its tasks');

  victim.signal('SIGKILL');
  const killedAt = Date.now();
  expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });

  await eventually(async () => (await count(`select count(*)::int as n from tasks where type = 'sleep' and status = 'succeeded'`)) === 5, 20_000, 'all 5 tasks succeeded');
  expect(await count(`select count(*)::int as n from tasks where status = 'running'`)).toBe(0);
  const rows = (await ctx.db.pool.query<{ id: number; attempts: number; last_error: string | null }>(`select id, attempts, last_error from tasks where id = any($1::bigint[]) order by id`, [held])).rows;
  for (const r of rows) {
    expect(r.attempts).toBe(2);
    expect(r.last_error).toMatch(/died \(no heartbeat\) during attempt 1/);
  }
  // Each re-run started on a survivor within one lease period of the kill (stale-after + one heartbeat + slack).
  const reruns = survivors.flatMap((s) => executions(s, 'sleep')).filter((l) => held.includes(l.taskId));
  expect(reruns.map((l) => l.taskId).sort((a, b) => a - b)).toEqual(held);
  for (const l of reruns) {
    expect(l.attempt).toBe(2);
    expect(Date.parse(l.time) - killedAt).toBeLessThan(STALE_AFTER_MS + HEARTBEAT_MS + 1_500);
  }
  const recovered = survivors.flatMap((s) => s.logs()).filter((l) => /^Recovered \d+ tasks from dead workers$/.test(l.msg));
  expect(recovered.reduce((sum, l) => sum + Number(l.recovered), 0)).toBe(held.length);
  // Side effects: the victim died mid-sleep, so each task has exactly one, written by a survivor.
  const effects = (await ctx.db.pool.query<{ task_id: number; worker_pid: number }>(`select task_id, worker_pid from task_effects where kind = 'sleep'`)).rows;
  expect(effects.map((e) => e.task_id).sort((a, b) => a - b)).toEqual(held);
  expect(effects.every((e) => e.worker_pid !== victim.pid)).toBe(true);
}, 60_000);

it('lease lost while still running: a process frozen past its lease is signalled to abort, its late finish is rejected, the task ran once elsewhere', async () => {
  const env = { DATABASE_URL: ctx.db.url, CONCURRENCY: 2, POLL_MS: 200, HEARTBEAT_MS, STALE_AFTER_MS: 2_000 };
  const workers = await Promise.all([0, 1].map(() => startQueueChild(env)));
  // Attempt 1 stalls 6 s ignoring its signal; the re-run takes no time.
  const id = (await ctx.db.pool.query<{ id: number }>(`insert into tasks (type, payload) values ('stall', '{"ms": 6000, "retryMs": 0}') returning id`)).rows[0]!.id;
  const owner = await eventually(async () => {
    const r = (await ctx.db.pool.query<{ locked_by: string | null }>(`select locked_by from tasks where id = $1 and status = 'running'`, [id])).rows[0];
    return r?.locked_by ?? undefined;
  }, 10_000, 'the stall task to be claimed');
  const stalled = workers.find((w) => w.workerId === owner)!;
  const other = workers.find((w) => w !== stalled)!;

  // Frozen: no heartbeat, so the other process declares it dead and runs the task again.
  stalled.signal('SIGSTOP');
  try {
    await eventually(
      async () => (await ctx.db.pool.query(`select 1 from tasks where id = $1 and status = 'succeeded' and attempts = 2`, [id])).rowCount === 1,
      15_000,
      'the re-run to succeed',
    );
  } finally {
    stalled.signal('SIGCONT');
  }
  const rerun = executions(other, 'stall').find((l) => l.taskId === id);
  expect(rerun?.attempt).toBe(2);

  // Thawed: it learns its row is gone, aborts the handler (which ignores it), and the late finish hits the guards.
  await stalled.waitForLog((l) => l.msg === 'stall: abort signalled; ignoring it' && l.taskId === id, 10_000);
  const late = await stalled.waitForLog((l) => /^stall: side effect/.test(l.msg) && l.taskId === id, 10_000);
  expect(late).toMatchObject({ msg: 'stall: side effect rejected by the guard', recorded: false, aborted: true, attempt: 1 });
  await stalled.waitForLog((l) => l.msg === 'Lease lost before the task finished; its result was discarded' && l.taskId === id, 10_000);
  expect(stalled.logs().some((l) => /declared dead/.test(l.msg))).toBe(true);

  const effects = (await ctx.db.pool.query<{ worker_pid: number; attempt: number }>(`select worker_pid, attempt from task_effects where task_id = $1`, [id])).rows;
  expect(effects).toEqual([{ worker_pid: other.pid, attempt: 2 }]);
  expect((await ctx.db.pool.query(`select status, attempts from tasks where id = $1`, [id])).rows).toEqual([{ status: 'succeeded', attempts: 2 }]);
  // The frozen process lives on under a new identity.
  expect(stalled.alive()).toBe(true);
  const rows = (await ctx.db.pool.query<{ id: string }>(`select id from workers where pid = $1`, [stalled.pid])).rows;
  expect(rows).toHaveLength(1);
  expect(rows[0]!.id).not.toBe(stalled.workerId);
}, 60_000);

it('lost wake-up: after pg_terminate_backend on its LISTEN connection a process polling every 30 s runs 100 new tasks in seconds, and latency is back to milliseconds without a restart', async () => {
  const worker = await startQueueChild({ DATABASE_URL: ctx.db.url, CONCURRENCY: 5, POLL_MS: 30_000 });
  const listenerPid = () =>
    ctx.db.pool
      .query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and application_name = 'beacon-listen' and query ilike 'listen%'`)
      .then((r) => (r.rows.length === 1 ? r.rows[0]!.pid : undefined));
  const before = await eventually(listenerPid, 10_000, 'the LISTEN connection');
  await ctx.db.pool.query('select pg_terminate_backend($1)', [before]);

  // Enqueued as the API does (one transaction, NOTIFY at commit), while the listener may still be down.
  const t0 = Date.now();
  const client = await ctx.db.pool.connect();
  try {
    await client.query('begin');
    for (let i = 0; i < 100; i++) await enqueueTask(client, { type: 'record', payload: {} });
    await client.query('commit');
  } finally {
    client.release();
  }
  await eventually(async () => (await count(`select count(*)::int as n from task_effects`)) === 100, 10_000, '100 side effects', 10);
  expect(Date.now() - t0).toBeLessThan(5_000); // not the 30 s poll
  await worker.waitForLog((l) => l.msg === 'LISTEN beacon_tasks connection lost; reconnecting');
  const after = await eventually(async () => {
    const p = await listenerPid();
    return p !== undefined && p !== before ? p : undefined;
  }, 10_000, 'a new LISTEN connection');
  expect(after).not.toBe(before);

  // One at a time, enqueued from another connection: enqueue→side effect latency, measured on the database clock.
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { id } = (await enqueueTask(ctx.db.pool, { type: 'record', payload: {} }))!;
    const ms = await eventually(async () => {
      const r = await ctx.db.pool.query<{ ms: number }>(
        `select extract(epoch from e.run_at - t.created_at) * 1000 as ms from task_effects e join tasks t on t.id = e.task_id where t.id = $1`,
        [id],
      );
      return r.rows[0]?.ms;
    }, 10_000, `task ${id}'s side effect`, 5);
    latencies.push(Number(ms));
  }
  latencies.sort((a, b) => a - b);
  expect(latencies[10]!).toBeLessThan(100);
  expect(latencies[19]!).toBeLessThan(1_000);
  expect(worker.alive()).toBe(true);
  expect(await count(`select count(*)::int as n from workers`)).toBe(1);
}, 60_000);
