// Worker child processes for the queue tests (queue-child.ts): spawn, read their JSON logs, signal them, and
// kill every one of them afterwards, even when a test failed half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Queryable } from '../../src/storage/tasks.js';
import { cleanEnv, REPO_ROOT, type Exit } from './beacon-process.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

const CHILD = path.join(REPO_ROOT, 'test/helpers/queue-child.ts');

export interface ChildLog {
  time: string;
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface QueueChild {
  pid: number;
  /** The worker id printed in the ready line (the first identity: it changes if the worker rejoins). */
  workerId: string;
  /** Raw stdout lines and `stderr: `-prefixed stderr lines, as they arrive. */
  lines: string[];
  /** The pino JSON lines so far, parsed. */
  logs(): ChildLog[];
  /** Resolves with the first log line matching, or rejects after `timeoutMs`. */
  waitForLog(match: (l: ChildLog) => boolean, timeoutMs?: number): Promise<ChildLog>;
  signal(sig: NodeJS.Signals): void;
  exited: Promise<Exit>;
  /** True until the process exited. */
  alive(): boolean;
  output(): string;
}

const children = new Set<ChildProcess>();

export interface ChildEnv {
  DATABASE_URL: string;
  CONCURRENCY?: number;
  POLL_MS?: number;
  HEARTBEAT_MS?: number;
  STALE_AFTER_MS?: number;
  SHUTDOWN_GRACE_MS?: number;
  POOL_MAX?: number;
  TICK_MS?: number;
}

/** Starts a worker process and resolves once it printed its ready line (its loops are running). */
export async function startQueueChild(env: ChildEnv, readyTimeoutMs = 30_000): Promise<QueueChild> {
  const vars = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: REPO_ROOT, env: cleanEnv(vars), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  let exitInfo: Exit | undefined;
  // 'close', not 'exit': it comes once stdout is drained, so a test reading the logs after exit sees the last lines.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    }),
  );
  const listeners = new Set<() => void>();
  const reader = (prefix: string) => {
    let rest = '';
    return (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const part of parts) lines.push(prefix + part);
      for (const l of [...listeners]) l();
    };
  };
  child.stdout!.on('data', reader(''));
  child.stderr!.on('data', reader('stderr: '));
  const output = () => lines.join('\n');
  const logs = () =>
    lines.flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as ChildLog];
      } catch {
        return [];
      }
    });

  const waitForLine = <T>(find: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        } else if (exitInfo !== undefined) {
          cleanup();
          reject(new Error(`queue child ${child.pid} exited (${JSON.stringify(exitInfo)}) before ${what}; output:\n${output()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`queue child ${child.pid}: no ${what} within ${timeoutMs} ms; output:\n${output().slice(-4_000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      void exited.then(check);
      check();
    });

  const workerId = await waitForLine(
    () => {
      for (const l of lines) {
        const m = /^queue-child ready (\S+)$/.exec(l);
        if (m) return m[1];
      }
      return undefined;
    },
    readyTimeoutMs,
    'ready line',
  );
  return {
    pid: child.pid!,
    workerId: workerId!,
    lines,
    logs,
    waitForLog: (match, timeoutMs = 10_000) => waitForLine(() => logs().find(match), timeoutMs, 'matching log line'),
    signal: (sig) => void child.kill(sig),
    exited,
    alive: () => exitInfo === undefined,
    output,
  };
}

/** SIGKILLs every child still running (a stopped one too) and waits until each has exited. */
export async function killQueueChildren(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
      children.delete(c);
    }),
  );
}

process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** The side-effect table the child's tasks write to. No unique constraint: a second run must show as a second row. */
export async function createEffectsTable(q: Queryable): Promise<void> {
  await q.query(`create table if not exists task_effects (
    task_id bigint not null, worker_pid int not null, run_at timestamptz not null default clock_timestamp(),
    attempt int, kind text not null, slot timestamptz)`);
}

/** `Worker <n> executing task: <type>` lines of a child, with taskId and attempt (the operators' grep line). */
export function executions(child: QueueChild, type?: string): Array<ChildLog & { taskId: number; attempt: number }> {
  return child
    .logs()
    .filter((l) => /^Worker \d+ executing task: /.test(l.msg) && (type === undefined || l.type === type)) as Array<ChildLog & { taskId: number; attempt: number }>;
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Enqueues `n` tasks of one type in one statement and notifies the workers the way enqueueTask does (a plain
 * INSERT notifies nobody: idle loops would only find the tasks at their next poll).
 */
export async function enqueueMany(q: Queryable, type: string, payload: object, n: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `with ins as (insert into tasks (type, payload) select $1::text, $2::jsonb from generate_series(1, $3::int) returning id)
     select id, pg_notify('beacon_tasks', $1::text) from ins`,
    [type, JSON.stringify(payload), n],
  );
  return rows.map((r) => r.id);
}

/**
 * The shared set-up of a process-test file: one database with the side-effect table, emptied before each test,
 * every child killed after each test. Read `.db` inside tests and hooks (it is set in beforeAll).
 */
export function useQueueDatabase(): { readonly db: TestDatabase } {
  const ctx = {} as { db: TestDatabase };
  beforeAll(async () => {
    ctx.db = await createTestDatabase();
    await createEffectsTable(ctx.db.pool);
  });
  beforeEach(async () => {
    await ctx.db.pool.query('truncate tasks, workers, task_effects');
  });
  afterEach(killQueueChildren);
  afterAll(async () => {
    await killQueueChildren();
    await ctx.db?.drop();
  });
  return ctx;
}
