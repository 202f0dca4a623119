// The dashboard's reading of usage logs: a filtered, paged list and one message's open and click events.
import type { UsageLogStatus } from './schema.js';
import type { Queryable } from './transaction.js';

export interface MessageListFilter {
  status?: UsageLogStatus | undefined;
  /** Created on or after this UTC day (YYYY-MM-DD). */
  from?: string | undefined;
  /** Created on or before this UTC day (YYYY-MM-DD). */
  to?: string | undefined;
  limit: number;
  offset: number;
}

export interface MessageListRow {
  id: number;
  status: UsageLogStatus;
  to: string;
  subject: string;
  createdAt: Date;
  sentAt: Date | null;
  openCount: number;
  clickCount: number;
  lastError: string | null;
}

/** One page of an account's usage logs, newest first, and how many match in all. */
export async function listUsageLogs(q: Queryable, accountId: number, f: MessageListFilter): Promise<{ rows: MessageListRow[]; total: number }> {
  const where = `account_id = $1 and ($2::text is null or status = $2::text)
    and ($3::date is null or created_at >= ($3::date at time zone 'UTC'))
    and ($4::date is null or created_at < (($4::date + 1) at time zone 'UTC'))`;
  const args = [accountId, f.status ?? null, f.from ?? null, f.to ?? null];
  const [page, count] = await Promise.all([
    q.query<MessageListRow>(
      `select id, status, to_address as "to", subject, created_at as "createdAt", sent_at as "sentAt",
         open_count as "openCount", click_count as "clickCount", last_error as "lastError"
       from usage_logs where ${where} order by created_at desc, id desc limit $5::int offset $6::int`,
      [...args, f.limit, f.offset],
    ),
    q.query<{ n: number }>(`select count(*)::int as n from usage_logs where ${where}`, args),
  ]);
  return { rows: page.rows, total: count.rows[0]!.n };
}

export interface MessageEvent {
  kind: 'open' | 'click';
  occurredAt: Date;
  machine: boolean;
  userAgent: string | null;
  url: string | null;
}

/** The latest open and click events of one usage log (the caller has checked the account), newest first. */
export async function listMessageEvents(q: Queryable, logId: number, limit = 200): Promise<MessageEvent[]> {
  const { rows } = await q.query<MessageEvent>(
    `select * from (
       select 'open' as kind, occurred_at as "occurredAt", machine, user_agent as "userAgent", null::text as url
         from open_events where log_id = $1
       union all
       select 'click', occurred_at, machine, user_agent, url from click_events where log_id = $1
     ) e order by "occurredAt" desc limit $2::int`,
    [logId, limit],
  );
  return rows;
}

/** Recipient and subject of those of `ids` that belong to the account. */
export async function usageLogSummaries(q: Queryable, accountId: number, ids: readonly number[]): Promise<Array<{ id: number; to: string; subject: string }>> {
  const { rows } = await q.query<{ id: number; to: string; subject: string }>(
    'select id, to_address as "to", subject from usage_logs where id = any($1::bigint[]) and account_id = $2',
    [ids, accountId],
  );
  return rows;
}
