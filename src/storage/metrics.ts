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

export interface CounterMismatch {
  accountId: number;
  date: string;
  counter: string;
  stored: number;
  recomputed: number;
}

/**
 * Recomputes the tracking counters of every day from open_events and click_events and lists each difference.
 * (sent and failed are not derivable from events and are not checked here.)
 */
export async function verifyTrackingCounters(q: Queryable): Promise<CounterMismatch[]> {
  const { rows } = await q.query<CounterMismatch>(
    `with ev as (
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
     ),
     pairs as (
       select coalesce(e.account_id, m.account_id) as account_id, coalesce(e.day, m.day) as day, c.counter,
         c.stored, c.recomputed
       from expected e full join daily_metrics m on m.account_id = e.account_id and m.day = e.day
       cross join lateral (values
         ('opens', coalesce(m.opens, 0), coalesce(e.opens, 0)),
         ('uniqueOpens', coalesce(m.unique_opens, 0), coalesce(e.unique_opens, 0)),
         ('clicks', coalesce(m.clicks, 0), coalesce(e.clicks, 0)),
         ('uniqueClicks', coalesce(m.unique_clicks, 0), coalesce(e.unique_clicks, 0)),
         ('machineOpens', coalesce(m.machine_opens, 0), coalesce(e.machine_opens, 0)),
         ('machineClicks', coalesce(m.machine_clicks, 0), coalesce(e.machine_clicks, 0))
       ) as c(counter, stored, recomputed)
     )
     select account_id as "accountId", day::text as date, counter, stored::int, recomputed::int
     from pairs where stored <> recomputed order by 1, 2, 3`,
  );
  return rows;
}
