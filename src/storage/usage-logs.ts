// Usage logs: one row per email an account sends, from queued to sent or failed.
import type { UsageLogStatus } from './schema.js';
import type { Queryable } from './transaction.js';

export interface NewUsageLog {
  accountId: number;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string | undefined;
  trackOpens: boolean;
  trackClicks: boolean;
  /** Default false. */
  trackTextLinks?: boolean;
}

/** What the API shows of a usage log. */
export interface UsageLogView {
  id: number;
  status: UsageLogStatus;
  from: string;
  to: string;
  subject: string;
  createdAt: Date;
  sentAt: Date | null;
  openedAt: Date | null;
  openCount: number;
  clickedAt: Date | null;
  clickCount: number;
  lastError: string | null;
}

/** Everything the sender needs to render and send one usage log. */
export interface UsageLogForSend {
  id: number;
  accountId: number;
  status: UsageLogStatus;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string | null;
  trackOpens: boolean;
  trackClicks: boolean;
  trackTextLinks: boolean;
}

const viewColumns = `id, status, from_address as "from", to_address as "to", subject, created_at as "createdAt",
  sent_at as "sentAt", opened_at as "openedAt", open_count as "openCount", clicked_at as "clickedAt",
  click_count as "clickCount", last_error as "lastError"`;

export async function insertUsageLog(q: Queryable, log: NewUsageLog): Promise<number> {
  const { rows } = await q.query<{ id: number }>(
    `insert into usage_logs (account_id, from_address, to_address, subject, html, text_body, track_opens, track_clicks, track_text_links)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [log.accountId, log.from, log.to, log.subject, log.html, log.text ?? null, log.trackOpens, log.trackClicks, log.trackTextLinks ?? false],
  );
  return rows[0]!.id;
}

/** A usage log as its account sees it; another account's id reads as missing. */
export async function getUsageLog(q: Queryable, accountId: number, id: number): Promise<UsageLogView | undefined> {
  const { rows } = await q.query<UsageLogView>(`select ${viewColumns} from usage_logs where id = $1 and account_id = $2`, [id, accountId]);
  return rows[0];
}

export async function getUsageLogForSend(q: Queryable, id: number): Promise<UsageLogForSend | undefined> {
  const { rows } = await q.query<UsageLogForSend>(
    `select id, account_id as "accountId", status, from_address as "from", to_address as "to", subject, html,
       text_body as "text", track_opens as "trackOpens", track_clicks as "trackClicks", track_text_links as "trackTextLinks"
     from usage_logs where id = $1`,
    [id],
  );
  return rows[0];
}

/** queued → sending, so a reader can tell a message is on its way. False if it was already sent or failed. */
export async function markUsageLogSending(q: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `update usage_logs set status = 'sending' where id = $1 and status in ('queued', 'sending')`,
    [id],
  );
  return rowCount === 1;
}

/** Marks the log sent and counts it on the day it was sent (UTC), in the caller's transaction. */
export async function markUsageLogSent(q: Queryable, id: number, providerMessageId: string): Promise<boolean> {
  const { rows } = await q.query<{ account_id: number; day: string }>(
    `update usage_logs set status = 'sent', sent_at = now(), provider_message_id = $2, last_error = null
     where id = $1 and status in ('queued', 'sending')
     returning account_id, (sent_at at time zone 'UTC')::date::text as day`,
    [id, providerMessageId],
  );
  const row = rows[0];
  if (!row) return false;
  await q.query(
    `insert into daily_metrics (account_id, day, sent) values ($1, $2::date, 1)
     on conflict (account_id, day) do update set sent = daily_metrics.sent + 1`,
    [row.account_id, row.day],
  );
  return true;
}

/** Final failure: the log is `failed` with its error, counted on today's (UTC) row. */
export async function markUsageLogFailed(q: Queryable, id: number, error: string): Promise<boolean> {
  const { rows } = await q.query<{ account_id: number }>(
    `update usage_logs set status = 'failed', last_error = $2 where id = $1 and status in ('queued', 'sending') returning account_id`,
    [id, error],
  );
  const row = rows[0];
  if (!row) return false;
  await q.query(
    `insert into daily_metrics (account_id, day, failed) values ($1, (now() at time zone 'UTC')::date, 1)
     on conflict (account_id, day) do update set failed = daily_metrics.failed + 1`,
    [row.account_id],
  );
  return true;
}

/** A transient failure: back to `queued`, with the error kept for the reader while the task waits to retry. */
export async function noteUsageLogError(q: Queryable, id: number, error: string): Promise<void> {
  await q.query(`update usage_logs set status = 'queued', last_error = $2 where id = $1 and status in ('queued', 'sending')`, [id, error]);
}
