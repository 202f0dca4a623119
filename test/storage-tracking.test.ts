// recordOpens / recordClicks against real Postgres: first time kept, unique vs total, machines apart, idempotent.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/storage/accounts.js';
import { getDailyMetrics, rebuildTrackingCounters, verifyTrackingCounters } from '../src/storage/metrics.js';
import { recordClicks, recordOpens, type TrackingEvent } from '../src/storage/tracking-events.js';
import { withTransaction } from '../src/storage/transaction.js';
import { getUsageLog } from '../src/storage/usage-logs.js';
import { insertSentUsageLogs } from './helpers/sent-logs.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let accountId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  accountId = await createAccount(db.pool, 'tracking');
});
afterAll(async () => {
  expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  await db.drop();
});

/** A usage log sent long before the events below (clicks before sending, or within 3 s of it, are a scanner's). */
const newLog = async (account = accountId) => (await insertSentUsageLogs(db.pool, account, 1, new Date('2026-01-01T00:00:00Z')))[0]!;

const open = (logId: number, at: string, machine = false): TrackingEvent => ({ id: randomUUID(), logId, occurredAt: new Date(at), userAgent: 'Mozilla/5.0', machine });

describe('recordOpens', () => {
  it('keeps the first open, counts every human open, counts a log once as unique and machines apart', async () => {
    const logId = await newLog();
    await recordOpens(db.pool, [open(logId, '2026-03-01T10:00:00Z'), open(logId, '2026-03-01T10:05:00Z', true)]);
    await recordOpens(db.pool, [open(logId, '2026-03-01T11:00:00Z'), open(logId, '2026-03-02T09:00:00Z')]);
    const log = await getUsageLog(db.pool, accountId, logId);
    expect(log?.openedAt?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(log?.openCount).toBe(3);
    const days = await getDailyMetrics(db.pool, accountId, '2026-03-01', '2026-03-02');
    expect(days.map((d) => [d.date, d.opens, d.uniqueOpens, d.machineOpens])).toEqual([
      ['2026-03-01', 2, 1, 1],
      ['2026-03-02', 1, 0, 0],
    ]);
  });

  it('a machine-only open does not set opened_at nor count as unique', async () => {
    const logId = await newLog();
    await recordOpens(db.pool, [open(logId, '2026-04-01T10:00:00Z', true)]);
    const log = await getUsageLog(db.pool, accountId, logId);
    expect(log?.openedAt).toBeNull();
    expect(log?.openCount).toBe(0);
  });

  it('an open before the send is recorded is a machine open (a gateway reading the message while it is delivered)', async () => {
    const logId = await newLog();
    await db.pool.query(`update usage_logs set status = 'sending', sent_at = null where id = $1`, [logId]);
    await recordOpens(db.pool, [open(logId, '2026-04-02T10:00:00Z')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ openCount: 0, openedAt: null });
    const [day] = await getDailyMetrics(db.pool, accountId, '2026-04-02', '2026-04-02');
    expect(day).toMatchObject({ opens: 0, uniqueOpens: 0, machineOpens: 1 });
  });

  it('drops events for a log that does not exist and does not count a retried event twice', async () => {
    const logId = await newLog();
    const event = open(logId, '2026-05-01T10:00:00Z');
    expect(await recordOpens(db.pool, [event, open(999_999_999, '2026-05-01T10:00:00Z')])).toBe(1);
    expect(await recordOpens(db.pool, [event])).toBe(0);
    expect((await getUsageLog(db.pool, accountId, logId))?.openCount).toBe(1);
  });

  it('an earlier open committed after a later one becomes the first open, and the unique open moves to its day', async () => {
    const logId = await newLog();
    await recordOpens(db.pool, [open(logId, '2026-03-12T00:00:10Z')]);
    await recordOpens(db.pool, [open(logId, '2026-03-11T23:59:50Z')]);
    await recordOpens(db.pool, [open(logId, '2026-03-12T08:00:00Z')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ openCount: 3, openedAt: new Date('2026-03-11T23:59:50Z') });
    const days = await getDailyMetrics(db.pool, accountId, '2026-03-11', '2026-03-12');
    expect(days.map((d) => [d.date, d.opens, d.uniqueOpens])).toEqual([
      ['2026-03-11', 1, 1],
      ['2026-03-12', 2, 0],
    ]);
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  });

  it('concurrent batches on the same log count one unique open', async () => {
    const logId = await newLog();
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withTransaction(db, (tx) => recordOpens(tx, [open(logId, '2026-06-01T10:00:00Z'), open(logId, '2026-06-01T10:00:01Z')])),
      ),
    );
    const [day] = await getDailyMetrics(db.pool, accountId, '2026-06-01', '2026-06-01');
    expect(day).toMatchObject({ opens: 16, uniqueOpens: 1 });
  });
});

describe('recordClicks', () => {
  it('records the URL and keeps the first click', async () => {
    const logId = await newLog();
    const click = (at: string) => ({ ...open(logId, at), url: 'https://example.com/a?b=1&c=2' });
    await recordClicks(db.pool, [click('2026-07-01T10:00:00Z'), click('2026-07-01T10:00:02Z')]);
    const log = await getUsageLog(db.pool, accountId, logId);
    expect(log).toMatchObject({ clickCount: 2, clickedAt: new Date('2026-07-01T10:00:00Z') });
    const { rows } = await db.pool.query('select url from click_events where log_id = $1', [logId]);
    expect(rows.map((r) => r.url)).toEqual(['https://example.com/a?b=1&c=2', 'https://example.com/a?b=1&c=2']);
    const [day] = await getDailyMetrics(db.pool, accountId, '2026-07-01', '2026-07-01');
    expect(day).toMatchObject({ clicks: 2, uniqueClicks: 1 });
  });
});

