// The send_email task through real worker loops and real Postgres, with the in-memory transport.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryTransport, type MemoryTransport } from '../src/mail/memory.js';
import { renderMessage } from '../src/mail/render.js';
import { SendError } from '../src/mail/transport.js';
import { createAccount } from '../src/storage/accounts.js';
import { getDailyMetrics } from '../src/storage/metrics.js';
import { getUsageLog, insertUsageLog } from '../src/storage/usage-logs.js';
import { createSigner } from '../src/tracking/signature.js';
import { createEnqueue } from '../src/worker/enqueue.js';
import { beaconTasks } from '../src/worker/tasks/index.js';
import { SEND_EMAIL_MAX_ATTEMPTS } from '../src/worker/tasks/send-email.js';
import { createWorker, type Worker } from '../src/worker/worker.js';
import { captureLogger, waitFor } from './helpers/worker-fixtures.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let accountId: number;
let transport: MemoryTransport;
let worker: Worker;
const signer = createSigner(['send-email-test-secret-0123456789']);
const enqueue = createEnqueue(beaconTasks);
const today = () => new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  db = await createTestDatabase();
  accountId = await createAccount(db.pool, 'sender');
  transport = createMemoryTransport();
  worker = createWorker({
    db,
    logger: captureLogger().logger,
    concurrency: 2,
    tasks: beaconTasks,
    deps: { transport, render: (log) => renderMessage(log, { publicUrl: 'https://t.example', signer }) },
    pollIntervalMs: 50,
    retry: { baseMs: 10, capMs: 50 },
  });
  await worker.start();
});
afterEach(() => {
  transport.sent.length = 0;
});
afterAll(async () => {
  await worker.stop(1_000);
  await db.drop();
});

async function queue(subject: string): Promise<number> {
  const logId = await insertUsageLog(db.pool, {
    accountId,
    from: 'News <news@example.com>',
    to: 'reader@example.com',
    subject,
    html: '<a href="https://example.com/x">x</a>',
    text: undefined,
    trackOpens: true,
    trackClicks: true,
  });
  await enqueue(db.pool, 'send_email', { logId });
  return logId;
}
const status = async (logId: number) => (await getUsageLog(db.pool, accountId, logId))!;
const taskOf = async (logId: number) =>
  (await db.pool.query<{ status: string; attempts: number; last_error: string | null }>(`select status, attempts, last_error from tasks where type = 'send_email' and payload->>'logId' = $1`, [String(logId)])).rows[0]!;

describe('send_email', () => {
  it('renders, sends, marks the log sent and counts it today', async () => {
    const before = (await getDailyMetrics(db.pool, accountId, today(), today()))[0]!.sent;
    const logId = await queue('hello');
    await waitFor(async () => (await status(logId)).status === 'sent');
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]!.html).toContain('https://t.example/api/track/click?url=https%3A%2F%2Fexample.com%2Fx');
    expect(transport.sent[0]!.html).toContain('https://t.example/api/track/open?logId=');
    expect((await status(logId)).sentAt).toBeInstanceOf(Date);
    expect((await getDailyMetrics(db.pool, accountId, today(), today()))[0]!.sent).toBe(before + 1);
  });

  it('retries a transient failure, keeping the error meanwhile, then sends', async () => {
    transport.failNext(new SendError('connect ECONNREFUSED', false));
    const logId = await queue('transient');
    await waitFor(async () => (await taskOf(logId)).status === 'succeeded');
    expect(await taskOf(logId)).toMatchObject({ attempts: 2 });
    expect((await status(logId)).status).toBe('sent');
    expect((await status(logId)).lastError).toBeNull();
    expect(transport.sent).toHaveLength(1);
  });

  it('a permanent failure fails the log at once, with its error, and counts it as failed', async () => {
    const before = (await getDailyMetrics(db.pool, accountId, today(), today()))[0]!.failed;
    transport.failNext(new SendError('550 mailbox unavailable', true));
    const logId = await queue('permanent');
    await waitFor(async () => (await taskOf(logId)).status === 'dead');
    expect(await status(logId)).toMatchObject({ status: 'failed', lastError: '550 mailbox unavailable' });
    expect((await taskOf(logId)).last_error).toContain('550 mailbox unavailable');
    expect(await taskOf(logId)).toMatchObject({ attempts: 1 });
    expect((await getDailyMetrics(db.pool, accountId, today(), today()))[0]!.failed).toBe(before + 1);
  });

  it('transient failures on every attempt end with a failed log and a dead task', async () => {
    for (let i = 0; i < SEND_EMAIL_MAX_ATTEMPTS; i++) transport.failNext(new SendError('421 try again later', false));
    const logId = await queue('always transient');
    await waitFor(async () => (await taskOf(logId)).status === 'dead', 10_000);
    expect(await taskOf(logId)).toMatchObject({ attempts: SEND_EMAIL_MAX_ATTEMPTS });
    expect(await status(logId)).toMatchObject({ status: 'failed', lastError: '421 try again later' });
    expect(transport.sent).toHaveLength(0);
  });

  it('a task for a log that was already sent does not send it again', async () => {
    const logId = await queue('once');
    await waitFor(async () => (await status(logId)).status === 'sent');
    await enqueue(db.pool, 'send_email', { logId });
    await waitFor(async () => {
      const { rows } = await db.pool.query(`select 1 from tasks where type = 'send_email' and payload->>'logId' = $1 and status = 'succeeded'`, [String(logId)]);
      return rows.length === 2;
    });
    expect(transport.sent.filter((m) => m.logId === logId)).toHaveLength(1);
  });
});

describe('send_email retry policy', () => {
  it('rides out an SMTP outage for hours, not seconds', async () => {
    const { retryDelayMs } = await import('../src/worker/backoff.js');
    const { SEND_EMAIL_RETRY } = await import('../src/worker/tasks/send-email.js');
    let total = 0;
    for (let attempt = 1; attempt < SEND_EMAIL_MAX_ATTEMPTS; attempt++) total += retryDelayMs(attempt, { ...SEND_EMAIL_RETRY, random: () => 0 });
    // The shortest the jitter allows: 4.5 hours.
    expect(total / 3_600_000).toBeGreaterThan(4.5);
  });

  it('shows a message waiting for a retry as queued, with the error', async () => {
    const slow = createWorker({
      db,
      logger: captureLogger().logger,
      concurrency: 1,
      tasks: beaconTasks,
      deps: { transport, render: (log) => renderMessage(log, { publicUrl: 'https://t.example', signer }) },
      pollIntervalMs: 50,
      retry: { baseMs: 60_000, capMs: 60_000 },
    });
    await worker.stop(1_000);
    await slow.start();
    try {
      transport.failNext(new SendError('connect ECONNREFUSED 127.0.0.1:25', false));
      const logId = await queue('waiting');
      await waitFor(async () => (await taskOf(logId)).attempts === 1 && (await taskOf(logId)).status === 'pending');
      expect(await status(logId)).toMatchObject({ status: 'queued', lastError: 'connect ECONNREFUSED 127.0.0.1:25' });
    } finally {
      await slow.stop(1_000);
    }
  });
});
