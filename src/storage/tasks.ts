// The task queue's SQL: enqueue, the SKIP LOCKED claim, owner-guarded finishes, recurring rows and pruning.
import type { TaskStatus } from './schema.js';
import type { Queryable } from './transaction.js';

/**
 * Anything that runs a query: the pool (autocommit) or the client of `withTransaction`, so the API can
 * enqueue inside its own transaction (the NOTIFY is then delivered when that transaction commits).
 */
export type { Queryable } from './transaction.js';

/** The channel every enqueue notifies; the payload is the task type. */
export const TASKS_CHANNEL = 'beacon_tasks';

export interface EnqueueTaskInput {
  type: string;
  payload: unknown;
  /** Not before this time; default now. */
  runAt?: Date;
  /** Higher runs first; default 0. */
  priority?: number;
  /** Default 5 (the column default). */
  maxAttempts?: number;
  /** At most one task ever exists with this key (until pruned); a second enqueue is a no-op. */
  uniqueKey?: string;
}

/** A task as handed to a worker loop, right after the claim. */
export interface ClaimedTask {
  id: number;
  type: string;
  payload: unknown;
  /** This run's attempt number, 1-based: attempts are counted at claim. */
  attempt: number;
  maxAttempts: number;
  uniqueKey: string | null;
  runAt: Date;
}

/**
 * Inserts a task and notifies `beacon_tasks` in the same statement (so on the same connection and
 * transaction). Returns undefined when `uniqueKey` already exists; then nothing is notified.
 */
export async function enqueueTask(q: Queryable, input: EnqueueTaskInput): Promise<{ id: number } | undefined> {
  const { rows } = await q.query<{ id: number }>(
    `with ins as (
       insert into tasks (type, payload, run_at, priority, max_attempts, unique_key)
       values ($1::text, $2::jsonb, coalesce($3::timestamptz, now()), coalesce($4::int, 0), coalesce($5::int, 5), $6::text)
       on conflict (unique_key) do nothing
       returning id
     )
     select id, pg_notify('${TASKS_CHANNEL}', $1::text) from ins`,
    [input.type, JSON.stringify(input.payload ?? {}), input.runAt ?? null, input.priority ?? null, input.maxAttempts ?? null, input.uniqueKey ?? null],
  );
  return rows[0] ? { id: rows[0].id } : undefined;
}

/**
 * Claims the next due task for `workerId` in one statement. Every eligibility filter sits inside the
 * locked subquery, so two loops can never take the same row; `types` limits the claim to task types this
 * process can run (a rolling deploy may enqueue types an older process does not know). The worker must have
 * a row in `workers` (see registerWorker).
 */
export async function claimNextTask(q: Queryable, workerId: string, types?: readonly string[]): Promise<ClaimedTask | undefined> {
  // `nulls last` matches tasks_claim_idx exactly (priority is not null, but the planner wants the same order).
  const { rows } = await q.query<ClaimedTask>({
    name: 'beacon_claim_next_task',
    text: `update tasks
        set status = 'running', locked_by = $1::uuid, locked_at = now(), attempts = tasks.attempts + 1
       from (
         select id from tasks
          where status = 'pending' and run_at <= now() and ($2::text[] is null or type = any($2::text[]))
            -- A worker declared dead (row deleted) must not take new leases until it re-registers.
            and exists (select 1 from workers where workers.id = $1::uuid)
          order by priority desc nulls last, run_at, id
          limit 1
          for update skip locked
       ) c
      where tasks.id = c.id
  returning tasks.id, tasks.type, tasks.payload, tasks.attempts as attempt, tasks.max_attempts as "maxAttempts",
            tasks.unique_key as "uniqueKey", tasks.run_at as "runAt"`,
    values: [workerId, types ?? null],
  });
  return rows[0];
}

/**
 * Claims up to `limit` due tasks for `workerId` in one statement: the same locked subquery as
 * `claimNextTask` with `limit $3`, so concurrent claimers (loops or processes) never share a row. Returned
 * in claim order (priority, then run_at, then id).
 */
export async function claimTasks(q: Queryable, workerId: string, types: readonly string[] | undefined, limit: number): Promise<ClaimedTask[]> {
  if (!(limit >= 1)) return [];
  // `id = any(array(…))`, not `from (…) c where id = c.id`: with a batch the planner turns the join into a hash
  // join over a sequential scan of the whole table (3× slower at 20,000 rows, and growing with the table).
  // Not a named statement: planned afresh each time (amortised over the batch), it cannot be stuck on a generic plan.
  const { rows } = await q.query<ClaimedTask & { priority: number }>({
    text: `update tasks
        set status = 'running', locked_by = $1::uuid, locked_at = now(), attempts = tasks.attempts + 1
      where tasks.id = any(array(
         select id from tasks
          where status = 'pending' and run_at <= now() and ($2::text[] is null or type = any($2::text[]))
            and exists (select 1 from workers where workers.id = $1::uuid)
          order by priority desc nulls last, run_at, id
          limit $3::int
          for update skip locked
       ))
  returning tasks.id, tasks.type, tasks.payload, tasks.attempts as attempt, tasks.max_attempts as "maxAttempts",
            tasks.unique_key as "uniqueKey", tasks.run_at as "runAt", tasks.priority`,
    values: [workerId, types ?? null, Math.floor(limit)],
  });
  // UPDATE … RETURNING does not keep the subquery's order; loops must still start the most urgent first.
  rows.sort((a, b) => b.priority - a.priority || a.runAt.getTime() - b.runAt.getTime() || a.id - b.id);
  return rows.map(({ priority: _priority, ...task }) => task);
}

