// Beacon in this process on its own test database, sending to a real SMTP server on loopback: the setup of the
// end-to-end tests. `api` calls Beacon's HTTP API with the bootstrap key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startBeacon } from '../../src/main/start.js';
import { freePort } from './net.js';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export interface SmtpBeacon {
  db: TestDatabase;
  sink: SmtpSink;
  /** `http://localhost:<port>` */
  base: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export async function startSmtpBeacon(sinkOptions: SmtpSinkOptions = {}): Promise<SmtpBeacon> {
  const apiKey = 'bk_e2e_test_key_0123456789abcdef';
  const db = await createTestDatabase();
  const sink = await startSmtpSink(sinkOptions);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'beacon-e2e-'));
  const port = await freePort();
  const config = loadConfig({
    DATABASE_URL: db.url,
    TRACKING_SECRETS: 'e2e-secret-0123456789abcdef',
    SMTP_URL: sink.url,
    PORT: String(port),
    BOOTSTRAP_API_KEY: apiKey,
    DATA_DIR: dataDir,
  });
  const beacon = await startBeacon(config, createLogger({ level: 'warn' }), () => undefined);
  const base = `http://localhost:${port}`;
  return {
    db,
    sink,
    base,
    api: (p, init = {}) =>
      fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers } }),
    async stop() {
      await beacon.stop();
      await sink.close();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
