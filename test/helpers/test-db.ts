// A fresh database per test file, cloned from the migrated template (fast: a file copy, not a migration).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../src/storage/db.js';
import { TEMPLATE_DB, withDatabase } from './pg-url.js';

export interface TestDatabase extends Database {
  readonly name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `beacon_test_${randomBytes(6).toString('hex')}`;
  // CREATE DATABASE … TEMPLATE fails if another session is connected to the template; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`create database ${name} template ${TEMPLATE_DB}`));
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const db = createDatabase(withDatabase(inject('adminUrl'), name));
  return Object.assign(db, {
    name,
    async drop() {
      await db.close();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  });
}
