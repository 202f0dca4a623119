// Small statistics and waiting helpers shared by the queue benchmark's systems.
import type pg from 'pg';

/** The value at quantile `q` (0..1) of `values` (nearest rank), or null for an empty list. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

/** Polls `sql` (one number) on `q` every `everyMs` until it equals `want`; throws after `timeoutMs`. */
export async function waitForCount(q: pg.Pool | pg.Client, sql: string, want: number, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await q.query<{ n: number }>(sql);
    if (Number(rows[0]?.n) === want) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${want} from: ${sql} (last ${rows[0]?.n})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise with its resolve function outside, for "the handler has started". */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** One measured figure: throughput (tasks/s) or per-task delays (ms). */
export interface Figure {
  system: 'beacon' | 'graphile-worker' | 'audit-loop';
  mode: string;
  tasks: number;
  tasksPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  [extra: string]: unknown;
}

export const round2 = (x: number | null): number | null => (x === null ? null : Math.round(x * 100) / 100);
