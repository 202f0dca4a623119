// Daily metrics per account: reading a range, and recomputing counters from the raw events to check them.
import type { Queryable } from './transaction.js';

export interface DailyMetricsRow {
  date: string;
  sent: number;
  failed: number;
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  machineOpens: number;
  machineClicks: number;
}

/** One row per UTC day from `from` to `to` inclusive (YYYY-MM-DD), zeros where nothing happened. */
export async function getDailyMetrics(q: Queryable, accountId: number, from: string, to: string): Promise<DailyMetricsRow[]> {
  const { rows } = await q.query<DailyMetricsRow>(
    `select d::date::text as date,
       coalesce(m.sent, 0) as sent, coalesce(m.failed, 0) as failed,
       coalesce(m.opens, 0) as opens, coalesce(m.unique_opens, 0) as "uniqueOpens",
       coalesce(m.clicks, 0) as clicks, coalesce(m.unique_clicks, 0) as "uniqueClicks",
       coalesce(m.machine_opens, 0) as "machineOpens", coalesce(m.machine_clicks, 0) as "machineClicks"
     from generate_series($2::date, $3::date, interval '1 day') as d
     left join daily_metrics m on m.account_id = $1 and m.day = d::date
     order by d`,
    [accountId, from, to],
  );
  return rows;
}

/** A stored counter that disagrees with what the raw events say. */
export interface CounterMismatch {
  /** A day's row (`daily_metrics`) or a usage log's own counters. */
  scope: 'day' | 'usage log';
  accountId: number;
  /** The day (YYYY-MM-DD) or the usage log id. */
  key: string;
  counter: string;
  stored: string;
  recomputed: string;
}

/** Every day's tracking counters, recomputed from open_events and click_events (people only, machines apart). */
const EXPECTED_DAYS = `
  ev as (
    select account_id, log_id, occurred_at, machine, 'open' as kind from open_events
    union all
    select account_id, log_id, occurred_at, machine, 'click' from click_events
  ),
  firsts as (
    select account_id, kind, (min(occurred_at) at time zone 'UTC')::date as day
    from ev where not machine group by account_id, log_id, kind
  ),
  recomputed as (
    select account_id, (occurred_at at time zone 'UTC')::date as day,
      count(*) filter (where kind = 'open' and not machine) as opens,
      count(*) filter (where kind = 'click' and not machine) as clicks,
      count(*) filter (where kind = 'open' and machine) as machine_opens,
      count(*) filter (where kind = 'click' and machine) as machine_clicks
    from ev group by 1, 2
  ),
  uniq as (
    select account_id, day, count(*) filter (where kind = 'open') as unique_opens, count(*) filter (where kind = 'click') as unique_clicks
    from firsts group by 1, 2
  ),
  expected as (
    select r.account_id, r.day, r.opens, r.clicks, r.machine_opens, r.machine_clicks,
      coalesce(u.unique_opens, 0) as unique_opens, coalesce(u.unique_clicks, 0) as unique_clicks
    from recomputed r left join uniq u using (account_id, day)
  )`;

/** Every usage log's own counters (people only), recomputed from the events. */
const EXPECTED_LOGS = `
  expected_logs as (
    select l.id, l.account_id,
      (select count(*) from open_events e where e.log_id = l.id and not e.machine) as open_count,
      (select min(occurred_at) from open_events e where e.log_id = l.id and not e.machine) as opened_at,
      (select count(*) from click_events e where e.log_id = l.id and not e.machine) as click_count,
      (select min(occurred_at) from click_events e where e.log_id = l.id and not e.machine) as clicked_at
    from usage_logs l
  )`;

/**
 * Recomputes every tracking counter, per day and per usage log, from the raw events and lists each difference.
 * (sent and failed are not derivable from events and are not checked.)
 */
