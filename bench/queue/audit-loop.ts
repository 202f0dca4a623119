// The audit's worker loop exactly as seed-sprint-23.md sketches it, on Beacon's tasks table, for comparison.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { bindLog, type Logger } from '../../src/log/index.js';
import type { Figure } from './stats.js';

export interface AuditRun {
  url: string;
  logger: Logger;
  /** Pending tasks inserted first: more than the loop can run in the window. */
  tasks: number;
  concurrency: number;
  /** The loop is too slow to drain 20,000 tasks, so it is measured over a fixed window. */
  windowMs: number;
}

interface NaiveTask {
  id: number;
  type: string;
}

/**
 * Runs the audit's `runWorkerLoop` ×`concurrency` for `windowMs`: a select-then-update claim (no SKIP LOCKED,
 * no guard), a 100 ms breather after each task, 5 s sleep when idle. Reports distinct tasks finished per
 * second and how many runs were duplicates of a task another loop had already run.
 */
export async function auditLoopWindow(r: AuditRun): Promise<Figure> {
  const pool = new pg.Pool({ connectionString: r.url, max: 10 });
  pool.on('error', () => undefined);
  await pool.query('truncate tasks, workers');
  await pool.query(`insert into tasks (type, payload) select 'noop', '{}'::jsonb from generate_series(1, $1::int)`, [r.tasks]);
  const log = bindLog(r.logger);
  const runsById = new Map<number, number>();
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => (timers.delete(t), fn()), ms);
    timers.add(t);
  };

  // storage.claimNextTask() of the audit's era: read the first pending row, then mark it running.
  async function claimNextTask(): Promise<NaiveTask | undefined> {
    const { rows } = await pool.query<NaiveTask>(`select id, type from tasks where status = 'pending' order by id limit 1`);
    const task = rows[0];
    if (task === undefined) return undefined;
    await pool.query(`update tasks set status = 'running' where id = $1`, [task.id]);
    return task;
  }
  async function executeTask(task: NaiveTask): Promise<void> {
    runsById.set(task.id, (runsById.get(task.id) ?? 0) + 1);
    await pool.query(`update tasks set status = 'succeeded', finished_at = now() where id = $1`, [task.id]);
  }
  function runWorkerLoop(workerId: number): void {
    async function step() {
      if (stopped) return;
      try {
        const task = await claimNextTask();
        if (task) {
          log(`Worker ${workerId} executing task: ${task.type}`, 'worker');
          await executeTask(task);
          later(step, 100); // Small breather
        } else {
          later(step, 5000); // Wait for new tasks
        }
      } catch (error) {
        log(`Worker ${workerId} error: ${String(error)}`, 'worker', 'error');
        later(step, 10000); // Backoff on error
      }
    }
    void step();
  }

  const t0 = performance.now();
  for (let i = 0; i < r.concurrency; i++) runWorkerLoop(i);
  await new Promise((res) => setTimeout(res, r.windowMs));
  stopped = true;
  const seconds = (performance.now() - t0) / 1000;
  for (const t of timers) clearTimeout(t);
  await new Promise((res) => setTimeout(res, 200)); // let a step already past its check finish its queries
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from tasks where status = 'succeeded'`);
  await pool.end();
  const distinct = runsById.size;
  const runs = [...runsById.values()].reduce((a, b) => a + b, 0);
  if (rows[0]?.n !== distinct) throw new Error(`audit loop: ${distinct} tasks ran but ${rows[0]?.n} are succeeded`);
  return {
    system: 'audit-loop',
    mode: 'single',
    tasks: distinct,
    tasksPerSec: distinct / seconds,
    p50Ms: null,
    p99Ms: null,
    windowMs: r.windowMs,
    runs,
    duplicates: runs - distinct,
    tasksRunMoreThanOnce: [...runsById.values()].filter((n) => n > 1).length,
  };
}
