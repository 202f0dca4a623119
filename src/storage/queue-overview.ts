// The operator's view of the task queue: how old the oldest due task is, dead tasks, and retrying one.
import { TASKS_CHANNEL } from './tasks.js';
import type { Queryable } from './transaction.js';

/** Seconds the oldest due `pending` task has been waiting (0 when none is due). */
export async function oldestPendingAgeSeconds(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ age: number }>(
    `select coalesce(extract(epoch from now() - min(run_at)), 0)::float8 as age from tasks where status = 'pending' and run_at <= now()`,
  );
  return Math.max(0, rows[0]!.age);
}

export interface DeadTask {
  id: number;
  type: string;
  attempts: number;
  lastError: string | null;
  finishedAt: Date | null;
  /** The usage log a send_email task was for. */
  logId: number | null;
}

/**
 * Tasks an account may see: its own send_email tasks (through the usage log in the payload) and system tasks,
 * which carry no account's data.
 */
const VISIBLE = `(t.type <> 'send_email' or exists (
    select 1 from usage_logs l where l.id = (t.payload->>'logId')::bigint and l.account_id = $1))`;

/** The most recently failed dead tasks the account may see. */
export async function listDeadTasks(q: Queryable, accountId: number, limit = 50): Promise<DeadTask[]> {
  const { rows } = await q.query<DeadTask>(
    `select t.id, t.type, t.attempts, t.last_error as "lastError", t.finished_at as "finishedAt",
       case when t.type = 'send_email' then (t.payload->>'logId')::bigint end as "logId"
     from tasks t where t.status = 'dead' and ${VISIBLE}
     order by t.finished_at desc nulls last, t.id desc limit $2::int`,
    [accountId, limit],
  );
  return rows;
}

/**
 * Sets a dead task back to `pending`, due now, attempts reset, and wakes the workers. Only a task that is
 * still dead (guarded by status) and that the account may see. A send_email task's failed usage log goes back
 * to `queued` so the worker sends it; the day's `failed` counter keeps the earlier failure.
 * Run it in a transaction. False when there was no such dead task.
 */
export async function retryDeadTask(q: Queryable, accountId: number, taskId: number): Promise<boolean> {
  const { rows } = await q.query<{ type: string; logId: number | null }>(
    `update tasks t set status = 'pending', attempts = 0, run_at = now(), finished_at = null, locked_by = null, locked_at = null
     where t.id = $2 and t.status = 'dead' and ${VISIBLE}
     returning t.type, case when t.type = 'send_email' then (t.payload->>'logId')::bigint end as "logId"`,
    [accountId, taskId],
  );
  const row = rows[0];
  if (row === undefined) return false;
  if (row.logId !== null) await q.query(`update usage_logs set status = 'queued' where id = $1 and status = 'failed'`, [row.logId]);
  await q.query(`select pg_notify('${TASKS_CHANNEL}', $1::text)`, [row.type]);
  return true;
}
