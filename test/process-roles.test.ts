// Scale-out roles on one Postgres: ROLE=web serves HTTP and runs no worker loops; ROLE=worker sends mail and serves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupBeaconProcesses, startBeaconProcess, type BeaconProcess } from './helpers/beacon-process.js';
import { freePort } from './helpers/net.js';
import { startSmtpSink } from './helpers/smtp-sink.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  sink = await startSmtpSink();
  env = { DATABASE_URL: db.url, TRACKING_SECRETS: 'roles-test-secret-0123456789', SMTP_URL: sink.url };
});
afterAll(async () => {
  await cleanupBeaconProcesses();
  await sink?.close();
  await db?.drop();
});

const count = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0]!.n;

describe('ROLE=web and ROLE=worker', () => {
  let web: BeaconProcess;
  let id: number;

  it('a web process queues mail but runs no worker loops', async () => {
    web = await startBeaconProcess({ env: { ...env, ROLE: 'web' } });
    const res = await fetch(`${web.url}/api/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${web.apiKey!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'roles@example.com', to: 'reader@example.com', subject: 'roles', html: '<p>hi</p>' }),
    });
    expect(res.status).toBe(202);
    id = ((await res.json()) as { id: number }).id;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await count('select count(*)::int as n from workers')).toBe(0);
    expect(await count(`select count(*)::int as n from pg_stat_activity where query ilike 'listen %'`)).toBe(0);
    expect(await count(`select count(*)::int as n from tasks where type = 'send_email' and status = 'pending'`)).toBe(1);
    expect(sink.messages).toHaveLength(0);
    expect(web.output()).not.toContain('executing task');
  });

  it('a worker process sends it and listens on no port', async () => {
    const port = await freePort();
    const worker = await startBeaconProcess({ port, env: { ...env, ROLE: 'worker' } });
    expect(worker.url).toBe('');
    await sink.waitFor(1, 15_000);
    expect(sink.messages[0]!.parsed.subject).toBe('roles');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(await count('select count(*)::int as n from workers')).toBe(1);
    const view = (await (await fetch(`${web.url}/api/messages/${id}`, { headers: { authorization: `Bearer ${web.apiKey!}` } })).json()) as { status: string };
    expect(view.status).toBe('sent');
    worker.killBeacon('SIGTERM');
    web.killBeacon('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await web.exited).code).toBe(0);
    expect(await count('select count(*)::int as n from workers')).toBe(0);
  });
});
