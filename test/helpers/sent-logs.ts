// Usage logs as the worker leaves them once their message is sent. Opens and clicks before the send is recorded
// are a machine's, so tests of people's opens and clicks need sent messages.
import type { Queryable } from '../../src/storage/transaction.js';

/** Inserts `count` sent usage logs (tracking on) of `accountId`, sent at `sentAt` (an hour ago by default); their ids in order. */
export async function insertSentUsageLogs(q: Queryable, accountId: number, count: number, sentAt = new Date(Date.now() - 3_600_000)): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `insert into usage_logs (account_id, from_address, to_address, subject, html, status, sent_at, track_opens, track_clicks)
     select $1, 'news@example.com', 'r' || g || '@example.com', 'Hi', '<p>hi</p>', 'sent', $3, true, true
     from generate_series(1, $2) g order by g returning id`,
    [accountId, count, sentAt],
  );
  return rows.map((r) => r.id);
}
