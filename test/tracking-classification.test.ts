// Recording under arbitrary batching: whatever way clicks and opens are split into batches, retried or written
// side by side (several processes), every stored click is classified by the same closed-form rule, a log's
// first open is its earliest, and every counter agrees with the events. Also: click batches and
// `metrics rebuild` running together do not deadlock.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/storage/accounts.js';
import { rebuildTrackingCounters, verifyTrackingCounters } from '../src/storage/metrics.js';
import { recordClicks, recordOpens, type ClickEvent, type TrackingEvent } from '../src/storage/tracking-events.js';
import { withTransaction } from '../src/storage/transaction.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { insertSentUsageLogs } from './helpers/sent-logs.js';

let db: TestDatabase;
let accountId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  accountId = await createAccount(db.pool, 'classification');
});
afterAll(async () => {
  await db.drop();
});

// Around a UTC midnight, so first clicks and their unique counts move between days.
const T0 = Date.parse('2026-05-01T23:59:50Z');

const newLogs = (n: number, sentAt: Date) => insertSentUsageLogs(db.pool, accountId, n, sentAt);

/**
 * The rule, from the stored events alone: a click is a machine's if the recorder said so (a bot's user agent),
 * if it came before its message was recorded as sent or within 3 s after, or if another link of the same message was clicked within 2 s of it.
 */
async function misclassified(logIds: number[], givenMachine: ReadonlySet<string>): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string; machine: boolean; rule: boolean }>(
    `select e.id, e.machine,
       l.sent_at is null or e.occurred_at < l.sent_at + interval '3 seconds'
       or exists (select 1 from click_events o where o.log_id = e.log_id and o.url <> e.url
                  and o.occurred_at between e.occurred_at - interval '2 seconds' and e.occurred_at + interval '2 seconds') as rule
     from click_events e join usage_logs l on l.id = e.log_id where e.log_id = any($1::bigint[])`,
    [logIds],
  );
  return rows.filter((r) => r.machine !== (r.rule || givenMachine.has(r.id))).map((r) => `${r.id} stored ${r.machine}`);
}

async function negativeCounters(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `select ((select count(*) from daily_metrics where least(clicks, machine_clicks, unique_clicks) < 0)
           + (select count(*) from usage_logs where click_count < 0))::int as n`,
  );
  return rows[0]!.n;
}

// Clicks on a 250 ms grid over 10 s: many equal times, many exactly 2 s apart, several links per message.
const clickArb = fc.record({
  log: fc.integer({ min: 0, max: 2 }),
  tick: fc.integer({ min: 0, max: 40 }),
  link: fc.constantFrom('https://example.com/a', 'https://example.com/b', 'https://example.com/c'),
  bot: fc.integer({ min: 0, max: 9 }).map((n) => n === 0), // one click in ten from a bot's user agent
});