describe('verifyTrackingCounters and rebuildTrackingCounters', () => {
  it('report and repair counters that disagree with the events, per day and per usage log', async () => {
    const other = await createAccount(db.pool, 'verify');
    const logId = await newLog(other);
    await recordOpens(db.pool, [open(logId, '2026-08-01T10:00:00Z')]);
    await db.pool.query(`update daily_metrics set opens = 5, machine_clicks = 2 where account_id = $1`, [other]);
    await db.pool.query(`update usage_logs set open_count = 9 where id = $1`, [logId]);
    expect(await verifyTrackingCounters(db.pool)).toEqual([
      { scope: 'day', accountId: other, key: '2026-08-01', counter: 'machineClicks', stored: '2', recomputed: '0' },
      { scope: 'day', accountId: other, key: '2026-08-01', counter: 'opens', stored: '5', recomputed: '1' },
      { scope: 'usage log', accountId: other, key: String(logId), counter: 'openCount', stored: '9', recomputed: '1' },
    ]);
    expect(await withTransaction(db, (tx) => rebuildTrackingCounters(tx))).toEqual({ days: 1, logs: 1 });
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
    expect(await withTransaction(db, (tx) => rebuildTrackingCounters(tx))).toEqual({ days: 0, logs: 0 });
  });
});

describe('machine clicks recognised from timing', () => {
  const click = (logId: number, at: string, url: string, machine = false) => ({ ...open(logId, at, machine), url });
  const record = (events: ReturnType<typeof click>[]) => recordClicks(db.pool, events);
  const day = async (d: string) => (await getDailyMetrics(db.pool, accountId, d, d))[0]!;

  it('a click within 3 s of sending is a scanner', async () => {
    const logId = await newLog();
    await db.pool.query(`update usage_logs set status = 'sent', sent_at = '2026-09-01T10:00:00Z' where id = $1`, [logId]);
    await record([click(logId, '2026-09-01T10:00:01Z', 'https://example.com/a')]);
    await record([click(logId, '2026-09-01T10:05:00Z', 'https://example.com/a')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ clickCount: 1, clickedAt: new Date('2026-09-01T10:05:00Z') });
    expect(await day('2026-09-01')).toMatchObject({ clicks: 1, uniqueClicks: 1, machineClicks: 1 });
  });

  it('different links hit within 2 s are a sweep, including the first, whose counts move back', async () => {
    const logId = await newLog();
    await record([click(logId, '2026-09-02T10:00:00Z', 'https://example.com/a')]);
    expect(await day('2026-09-02')).toMatchObject({ clicks: 1, uniqueClicks: 1, machineClicks: 0 });
    await record([click(logId, '2026-09-02T10:00:01Z', 'https://example.com/b'), click(logId, '2026-09-02T10:00:01.500Z', 'https://example.com/c')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ clickCount: 0, clickedAt: null });
    expect(await day('2026-09-02')).toMatchObject({ clicks: 0, uniqueClicks: 0, machineClicks: 3 });
  });

  it('a person who clicked earlier keeps their click; the same link twice is not a sweep', async () => {
    const logId = await newLog();
    await record([click(logId, '2026-09-03T09:00:00Z', 'https://example.com/a'), click(logId, '2026-09-03T09:00:01Z', 'https://example.com/a')]);
    await record([click(logId, '2026-09-03T12:00:00Z', 'https://example.com/a'), click(logId, '2026-09-03T12:00:00.800Z', 'https://example.com/b')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ clickCount: 2, clickedAt: new Date('2026-09-03T09:00:00Z') });
    expect(await day('2026-09-03')).toMatchObject({ clicks: 2, uniqueClicks: 1, machineClicks: 2 });
  });

  it('when the first human click turns out to be a sweep, the unique click moves to the next human click\'s day', async () => {
    const logId = await newLog();
    await record([click(logId, '2026-09-04T23:59:59.500Z', 'https://example.com/a')]);
    await record([click(logId, '2026-09-05T15:00:00Z', 'https://example.com/a')]);
    await record([click(logId, '2026-09-05T00:00:00.500Z', 'https://example.com/b')]);
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ clickCount: 1, clickedAt: new Date('2026-09-05T15:00:00Z') });
    expect(await day('2026-09-04')).toMatchObject({ clicks: 0, uniqueClicks: 0, machineClicks: 1 });
    expect(await day('2026-09-05')).toMatchObject({ clicks: 1, uniqueClicks: 1, machineClicks: 1 });
  });
});

describe('clicks of one sweep in concurrent batches', () => {
  it('batches committed while another waits on the same log are seen by it: every click of the sweep is a machine click', async () => {
    const logId = await newLog();
    const at = '2026-10-01T10:00:00Z';
    // Eight batches at once (eight connections), one link each: each batch but the first waits for the log's lock.
    for (let round = 0; round < 5; round++) {
      const started = new Date(Date.parse(at) + round * 60_000);
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          recordClicks(db.pool, [{ ...open(logId, new Date(started.getTime() + i * 10).toISOString()), url: `https://example.com/r${round}/link-${i}` }]),
        ),
      );
    }
    expect(await getUsageLog(db.pool, accountId, logId)).toMatchObject({ clickCount: 0, clickedAt: null });
    const [d] = await getDailyMetrics(db.pool, accountId, '2026-10-01', '2026-10-01');
    expect(d).toMatchObject({ clicks: 0, uniqueClicks: 0, machineClicks: 40 });
  });
});
