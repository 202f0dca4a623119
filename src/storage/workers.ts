// Worker process rows: registration, heartbeats, and recovery of tasks whose owner stopped beating.
import type { Queryable } from './tasks.js';

export interface WorkerRegistration {
  id: string;
  hostname: string;
  pid: number;
  concurrency: number;
}

/** Inserts (or refreshes) this worker's row; its heartbeat starts now. */
export async function registerWorker(q: Queryable, w: WorkerRegistration): Promise<void> {
  await q.query(
    `insert into workers (id, hostname, pid, concurrency) values ($1::uuid, $2::text, $3::int, $4::int)
     on conflict (id) do update set heartbeat_at = now(), hostname = excluded.hostname, pid = excluded.pid,
       concurrency = excluded.concurrency`,
    [w.id, w.hostname, w.pid, w.concurrency],
  );
}

/**
 * Renews the heartbeat. False when the row is gone: another process declared us dead and recovered our
 * tasks, so we must stop finishing them and come back under a new identity.
 */
export async function heartbeatWorker(q: Queryable, id: string): Promise<boolean> {
  const res = await q.query(`update workers set heartbeat_at = now() where id = $1::uuid`, [id]);
  return (res.rowCount ?? 0) > 0;
}

/**
 * Removes the worker row and hands its still-running tasks back to `pending` (attempt given back, as in
 * `releaseTask`), in one statement. Returns how many tasks were released.
 */
export async function deregisterWorker(q: Queryable, id: string): Promise<number> {
  const { rows } = await q.query<{ released: number }>(
    `with gone as (delete from workers where id = $1::uuid),
          released as (
            update tasks set status = 'pending', attempts = greatest(attempts - 1, 0), locked_by = null, locked_at = null
             where locked_by = $1::uuid and status = 'running'
            returning 1
          )
     select count(*)::int as released from released`,
    [id],
  );
  return rows[0]?.released ?? 0;
}

/**
 * One statement, safe to run from every process at once: deletes workers whose heartbeat is older than
 * `staleAfterMs`, and sends the running tasks of those workers (or of workers with no row at all) back to
 * `pending`, or to `dead` when that was their last attempt. Returns how many tasks were recovered.
 *
 * Concurrent runs do not double-handle a task: the second one's update re-checks `status = 'running'` on
 * the row the first one committed and skips it.
 */
export async function recoverStaleTasks(q: Queryable, staleAfterMs: number): Promise<number> {
  const { rows } = await q.query<{ recovered: number }>(
    `with stale as (
       delete from workers where heartbeat_at < now() - $1::double precision * interval '1 millisecond'
       returning id
     ),
     recovered as (
       update tasks t
          set status = case when t.attempts >= t.max_attempts then 'dead' else 'pending' end,
              finished_at = case when t.attempts >= t.max_attempts then now() end,
              last_error = 'worker ' || t.locked_by::text || ' died (no heartbeat) during attempt ' || t.attempts,
              locked_by = null, locked_at = null
        where t.status = 'running'
          -- The CTE's delete is not visible to this statement's snapshot, hence both tests.
          and (t.locked_by in (select id from stale)
               or not exists (select 1 from workers w where w.id = t.locked_by))
       returning 1
     )
     select count(*)::int as recovered from recovered`,
    [staleAfterMs],
  );
  return rows[0]?.recovered ?? 0;
}
