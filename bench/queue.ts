// npm run bench:queue — Beacon's queue vs graphile-worker vs the audit's loop, on one fresh Postgres, in one run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { createLogger, type Logger } from '../src/log/index.js';
import { createDatabase } from '../src/storage/db.js';
import { startEmbeddedPostgres } from '../src/storage/embedded.js';
import { runMigrations } from '../src/storage/migrate.js';
import { auditLoopWindow } from './queue/audit-loop.js';
import { beaconLatency, beaconThroughput } from './queue/beacon.js';
import { graphileLatency, graphileThroughput } from './queue/graphile.js';
import { median, round2, type Figure } from './queue/stats.js';

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ROUNDS = env('ROUNDS', 3);
const TASKS = env('TASKS', 20_000);
const LATENCY_TASKS = env('LATENCY_TASKS', 1_000);
const AUDIT_TASKS = env('AUDIT_TASKS', 1_000);
const AUDIT_WINDOW_MS = env('AUDIT_WINDOW_MS', 10_000);
const CONCURRENCY = 5;
/** Beacon's batch size and graphile-worker's localQueue size: the same number of locked-ahead tasks for both. */
const BATCH = env('BATCH', 200);
// Identical for every system: a throwaway cluster (no fsync), so the figures measure the queues, not this disk.
const PG_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '100' };

/** Every task logs a line at info (Beacon's `executing task`, graphile-worker's `Completed task`), formatted and written to /dev/null. */
function benchLogger(): Logger {
  const level = (process.env.LOG_LEVEL ?? 'info') as 'info' | 'warn';
  return createLogger({ level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
}

interface Case {
  key: string;
  run: () => Promise<Figure>;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beacon-bench-pg-'));
  fs.chmodSync(tmp, 0o755);
  const quiet = createLogger({ level: 'warn' });
  const cluster = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), logger: quiet, settings: PG_SETTINGS });
  try {
    const urls = await createDatabases(cluster.adminUrl, ['bench_beacon', 'bench_graphile', 'bench_audit']);
    for (const name of ['bench_beacon', 'bench_audit']) {
      const db = createDatabase(urls[name]!);
      await runMigrations(db);
      await db.close();
    }
    const logger = benchLogger();
    const beaconUrl = urls.bench_beacon!;
    const graphileUrl = urls.bench_graphile!;
    const base = { logger, concurrency: CONCURRENCY };
    const cases: Case[] = [
      { key: 'beacon/single', run: () => beaconThroughput({ ...base, url: beaconUrl, tasks: TASKS, batchSize: 1 }) },
      { key: 'graphile-worker/single', run: () => graphileThroughput({ ...base, url: graphileUrl, tasks: TASKS }) },
      { key: 'beacon/batch', run: () => beaconThroughput({ ...base, url: beaconUrl, tasks: TASKS, batchSize: BATCH, prefetch: BATCH }) },
      { key: 'graphile-worker/batch', run: () => graphileThroughput({ ...base, url: graphileUrl, tasks: TASKS, localQueueSize: BATCH }) },
      // Beacon batches its completions; graphile-worker can too (off by default): measured both ways, reported apart.
      {
        key: 'graphile-worker/batch+completeJobBatchDelay',
        run: () => graphileThroughput({ ...base, url: graphileUrl, tasks: TASKS, localQueueSize: BATCH, completeJobBatchDelay: 0 }),
      },
      { key: 'beacon/latency', run: () => beaconLatency({ ...base, url: beaconUrl, tasks: LATENCY_TASKS }) },
      { key: 'graphile-worker/latency', run: () => graphileLatency({ ...base, url: graphileUrl, tasks: LATENCY_TASKS }) },
      { key: 'audit-loop/single', run: () => auditLoopWindow({ ...base, url: urls.bench_audit!, tasks: AUDIT_TASKS, windowMs: AUDIT_WINDOW_MS }) },
    ];
    // ONLY=beacon/batch,… runs a subset (for profiling with node --cpu-prof); the ratios then show what is missing as null.
    const only = process.env.ONLY?.split(',');
    if (only) cases.splice(0, cases.length, ...cases.filter((c) => only.includes(c.key)));
    process.stderr.write(`${JSON.stringify({ bench: 'queue', setup: setup(await pgVersion(cluster.adminUrl)) })}\n`);

    const results = new Map<string, Figure[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no system always runs first (cold) or last (warm, or after a noisy neighbour).
      const order = cases.map((_, i) => cases[(i + round * 2) % cases.length]!);
      for (const c of order) {
        const figure = await c.run();
        process.stderr.write(`${JSON.stringify({ round: round + 1, ...rounded(figure) })}\n`);
        results.set(c.key, [...(results.get(c.key) ?? []), figure]);
      }
    }
    const summary = new Map<string, Figure>();
    for (const [key, figures] of results) {
      const med = medianFigure(figures);
      summary.set(key, med);
      console.log(JSON.stringify({ bench: 'queue', ...rounded(med), rounds: figures.map((f) => Math.round(f.tasksPerSec)) }));
    }
    console.log(JSON.stringify({ bench: 'queue', ratios: ratios(summary) }));
  } finally {
    await cluster.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function createDatabases(adminUrl: string, names: string[]): Promise<Record<string, string>> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const urls: Record<string, string> = {};
  for (const name of names) {
    await admin.query(`create database ${name}`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    urls[name] = u.toString();
  }
  await admin.end();
  return urls;
}

async function pgVersion(adminUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  const { rows } = await c.query<{ server_version: string }>('show server_version');
  await c.end();
  return rows[0]?.server_version ?? 'unknown';
}

function setup(postgres: string) {
  const free = (() => {
    try {
      return execFileSync('free', ['-h'], { encoding: 'utf8' }).split('\n')[1]?.trim();
    } catch {
      return undefined;
    }
  })();
  return {
    date: new Date().toISOString(), node: process.version, postgres, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory: free,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100), rounds: ROUNDS, tasks: TASKS, latencyTasks: LATENCY_TASKS,
    auditWindowMs: AUDIT_WINDOW_MS, concurrency: CONCURRENCY, batch: BATCH, logLevel: process.env.LOG_LEVEL ?? 'info', pgSettings: PG_SETTINGS,
  };
}

