// Shared bits for queue tests: a logger whose lines can be read back, polling waits, and task-row reads.
import { createLogger, type Logger } from '../../src/log/index.js';
import type { Queryable } from '../../src/storage/tasks.js';

export interface LogLine {
  time: string;
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger writing into an array (pino calls write() synchronously with one JSON line). */
export function captureLogger(level: 'debug' | 'info' | 'warn' = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { logger, lines };
}

/** Polls `check` until it returns true (or a non-undefined value) or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface TaskRow {
  id: number;
  type: string;
  status: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_by: string | null;
  run_at: Date;
}

export async function taskRow(q: Queryable, id: number): Promise<TaskRow> {
  const { rows } = await q.query<TaskRow>('select * from tasks where id = $1', [id]);
  if (!rows[0]) throw new Error(`no task ${id}`);
  return rows[0];
}

export async function statusCounts(q: Queryable, type?: string): Promise<Record<string, number>> {
  const { rows } = await q.query<{ status: string; n: number }>(
    'select status, count(*)::int as n from tasks where ($1::text is null or type = $1) group by status',
    [type ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
