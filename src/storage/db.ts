// The database handle every query function takes: a pg pool and a Drizzle instance over it.
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './schema.js';

// bigint columns (ids, counts) come back as JS numbers: ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export type Drizzle = NodePgDatabase<typeof schema>;

export interface Database {
  readonly pool: pg.Pool;
  readonly orm: Drizzle;
  readonly url: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  max?: number;
  /** Called for errors on idle clients (a restarted server), which pg would otherwise throw. */
  onError?: (err: Error) => void;
}

/** SQLSTATE classes and driver errors that mean "the database is not reachable now", not "the query is wrong". */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/** True when `err` says the database cannot be reached right now (a 503 for clients, a retry for workers). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated|connection timeout/i.test(message);
}

/** Rejects after `ms` unless `promise` settles first: a database that hangs (stopped, partitioned) must not hang callers. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'beacon',
  });
  pool.on('error', (err) => options.onError?.(err));
  const orm = drizzle(pool, { schema });
  let closed = false;
  return {
    pool,
    orm,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