/** The owner/status guard every finish shares: a finish after the lease was lost matches nothing. */
const GUARD = `id = $1::bigint and locked_by = $2::uuid and status = 'running'`;

async function guarded(q: Queryable, text: string, values: unknown[]): Promise<boolean> {
  const res = await q.query(text, values);
  return (res.rowCount ?? 0) > 0;
}

/** Marks a claimed task succeeded. False when the lease was lost (the task was recovered or released). */
export function completeTask(q: Queryable, id: number, workerId: string): Promise<boolean> {
  return guarded(
    q,
    `update tasks set status = 'succeeded', finished_at = now(), locked_by = null, locked_at = null where ${GUARD}`,
    [id, workerId],
  );
}

/**
 * Marks many claimed tasks of one owner succeeded in one statement (group commit for finishes). Returns the
 * ids whose guard matched; a task missing from the answer had lost its lease.
 */
export async function completeTasks(q: Queryable, ids: readonly number[], workerId: string): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: number }>({
    name: 'beacon_complete_tasks',
    text: `update tasks set status = 'succeeded', finished_at = now(), locked_by = null, locked_at = null
      where id = any($1::bigint[]) and locked_by = $2::uuid and status = 'running'
  returning id`,
    values: [ids, workerId],
  });
  return new Set(rows.map((r) => r.id));
}

/**
 * Records a failed attempt: back to `pending` at `retryAt`, or `dead` when `retryAt` is null.
 * `last_error` is kept either way. False when the lease was lost.
 */
export function failTask(q: Queryable, id: number, workerId: string, error: string, retryAt: Date | null): Promise<boolean> {
  return guarded(
    q,
    `update tasks
        set status = case when $4::timestamptz is null then 'dead' else 'pending' end,
            run_at = coalesce($4::timestamptz, run_at),
            finished_at = case when $4::timestamptz is null then now() end,
            last_error = $3::text, locked_by = null, locked_at = null
      where ${GUARD}`,
    [id, workerId, error, retryAt],
  );
}

/**
 * Hands a claimed task back to `pending` (shutdown). The attempt is given back too: the task was interrupted
 * by us, not failed by its handler, so a deploy must not burn attempts. (A process that dies mid-task is
 * recovered by `recoverStaleTasks`, which does count the attempt, so a task that kills its worker still ends.)
 */
export function releaseTask(q: Queryable, id: number, workerId: string): Promise<boolean> {
  return guarded(
    q,
    `update tasks set status = 'pending', attempts = greatest(attempts - 1, 0), locked_by = null, locked_at = null
      where ${GUARD}`,
    [id, workerId],
  );
}

export interface RecurringTaskInput {
  type: string;
  uniqueKey: string;
  runAt: Date;
  payload?: unknown;
  maxAttempts?: number;
}

/** Creates a recurring task's one row if it does not exist. Safe to call from every process at once. */
export async function ensureRecurringTask(q: Queryable, input: RecurringTaskInput): Promise<boolean> {
  const created = await enqueueTask(q, {
    type: input.type,
    payload: input.payload ?? {},
    runAt: input.runAt,
    uniqueKey: input.uniqueKey,
    ...(input.maxAttempts === undefined ? {} : { maxAttempts: input.maxAttempts }),
  });
  return created !== undefined;
}

/**
 * Puts a recurring task's row back to `pending` at its next scheduled time with attempts reset: the same row
 * forever. `lastError` is kept for operators when the run that just ended failed for good.
 */
export function rescheduleRecurringTask(q: Queryable, id: number, workerId: string, nextRunAt: Date, lastError: string | null = null): Promise<boolean> {
  return guarded(
    q,
    `update tasks
        set status = 'pending', run_at = $3::timestamptz, attempts = 0, last_error = $4::text,
            locked_by = null, locked_at = null, finished_at = null
      where ${GUARD}`,
    [id, workerId, nextRunAt, lastError],
  );
}

/**
 * Deletes one bounded batch of succeeded/dead tasks finished before `olderThan` (rows with a unique key are
 * kept: they are recurring rows or dedupe keys). Returns how many were deleted; callers loop while it equals
 * `batchSize`.
 */
export async function pruneFinishedTasks(q: Queryable, olderThan: Date, batchSize: number): Promise<number> {
  const res = await q.query(
    `delete from tasks where id in (
       select id from tasks
        where status in ('succeeded', 'dead') and finished_at < $1::timestamptz and unique_key is null
        limit $2::int
        for update skip locked
     )`,
    [olderThan, batchSize],
  );
  return res.rowCount ?? 0;
}

export interface TaskCount {
  status: TaskStatus;
  type: string;
  count: number;
}

/** Task counts by status and type, for health checks and the dashboard. */
export async function taskCounts(q: Queryable): Promise<TaskCount[]> {
  const { rows } = await q.query<TaskCount>(
    `select status, type, count(*)::int as count from tasks group by status, type order by type, status`,
  );
  return rows;
}