describe('click classification', () => {
  it('matches the closed-form rule and the counters verify, however the clicks are batched, retried or interleaved', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(clickArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (batchesSpec, parallel, retry) => {
          // Log 0 was sent just before the first click: its first 3 s of clicks are a scanner's.
          const [scanned] = await newLogs(1, new Date(T0 - 1000));
          const others = await newLogs(2, new Date(T0 - 3_600_000));
          const logIds = [scanned!, ...others];
          const givenMachine = new Set<string>();
          const batches: ClickEvent[][] = batchesSpec.map((spec) =>
            spec.map((c) => {
              const id = randomUUID();
              if (c.bot) givenMachine.add(id);
              return { id, logId: logIds[c.log]!, occurredAt: new Date(T0 + c.tick * 250), userAgent: 'ua', machine: c.bot, url: c.link };
            }),
          );
          // `parallel` batches at a time, as recorders in several processes would write them.
          for (let i = 0; i < batches.length; i += parallel) {
            await Promise.all(batches.slice(i, i + parallel).map((b) => recordClicks(db.pool, b)));
          }
          // A retried batch (its first attempt committed) stores nothing and moves no counter.
          if (retry) expect(await recordClicks(db.pool, batches[0]!)).toBe(0);
          expect(await misclassified(logIds, givenMachine)).toEqual([]);
          expect(await verifyTrackingCounters(db.pool)).toEqual([]);
          expect(await negativeCounters()).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('one link replayed many times next to a sweep: each click still classified by the rule', async () => {
    const logIds = await newLogs(1, new Date(T0 - 3_600_000));
    const logId = logIds[0]!;
    const click = (ms: number, url: string): ClickEvent => ({ id: randomUUID(), logId, occurredAt: new Date(T0 + ms), userAgent: 'ua', machine: false, url });
    // 300 clicks on one link over 3 s, in three batches; then one click on another link in the middle.
    for (let b = 0; b < 3; b++) await recordClicks(db.pool, Array.from({ length: 100 }, (_, i) => click(b * 1000 + i * 10, 'https://example.com/a')));
    await recordClicks(db.pool, [click(1500, 'https://example.com/b')]);
    expect(await misclassified(logIds, new Set())).toEqual([]);
    const { rows } = await db.pool.query<{ human: number }>('select count(*) filter (where not machine)::int as human from click_events where log_id = $1', [logId]);
    // The clicks on `a` within 2 s of 1.5 s (-0.5 s to 3.5 s: all 300) and the click on `b` are machine clicks.
    expect(rows[0]!.human).toBe(0);
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  });
});

describe('open recording', () => {
  it('keeps the earliest human open and verifies, however opens are batched, ordered, retried or interleaved', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ log: fc.integer({ min: 0, max: 2 }), tick: fc.integer({ min: 0, max: 80 }), bot: fc.boolean() }), { minLength: 1, maxLength: 10 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (batchesSpec, parallel, retry) => {
          const logIds = await newLogs(3, new Date(T0 - 3_600_000));
          // Ticks of 250 ms from 10 s before midnight: first opens on either side of it.
          const batches: TrackingEvent[][] = batchesSpec.map((spec) =>
            spec.map((o) => ({ id: randomUUID(), logId: logIds[o.log]!, occurredAt: new Date(T0 + o.tick * 250), userAgent: 'ua', machine: o.bot })),
          );
          for (let i = 0; i < batches.length; i += parallel) {
            await Promise.all(batches.slice(i, i + parallel).map((b) => recordOpens(db.pool, b)));
          }
          if (retry) expect(await recordOpens(db.pool, batches[batches.length - 1]!)).toBe(0);
          const { rows } = await db.pool.query<{ id: number; opened_at: Date | null; open_count: number; first: Date | null; human: number }>(
            `select l.id, l.opened_at, l.open_count,
               (select min(occurred_at) from open_events e where e.log_id = l.id and not e.machine) as first,
               (select count(*) from open_events e where e.log_id = l.id and not e.machine)::int as human
             from usage_logs l where l.id = any($1::bigint[]) order by l.id`,
            [logIds],
          );
          for (const r of rows) {
            expect(r.opened_at?.getTime() ?? null).toBe(r.first?.getTime() ?? null);
            expect(r.open_count).toBe(r.human);
          }
          expect(await verifyTrackingCounters(db.pool)).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe('click batches and metrics rebuild side by side', () => {
  it('neither deadlocks nor fails, and the counters end up right', async () => {
    const logIds = await newLogs(20, new Date(T0 - 3_600_000));
    const errors: string[] = [];
    const deadline = Date.now() + 3_000;
    let batches = 0;
    let rebuilds = 0;
    const clickers = Array.from({ length: 4 }, async (_, w) => {
      for (let k = 0; Date.now() < deadline; k++) {
        const events = logIds.map((logId, i) => ({
          id: randomUUID(),
          logId,
          occurredAt: new Date(T0 + k * 10_000 + w * 3_000 + i),
          userAgent: null,
          machine: false,
          url: `https://example.com/${w}`,
        }));
        await recordClicks(db.pool, events).then(
          () => batches++,
          (err: Error) => errors.push(`click batch: ${err.message}`),
        );
      }
    });
    const rebuilder = (async () => {
      while (Date.now() < deadline) {
        // Wrong counters on every log, so the rebuild has usage logs to update while the batches hold theirs
        // (rows locked in id order, as every writer of usage logs does).
        await db.pool.query(
          `update usage_logs set click_count = click_count + 1000
           where id in (select id from usage_logs where id = any($1::bigint[]) order by id for update)`,
          [logIds],
        );
        await withTransaction(db, (tx) => rebuildTrackingCounters(tx)).then(
          () => rebuilds++,
          (err: Error) => errors.push(`rebuild: ${err.message}`),
        );
      }
    })();
    await Promise.all([...clickers, rebuilder]);
    expect(errors).toEqual([]);
    expect(batches).toBeGreaterThan(4);
    expect(rebuilds).toBeGreaterThan(1);
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  }, 30_000);
});