/** The round with the median throughput (latency: the median p50 round), so each line is one real measurement. */
function medianFigure(figures: Figure[]): Figure {
  const key = (f: Figure) => (f.mode === 'latency' ? (f.p50Ms ?? 0) : f.tasksPerSec);
  const m = median(figures.map(key));
  return figures.find((f) => key(f) === m)!;
}

function rounded(f: Figure) {
  return { ...f, tasksPerSec: Math.round(f.tasksPerSec), p50Ms: round2(f.p50Ms), p99Ms: round2(f.p99Ms) };
}

function ratios(s: Map<string, Figure>) {
  const tps = (k: string) => s.get(k)?.tasksPerSec ?? NaN;
  const ms = (k: string, q: 'p50Ms' | 'p99Ms') => s.get(k)?.[q] ?? NaN;
  return {
    beaconSingleVsGraphile: round2(tps('beacon/single') / tps('graphile-worker/single')),
    beaconBatchVsGraphileLocalQueue: round2(tps('beacon/batch') / tps('graphile-worker/batch')),
    beaconBatchVsGraphileLocalQueueBatchedCompletion: round2(tps('beacon/batch') / tps('graphile-worker/batch+completeJobBatchDelay')),
    beaconSingleVsAuditLoop: round2(tps('beacon/single') / tps('audit-loop/single')),
    beaconBatchVsAuditLoop: round2(tps('beacon/batch') / tps('audit-loop/single')),
    latencyP50BeaconVsGraphile: round2(ms('beacon/latency', 'p50Ms') / ms('graphile-worker/latency', 'p50Ms')),
    latencyP99BeaconVsGraphile: round2(ms('beacon/latency', 'p99Ms') / ms('graphile-worker/latency', 'p99Ms')),
  };
}

await main();
