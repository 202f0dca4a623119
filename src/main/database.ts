// Opens the database Beacon runs on: DATABASE_URL, the embedded cluster a running Beacon owns, or a new embedded one.
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { createDatabase, type Database } from '../storage/db.js';
import { runningClusterUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '../storage/embedded.js';

export interface OpenedDatabase {
  db: Database;
  /** Set when this process started the embedded cluster and must stop it. */
  embedded: EmbeddedPostgres | undefined;
  /** Human-readable, without credentials. */
  where: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** CLI commands join the cluster of a running Beacon rather than failing on its lock. */
  joinRunning: boolean;
  poolSize?: number;
  /** The embedded PostgreSQL this process started has died. */
  onDatabaseLost?: (message: string) => void;
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions): Promise<OpenedDatabase> {
  // Only the message and code: the error of an idle pg client can carry the client itself (connection secrets).
  const onError = (err: Error) =>
    logger.warn({ source: 'storage', error: err.message, code: (err as { code?: string }).code }, 'idle database connection failed');
  const pgDir = path.join(config.dataDir, 'pg');
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  let where: string;
  if (url !== undefined) {
    const u = new URL(url);
    where = `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } else {
    url = options.joinRunning ? runningClusterUrl(pgDir) : undefined;
    if (url === undefined) {
      const lost = options.onDatabaseLost;
      embedded = await startEmbeddedPostgres({
        dir: pgDir,
        logger,
        ...(lost ? { onUnexpectedExit: (e) => lost(`embedded PostgreSQL exited unexpectedly (code ${e.code}, signal ${e.signal}); see ${path.join(config.dataDir, 'postgres.log')}`) } : {}),
      });
      url = embedded.url;
    }
    where = `embedded PostgreSQL in ${pgDir}`;
  }
  const db = createDatabase(url, { onError, ...(options.poolSize ? { max: options.poolSize } : {}) });
  return {
    db,
    embedded,
    where,
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}