export async function verifyTrackingCounters(q: Queryable): Promise<CounterMismatch[]> {
  const { rows } = await q.query<CounterMismatch>(
    `with ${EXPECTED_DAYS}, ${EXPECTED_LOGS},
     day_pairs as (
       select coalesce(e.account_id, m.account_id) as account_id, coalesce(e.day, m.day)::text as key, c.counter, c.stored, c.recomputed
       from expected e full join daily_metrics m on m.account_id = e.account_id and m.day = e.day
       cross join lateral (values
         ('opens', coalesce(m.opens, 0), coalesce(e.opens, 0)),
         ('uniqueOpens', coalesce(m.unique_opens, 0), coalesce(e.unique_opens, 0)),
         ('clicks', coalesce(m.clicks, 0), coalesce(e.clicks, 0)),
         ('uniqueClicks', coalesce(m.unique_clicks, 0), coalesce(e.unique_clicks, 0)),
         ('machineOpens', coalesce(m.machine_opens, 0), coalesce(e.machine_opens, 0)),
         ('machineClicks', coalesce(m.machine_clicks, 0), coalesce(e.machine_clicks, 0))
       ) as c(counter, stored, recomputed)
     ),
     log_pairs as (
       select x.account_id, x.id::text as key, c.counter, c.stored, c.recomputed
       from expected_logs x join usage_logs l on l.id = x.id
       cross join lateral (values
         ('openCount', l.open_count::text, x.open_count::text),
         ('openedAt', l.opened_at::text, x.opened_at::text),
         ('clickCount', l.click_count::text, x.click_count::text),
         ('clickedAt', l.clicked_at::text, x.clicked_at::text)
       ) as c(counter, stored, recomputed)
     )
     select 'day' as scope, account_id as "accountId", key, counter, stored::text, recomputed::text
       from day_pairs where stored <> recomputed
     union all
     select 'usage log', account_id, key, counter, coalesce(stored, 'null'), coalesce(recomputed, 'null')
       from log_pairs where stored is distinct from recomputed
     order by 1, 2, 3, 4`,
  );
  return rows;
}

/**
 * Sets every tracking counter, per day and per usage log, to what the events say. Run it in a transaction:
 * it locks the event tables against writers (tracking batches wait and then go on) so nothing moves under it.
 * Returns how many day rows and usage logs it changed.
 */
export async function rebuildTrackingCounters(q: Queryable): Promise<{ days: number; logs: number }> {
  await q.query('lock table open_events, click_events in share mode');
  const days = await q.query(
    `with ${EXPECTED_DAYS},
     target as (
       select coalesce(e.account_id, m.account_id) as account_id, coalesce(e.day, m.day) as day,
         coalesce(e.opens, 0) as opens, coalesce(e.unique_opens, 0) as unique_opens, coalesce(e.clicks, 0) as clicks,
         coalesce(e.unique_clicks, 0) as unique_clicks, coalesce(e.machine_opens, 0) as machine_opens, coalesce(e.machine_clicks, 0) as machine_clicks
       from expected e full join daily_metrics m on m.account_id = e.account_id and m.day = e.day
     )
     insert into daily_metrics as d (account_id, day, opens, unique_opens, clicks, unique_clicks, machine_opens, machine_clicks)
     select * from target order by account_id, day
     on conflict (account_id, day) do update set
       opens = excluded.opens, unique_opens = excluded.unique_opens, clicks = excluded.clicks,
       unique_clicks = excluded.unique_clicks, machine_opens = excluded.machine_opens, machine_clicks = excluded.machine_clicks
     where (d.opens, d.unique_opens, d.clicks, d.unique_clicks, d.machine_opens, d.machine_clicks)
       is distinct from (excluded.opens, excluded.unique_opens, excluded.clicks, excluded.unique_clicks, excluded.machine_opens, excluded.machine_clicks)`,
  );
  const logs = await q.query(
    `with ${EXPECTED_LOGS}
     update usage_logs l set open_count = x.open_count, opened_at = x.opened_at, click_count = x.click_count, clicked_at = x.clicked_at
     from expected_logs x
     where l.id = x.id and (l.open_count, l.opened_at, l.click_count, l.clicked_at)
       is distinct from (x.open_count::int, x.opened_at, x.click_count::int, x.clicked_at)`,
  );
  return { days: days.rowCount ?? 0, logs: logs.rowCount ?? 0 };
}
