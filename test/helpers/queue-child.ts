// A real worker process for the multi-process queue tests: `node --import tsx test/helpers/queue-child.ts`.
//
// Environment: DATABASE_URL (required), CONCURRENCY (5), POLL_MS (1000), HEARTBEAT_MS (2000), STALE_AFTER_MS
// (10000), SHUTDOWN_GRACE_MS (10000), POOL_MAX (CONCURRENCY + 4), TICK_MS (unset: no `tick` task; set: a
// recurring `tick` system task every TICK_MS). Logs pino JSON to stdout and prints `queue-child ready <workerId>`
// once its loops run. SIGTERM/SIGINT: worker.stop(SHUTDOWN_GRACE_MS), then exit 0.
//
// Side effects go to `task_effects` (see queue-processes.ts), so tests count what ran, not what the status says.
import { z } from 'zod';
import { createLogger } from '../../src/log/index.js';
import { createDatabase, type Database } from '../../src/storage/db.js';
import { sleep } from '../../src/worker/backoff.js';
import { defineTask, type AnyTaskDefinition, type TaskContext } from '../../src/worker/define-task.js';
import { createTaskRegistry } from '../../src/worker/registry.js';
import { pruneTasksTask } from '../../src/worker/tasks/prune-tasks.js';
import { createWorker } from '../../src/worker/worker.js';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${raw}`);
  return n;
}

/** The worker id a handler runs under (the lease owner), from the task's child logger. */
function ownerOf(ctx: TaskContext): string {
  return String(ctx.logger.bindings().workerId);
}

async function recordEffect(db: Database, ctx: TaskContext, kind: string): Promise<void> {
  await db.pool.query('insert into task_effects (task_id, worker_pid, attempt, kind) values ($1, $2, $3, $4)', [ctx.task.id, process.pid, ctx.task.attempt, kind]);
}

const noopTask = defineTask({ type: 'noop', payload: z.object({}), handler: async () => undefined });

const recordTask = defineTask({
  type: 'record',
  payload: z.object({}),
  handler: async (_payload, ctx) => recordEffect(ctx.db, ctx, 'record'),
});

/**
 * Waits `ms` (`retryMs` on later attempts, default `ms`) or until aborted; records its effect only when it ran to
 * the end (an aborted run throws).
 */
const sleepTask = defineTask({
  type: 'sleep',
  payload: z.object({ ms: z.number().int().min(0), retryMs: z.number().int().min(0).optional() }),
  async handler({ ms, retryMs }, ctx) {
    await sleep(ctx.task.attempt === 1 ? ms : (retryMs ?? ms), ctx.signal);
    if (ctx.signal.aborted) throw new Error('sleep aborted');
    await recordEffect(ctx.db, ctx, 'sleep');
  },
});

/**
 * A handler that outlives its lease: on attempt 1 it ignores its abort signal for `ms` (later attempts take
 * `retryMs`), then records its side effect through a guarded write that only lands while this worker still owns
 * the running task. A run that lost its lease must find the guard closed.
 */
const stallTask = defineTask({
  type: 'stall',
  payload: z.object({ ms: z.number().int().min(0), retryMs: z.number().int().min(0) }),
  async handler({ ms, retryMs }, ctx) {
    const owner = ownerOf(ctx);
    ctx.signal.addEventListener('abort', () => ctx.logger.warn({ owner, attempt: ctx.task.attempt }, 'stall: abort signalled; ignoring it'), { once: true });
    await new Promise((r) => setTimeout(r, ctx.task.attempt === 1 ? ms : retryMs));
    const res = await ctx.db.pool.query(
      `insert into task_effects (task_id, worker_pid, attempt, kind)
       select $1::bigint, $2::int, $3::int, 'stall'
        where exists (select 1 from tasks where id = $1::bigint and locked_by = $4::uuid and status = 'running')`,
      [ctx.task.id, process.pid, ctx.task.attempt, owner],
    );
    ctx.logger.info({ owner, attempt: ctx.task.attempt, recorded: res.rowCount === 1, aborted: ctx.signal.aborted }, `stall: side effect ${res.rowCount === 1 ? 'recorded' : 'rejected by the guard'}`);
  },
});

/** A recurring test system task; records the slot (its row's run_at) it ran for. */
function tickTask(everyMs: number) {
  return defineTask({
    type: 'tick',
    payload: z.object({}),
    recurring: { uniqueKey: 'system:test_tick', everyMs },
    async handler(_payload, ctx) {
      await ctx.db.pool.query(
        `insert into task_effects (task_id, worker_pid, attempt, kind, slot)
         select id, $2::int, $3::int, 'tick', run_at from tasks where id = $1::bigint`,
        [ctx.task.id, process.pid, ctx.task.attempt],
      );
    },
  });
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const concurrency = intEnv('CONCURRENCY', 5);
  const graceMs = intEnv('SHUTDOWN_GRACE_MS', 10_000);
  const tickMs = intEnv('TICK_MS', 0);
  const logger = createLogger({ level: 'info' });
  const db = createDatabase(url, { max: intEnv('POOL_MAX', concurrency + 4), onError: (err) => logger.warn({ err }, 'idle database client error') });

  const defs: AnyTaskDefinition[] = [noopTask, recordTask, sleepTask, stallTask, pruneTasksTask];
  if (tickMs > 0) defs.push(tickTask(tickMs));
  const worker = createWorker({
    db,
    logger,
    concurrency,
    tasks: createTaskRegistry(defs),
    deps: {},
    pollIntervalMs: intEnv('POLL_MS', 1_000),
    heartbeatMs: intEnv('HEARTBEAT_MS', 2_000),
    staleAfterMs: intEnv('STALE_AFTER_MS', 10_000),
  });

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs }, 'queue-child: signal received; stopping');
    worker
      .stop(graceMs)
      .then(() => db.close())
      .then(
        () => {
          logger.info('queue-child: stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'queue-child: stop failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await worker.start();
  process.stdout.write(`queue-child ready ${worker.id}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`queue-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
