// Starts one PostgreSQL for the whole run (embedded, or TEST_DATABASE_URL) and migrates a template database once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/log/index.js';
import { createDatabase } from '../../src/storage/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/storage/embedded.js';
import { runMigrations } from '../../src/storage/migrate.js';
import { TEMPLATE_DB, withDatabase } from './pg-url.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedPostgres | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl === undefined) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beacon-test-pg-'));
    fs.chmodSync(tmp, 0o755);
    embedded = await startEmbeddedPostgres({
      dir: path.join(tmp, 'pg'),
      logger: createLogger({ level: 'warn' }),
      // A throwaway cluster: durability off, room for many test databases and connections.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    adminUrl = embedded.adminUrl;
  }

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB}`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const template = createDatabase(withDatabase(adminUrl, TEMPLATE_DB));
  await runMigrations(template);
  await template.close();

  project.provide('adminUrl', adminUrl);
  return async () => {
    await embedded?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  };
}
