-- Records a batch of clicks in one call (src/storage/tracking-events.ts recordClicks): one round trip, one
-- transaction, returns how many events were stored (duplicates and events of unknown logs are not).
--
-- Why a function: the batch must lock its usage logs *before* the statement that reads the stored clicks
-- takes its snapshot. In READ COMMITTED a single statement's snapshot is taken when it starts, so a
-- statement that waited for another batch's lock on the same log would not see that batch's clicks: it
-- would miss a sweep split across two batches (or two processes), and both batches would flip the same
-- earlier clicks and count them back twice. In a VOLATILE function every statement takes a fresh snapshot,
-- so the second statement below sees everything committed on those logs before their locks were granted,
-- without the begin / lock / statement / commit round trips a client-side transaction would cost.
--
-- What it records: a click before the send is recorded or within 3 seconds after it is a scanner's; clicks on different links of one
-- message within 2 seconds of each other are a sweep (mailgun and sendgrid classify the same way). A sweep
-- is only recognisable from its second click, so the earlier, stored clicks of a sweep become machine clicks
-- too, and every counter they had moved moves back: the log's count and first click, and per UTC day the
-- clicks, machine clicks and unique clicks (the unique click follows the log's first human click wherever
-- it goes). People (not machines) move a log's count; every daily row is touched once, in key order.
--
-- Every step is linear in the batch and in the stored clicks it must look at, and reaches tables only through
-- indexes, whatever the statistics say: the plans are generic (planned once per connection; a custom plan
-- costs more to plan than to run) and sequential scans are off, because a plan made while click_events was
-- small would otherwise keep scanning it after it grew (measured: 100,000 rows read per batch). Events meet
-- their log through the primary key; the stored clicks near the new ones are read with one index range per
-- cluster of new clicks of a log (not one per click: a link replayed a thousand times a second would make
-- that quadratic); new and stored clicks then meet in sorted order, where the nearest click on another link
-- before and after each click is found by carrying values along the sort, not by comparing pairs.
CREATE OR REPLACE FUNCTION beacon_record_clicks(
  p_ids uuid[], p_log_ids bigint[], p_occurred_at timestamptz[], p_user_agents text[], p_machine boolean[], p_urls text[]
) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  n_recorded integer;
BEGIN
  -- Table locks before any row lock, as a single statement takes them: otherwise `beacon metrics rebuild`
  -- (which takes click_events in share mode, then updates usage logs) could slip in between and deadlock.
  LOCK TABLE click_events IN ROW EXCLUSIVE MODE;
  -- Row lock order (usage logs by id, then daily rows by key) is the same as the opens statement's.
  PERFORM 1 FROM usage_logs WHERE id = ANY (p_log_ids) ORDER BY id FOR UPDATE;

  WITH input AS (
    SELECT * FROM unnest(p_ids, p_log_ids, p_occurred_at, p_user_agents, p_machine, p_urls)
      AS i(id, log_id, occurred_at, user_agent, machine, url)
  ),
  logs AS (
    SELECT l.id, l.account_id, l.clicked_at AS first_before FROM usage_logs l WHERE l.id = ANY (p_log_ids)
  ),
  fresh0 AS (
    -- Events of logs that exist, less any already stored (a batch retried after an ambiguous failure).
    SELECT i.id, i.log_id, l.account_id, i.occurred_at, i.user_agent, i.url,
      -- Before the send is recorded (an inline gateway fetching links while it receives the message) or within
      -- 3 s after it: a scanner's.
      i.machine OR l.sent_at IS NULL OR i.occurred_at < l.sent_at + interval '3 seconds' AS machine
    FROM input i
    CROSS JOIN LATERAL (SELECT l.account_id, l.sent_at FROM usage_logs l WHERE l.id = i.log_id OFFSET 0) l
    LEFT JOIN LATERAL (SELECT true AS stored FROM click_events e WHERE e.id = i.id OFFSET 0) e ON true
    WHERE e.stored IS NULL
  ),
  gaps AS (
    -- Each log's new clicks in clusters: a new cluster starts after a gap of more than 4 s, so every instant
    -- of a cluster's span (its clicks ± 2 s) is within 2 s of one of its clicks.
    SELECT log_id, occurred_at, url,
      coalesce(occurred_at - lag(occurred_at) OVER (PARTITION BY log_id ORDER BY occurred_at) > interval '4 seconds', true) AS new_grp
    FROM fresh0
  ),
  grps AS (
    SELECT log_id, occurred_at, url, count(*) FILTER (WHERE new_grp) OVER (PARTITION BY log_id ORDER BY occurred_at ROWS UNBOUNDED PRECEDING) AS grp
    FROM gaps
  ),
  spans AS (
    -- only_url: the one link all of a cluster's new clicks are on, if they are on one (the usual case).
    SELECT log_id, min(occurred_at) - interval '2 seconds' AS lo, max(occurred_at) + interval '2 seconds' AS hi,
      CASE WHEN min(url) = max(url) THEN min(url) END AS only_url
    FROM grps GROUP BY log_id, grp
  ),
  stored AS (
    -- Stored clicks within 2 s of a new click: one range read of click_events_log_time_idx per cluster (this
    -- statement sees click_events as before it). When the cluster's new clicks are all on one link, stored
    -- clicks on that link cannot make a sweep with them and are left out (two stored clicks on different links
    -- within 2 s are machine clicks already, so what they would say of each other is known): a link replayed
    -- many times costs its index entries, not a sort of all of them.
    SELECT o.id, o.log_id, o.occurred_at, o.url, o.machine FROM spans s
    CROSS JOIN LATERAL (
      SELECT o.id, o.log_id, o.occurred_at, o.url, o.machine FROM click_events o
      WHERE o.log_id = s.log_id AND o.occurred_at BETWEEN s.lo AND s.hi AND o.url IS DISTINCT FROM s.only_url
      OFFSET 0
    ) o
  ),
  allc AS (
    SELECT id, log_id, account_id, occurred_at, user_agent, url, true AS is_fresh, machine FROM fresh0
    UNION ALL SELECT id, log_id, NULL::bigint, occurred_at, NULL::text, url, false, machine FROM stored
  ),
  runs AS (
    -- New and stored clicks of a log in (time, url) order. The first click of a run of one URL knows the
    -- click before it (another link); the last knows the click after it.
    SELECT a.*,
      CASE WHEN url IS DISTINCT FROM lag(url) OVER o THEN lag(occurred_at) OVER o END AS start_prev,
      CASE WHEN url IS DISTINCT FROM lead(url) OVER o THEN lead(occurred_at) OVER o END AS end_next
    FROM allc a WINDOW o AS (PARTITION BY log_id ORDER BY occurred_at, url)
  ),
  swept AS (
    -- The nearest earlier and later clicks on another link, carried forward (running max) and backward
    -- (running min) to every click of the run; the default RANGE frame gives equal timestamps one answer.
    -- Within 2 s on either side: a sweep.
    SELECT r.*, (occurred_at - max(start_prev) OVER (PARTITION BY log_id ORDER BY occurred_at, url) <= interval '2 seconds')
             OR (min(end_next) OVER (PARTITION BY log_id ORDER BY occurred_at DESC, url DESC) - occurred_at <= interval '2 seconds') AS in_sweep
    FROM runs r
  ),
  fresh AS (
    SELECT id, log_id, account_id, occurred_at, user_agent, url, machine, coalesce(in_sweep, false) AS batch_sweep
    FROM swept WHERE is_fresh
  ),
  near AS (
    -- Stored clicks that the new ones show to be part of a sweep.
    SELECT id, machine FROM swept WHERE NOT is_fresh AND in_sweep
  ),
  ins AS (
    INSERT INTO click_events (id, log_id, account_id, occurred_at, user_agent, machine, url)
    SELECT f.id, f.log_id, f.account_id, f.occurred_at, f.user_agent,
      f.machine OR f.batch_sweep, f.url
    FROM fresh f
    ON CONFLICT (id) DO NOTHING
    RETURNING log_id, account_id, occurred_at, machine
  ),
  flipped AS (
    -- Stored human clicks that a new click on another link shows to be the start of a sweep.
    UPDATE click_events e SET machine = true
    WHERE e.id = ANY (ARRAY(SELECT DISTINCT id FROM near WHERE NOT machine)) AND NOT e.machine
    RETURNING e.id, e.log_id, e.account_id, e.occurred_at
  ),
  new_per_log AS (
    SELECT log_id, count(*) FILTER (WHERE NOT machine) AS human, min(occurred_at) FILTER (WHERE NOT machine) AS first_human
    FROM ins GROUP BY log_id
  ),
  flipped_per_log AS (SELECT log_id, count(*) AS n FROM flipped GROUP BY log_id),
  per_log AS (
    -- Grouped once and hash-joined: per-log subqueries over the batch would cost batch size squared.
    SELECT l.id AS log_id, l.account_id, l.first_before,
      coalesce(a.human, 0) AS human_new, coalesce(fp.n, 0) AS flipped_n,
      least(
        a.first_human,
        CASE
          WHEN fp.n IS NULL THEN l.first_before
          -- The first human click may have been flipped: find the first one that is left.
          ELSE (SELECT min(e.occurred_at) FROM click_events e
                WHERE e.log_id = l.id AND NOT e.machine AND e.id NOT IN (SELECT id FROM flipped))
        END
      ) AS new_first
    FROM logs l
    LEFT JOIN new_per_log a ON a.log_id = l.id
    LEFT JOIN flipped_per_log fp ON fp.log_id = l.id
  ),
  upd AS (
    UPDATE usage_logs u SET click_count = u.click_count + p.human_new - p.flipped_n, clicked_at = p.new_first
    FROM per_log p WHERE u.id = p.log_id AND (p.human_new > 0 OR p.flipped_n > 0)
    RETURNING u.id
  ),
  moves AS (
    SELECT account_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
      CASE WHEN machine THEN 0 ELSE 1 END AS clicks, CASE WHEN machine THEN 1 ELSE 0 END AS machine, 0 AS uniq
    FROM ins
    UNION ALL
    SELECT account_id, (occurred_at AT TIME ZONE 'UTC')::date, -1, 1, 0 FROM flipped
    UNION ALL
    SELECT account_id, (first_before AT TIME ZONE 'UTC')::date, 0, 0, -1 FROM per_log
    WHERE first_before IS NOT NULL AND first_before IS DISTINCT FROM new_first
    UNION ALL
    SELECT account_id, (new_first AT TIME ZONE 'UTC')::date, 0, 0, 1 FROM per_log
    WHERE new_first IS NOT NULL AND first_before IS DISTINCT FROM new_first
  ),
  daily AS (
    INSERT INTO daily_metrics (account_id, day, clicks, machine_clicks, unique_clicks)
    SELECT account_id, day, sum(clicks), sum(machine), sum(uniq) FROM moves GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE SET
      clicks = daily_metrics.clicks + excluded.clicks,
      machine_clicks = daily_metrics.machine_clicks + excluded.machine_clicks,
      unique_clicks = daily_metrics.unique_clicks + excluded.unique_clicks
    RETURNING 1
  )
  -- upd and daily run to completion although nothing reads them (as every data-modifying CTE does).
  SELECT count(*)::int FROM ins INTO n_recorded;
  RETURN n_recorded;
END
$$;
