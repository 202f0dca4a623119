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
