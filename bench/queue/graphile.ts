// graphile-worker under the same benchmark: run() with concurrency 5, with or without its localQueue batching.
import { performance } from 'node:perf_hooks';
import { Logger as GraphileLogger, makeWorkerUtils, run, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { Logger } from '../../src/log/index.js';
import { latencyFigure } from './beacon.js';
import { deferred, waitForCount, type Figure } from './stats.js';

export interface GraphileRun {
  url: string;
  /** graphile-worker's lines go through the same pino logger (and level) as Beacon's, so both pay for logging. */
  logger: Logger;
  tasks: number;
  concurrency: number;
  /** localQueue size; undefined: no localQueue (one get_job per job). */
  localQueueSize?: number;
  /** graphile-worker's own batched completion (`completeJobBatchDelay`); undefined: its default, off. */
  completeJobBatchDelay?: number;
}

function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const method = level === 'warning' ? 'warn' : level;
    logger[method]({ ...scope, ...meta }, message);
  });
}

/**
 * A pool we own, so it is ended (and its errors handled) by us: graphile-worker's own pool can outlive
 * `runner.stop()` and crash the process with an unhandled 'error' when the cluster stops.
 */
function ownPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Migrates graphile-worker's schema in this database (idempotent) and empties its job table. */
export async function prepareGraphile(pool: pg.Pool, logger: Logger): Promise<WorkerUtils> {
  const utils = await makeWorkerUtils({ pgPool: pool, logger: graphileLogger(logger) });
  await utils.migrate();
  await utils.withPgClient((c) => c.query('delete from graphile_worker._private_jobs'));
  return utils;
}

const JOBS_LEFT = 'select count(*)::int as n from graphile_worker._private_jobs';

/** Runs `tasks` pre-inserted no-op jobs to completion; graphile-worker deletes a job when it completes. */
export async function graphileThroughput(r: GraphileRun): Promise<Figure> {
  const pool = ownPool(r.url);
  const utils = await prepareGraphile(pool, r.logger);
  for (let i = 0; i < r.tasks; i += 5_000) {
    await utils.addJobs(Array.from({ length: Math.min(5_000, r.tasks - i) }, () => ({ identifier: 'noop', payload: {} })));
  }
  await utils.withPgClient((c) => c.query('vacuum analyze graphile_worker._private_jobs'));
  const seen = new Set<string>();
  let runs = 0;
  const allRan = deferred();
  const t0 = performance.now();
  const runner = await run({
    pgPool: pool,
    concurrency: r.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: graphileLogger(r.logger),
    taskList: {
      noop: async (_payload, helpers) => {
        seen.add(helpers.job.id);
        if (++runs === r.tasks) allRan.resolve();
      },
    },
    preset: {
      worker: {
        ...(r.localQueueSize === undefined ? {} : { localQueue: { size: r.localQueueSize } }),
        ...(r.completeJobBatchDelay === undefined ? {} : { completeJobBatchDelay: r.completeJobBatchDelay }),
      },
    },
  });
  await allRan.promise;
  await utils.withPgClient((c) => waitForCount(c as unknown as pg.Client, JOBS_LEFT, 0, 60_000, 2));
  const seconds = (performance.now() - t0) / 1000;
  await runner.stop();
  await utils.release();
  await pool.end();
  if (seen.size !== r.tasks) throw new Error(`graphile-worker ran ${seen.size} distinct jobs of ${r.tasks}`);
  return {
    system: 'graphile-worker',
    mode: r.localQueueSize === undefined ? 'single' : r.completeJobBatchDelay === undefined ? 'batch' : 'batch+completeJobBatchDelay',
    tasks: r.tasks,
    tasksPerSec: r.tasks / seconds,
    p50Ms: null,
    p99Ms: null,
    ...(r.localQueueSize === undefined ? {} : { localQueueSize: r.localQueueSize }),
    ...(r.completeJobBatchDelay === undefined ? {} : { completeJobBatchDelay: r.completeJobBatchDelay }),
    duplicates: runs - seen.size,
  };
}

/** One job at a time via `graphile_worker.add_job` on another connection; its trigger NOTIFYs the idle pool. */
export async function graphileLatency(r: Omit<GraphileRun, 'localQueueSize'>): Promise<Figure> {
  const pool = ownPool(r.url);
  const utils = await prepareGraphile(pool, r.logger);
  let started = deferred();
  let startedAt = 0;
  const runner = await run({
    pgPool: pool,
    concurrency: r.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: graphileLogger(r.logger),
    taskList: {
      noop: async () => {
        startedAt = performance.now();
        started.resolve();
      },
    },
  });
  const client = new pg.Client({ connectionString: r.url });
  await client.connect();
  await new Promise((res) => setTimeout(res, 200));
  const delays: number[] = [];
  for (let i = 0; i < r.tasks; i++) {
    started = deferred();
    const t0 = performance.now();
    await client.query(`select graphile_worker.add_job('noop', '{}'::json)`);
    await started.promise;
    delays.push(startedAt - t0);
  }
  await waitForCount(client, JOBS_LEFT, 0, 10_000);
  await client.end();
  await runner.stop();
  await utils.release();
  await pool.end();
  return latencyFigure('graphile-worker', delays);
}
