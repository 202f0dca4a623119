// Beacon's queue under the benchmark: throughput over pre-inserted no-op tasks, and enqueue→start latency.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../../src/log/index.js';
import { createDatabase } from '../../src/storage/db.js';
import { enqueueTask } from '../../src/storage/tasks.js';
import { createTaskRegistry, createWorker, defineTask } from '../../src/worker/index.js';
import { deferred, quantile, waitForCount, type Figure } from './stats.js';

export interface BeaconRun {
  url: string;
  logger: Logger;
  tasks: number;
  concurrency: number;
  /** 1: one-at-a-time claim; more: batch claim into the local queue. */
  batchSize: number;
  prefetch?: number;
}

/** Runs `tasks` pre-inserted no-op tasks to completion and reports tasks/s (verified by the database's count). */
export async function beaconThroughput(run: BeaconRun): Promise<Figure> {
  const db = createDatabase(run.url, { max: 10 });
  await db.pool.query('truncate tasks, workers');
  await db.pool.query(`insert into tasks (type, payload) select 'noop', '{}'::jsonb from generate_series(1, $1::int)`, [run.tasks]);
  await db.pool.query('vacuum analyze tasks');
  const seen = new Set<number>();
  let runs = 0;
  const allRan = deferred();
  const noop = defineTask({
    type: 'noop',
    payload: z.object({}),
    handler: async (_p, ctx) => {
      seen.add(ctx.task.id);
      if (++runs === run.tasks) allRan.resolve();
    },
  });
  const worker = createWorker({
    db,
    logger: run.logger,
    concurrency: run.concurrency,
    tasks: createTaskRegistry([noop]),
    deps: {},
    batchSize: run.batchSize,
    ...(run.prefetch === undefined ? {} : { prefetch: run.prefetch }),
  });
  const t0 = performance.now();
  await worker.start();
  await allRan.promise;
  await waitForCount(db.pool, `select count(*)::int as n from tasks where type = 'noop' and status = 'succeeded'`, run.tasks, 60_000, 2);
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop(5_000);
  await db.close();
  if (seen.size !== run.tasks) throw new Error(`beacon ran ${seen.size} distinct tasks of ${run.tasks}`);
  return {
    system: 'beacon',
    mode: run.batchSize === 1 ? 'single' : 'batch',
    tasks: run.tasks,
    tasksPerSec: run.tasks / seconds,
    p50Ms: null,
    p99Ms: null,
    batchSize: run.batchSize,
    duplicates: runs - seen.size,
  };
}

/** Enqueues one task at a time from another connection and records how long until its handler starts. */
export async function beaconLatency(run: Omit<BeaconRun, 'batchSize'>): Promise<Figure> {
  const db = createDatabase(run.url, { max: 10 });
  await db.pool.query('truncate tasks, workers');
  let started = deferred();
  let startedAt = 0;
  const noop = defineTask({
    type: 'noop',
    payload: z.object({}),
    handler: async () => {
      startedAt = performance.now();
      started.resolve();
    },
  });
  // Default batching: what a deployment runs. The backstop poll is 1 s, so a missed NOTIFY would show in p99.
  const worker = createWorker({ db, logger: run.logger, concurrency: run.concurrency, tasks: createTaskRegistry([noop]), deps: {} });
  await worker.start();
  const client = new pg.Client({ connectionString: run.url });
  await client.connect();
  await new Promise((r) => setTimeout(r, 200)); // every loop idle, listener connected
  const delays: number[] = [];
  for (let i = 0; i < run.tasks; i++) {
    started = deferred();
    const t0 = performance.now();
    await enqueueTask(client, { type: 'noop', payload: {} });
    await started.promise;
    delays.push(startedAt - t0);
  }
  await waitForCount(db.pool, `select count(*)::int as n from tasks where status = 'succeeded'`, run.tasks, 10_000);
  await client.end();
  await worker.stop(5_000);
  await db.close();
  return latencyFigure('beacon', delays);
}

export function latencyFigure(system: Figure['system'], delays: number[]): Figure {
  const total = delays.reduce((a, b) => a + b, 0) / 1000;
  return { system, mode: 'latency', tasks: delays.length, tasksPerSec: delays.length / total, p50Ms: quantile(delays, 0.5), p99Ms: quantile(delays, 0.99) };
}
