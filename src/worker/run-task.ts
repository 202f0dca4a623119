// Runs one claimed task: validate the payload, call the handler, then complete, retry, kill or reschedule it.
import type { Logger } from '../log/index.js';
import type { Database } from '../storage/db.js';
import { failTask, rescheduleRecurringTask, type ClaimedTask } from '../storage/tasks.js';
import { retryDelayMs, sleep, type BackoffOptions } from './backoff.js';
import { PermanentTaskError, type AnyTaskDefinition } from './define-task.js';
import { nextSlot } from './system-tasks.js';

export interface RunTaskEnv {
  db: Database;
  deps: unknown;
  /** The loop's logger (already carries workerId, loop and source). */
  logger: Logger;
  loop: number;
  /** The identity the task was claimed under: its finish is guarded by it. */
  workerId: string;
  retry: BackoffOptions;
  /** Marks the task succeeded under the guard (a batched completeTask); resolves to whether the guard matched. */
  complete: (id: number, workerId: string) => Promise<boolean>;
  /** Called once the handler has returned or thrown, before its outcome is recorded. */
  onHandlerDone?: () => void;
}

type Outcome = { ok: true } | { ok: false; error: string; permanent: boolean; cause: unknown };

/**
 * Runs `task` to its end. Never throws. When `signal` was aborted (shutdown or a lost lease) a failure is
 * not recorded: stop() releases the task, or its new owner runs it; a success is still offered to the guard.
 */
export async function runTask(env: RunTaskEnv, task: ClaimedTask, def: AnyTaskDefinition, signal: AbortSignal): Promise<void> {
  // The operators' line, logged on the loop's logger: a child logger per task is only built if something uses it.
  env.logger.info({ taskId: task.id, type: task.type, attempt: task.attempt }, `Worker ${env.loop} executing task: ${task.type}`);
  const logger = lazyChild(env.logger, { taskId: task.id, type: task.type });
  const outcome = await attempt(env, task, def, signal, logger);
  env.onHandlerDone?.();
  if (!outcome.ok && signal.aborted) {
    logger.get().info({ attempt: task.attempt }, 'Task aborted; not recording its failure');
    return;
  }
  const accepted = await finishWithRetries(() => finish(env, task, def, outcome, logger), signal, logger);
  if (accepted === false) logger.get().warn({ attempt: task.attempt }, 'Lease lost before the task finished; its result was discarded');
}

async function attempt(env: RunTaskEnv, task: ClaimedTask, def: AnyTaskDefinition, signal: AbortSignal, logger: LazyLogger): Promise<Outcome> {
  const parsed = def.payload.safeParse(task.payload);
  if (!parsed.success) {
    // Retrying cannot fix a payload that does not match its schema.
    return { ok: false, permanent: true, error: `invalid payload: ${parsed.error.message}`, cause: parsed.error };
  }
  try {
    await def.handler(parsed.data, {
      task: { id: task.id, type: task.type, attempt: task.attempt, maxAttempts: task.maxAttempts },
      get logger() {
        return logger.get();
      },
      signal,
      db: env.db,
      deps: env.deps,
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, permanent: err instanceof PermanentTaskError, error: describe(err), cause: err };
  }
}

/** Records the outcome under the owner guard; resolves to whether the guard matched. */
async function finish(env: RunTaskEnv, task: ClaimedTask, def: AnyTaskDefinition, outcome: Outcome, logger: LazyLogger): Promise<boolean> {
  const q = env.db.pool;
  const recurring = def.recurring;
  if (outcome.ok) {
    return recurring
      ? rescheduleRecurringTask(q, task.id, env.workerId, nextSlot(new Date(), recurring.everyMs))
      : env.complete(task.id, env.workerId);
  }
  const last = outcome.permanent || task.attempt >= task.maxAttempts;
  if (!last) {
    const delay = retryDelayMs(task.attempt, { ...def.retry, ...env.retry });
    logger.get().warn({ err: outcome.cause, attempt: task.attempt, retryInMs: delay }, `Task failed; retrying: ${outcome.error}`);
    return failTask(q, task.id, env.workerId, outcome.error, new Date(Date.now() + delay));
  }
  logger.get().error({ err: outcome.cause, attempt: task.attempt }, `Task failed for good: ${outcome.error}`);
  // A recurring task must not disappear: it waits for its next slot instead of going dead.
  return recurring
    ? rescheduleRecurringTask(q, task.id, env.workerId, nextSlot(new Date(), recurring.everyMs), outcome.error)
    : failTask(q, task.id, env.workerId, outcome.error, null);
}

/**
 * A finish that fails on the database (an outage) is retried with capped backoff: otherwise the task would
 * stay `running` under our live lease forever. Gives up (undefined) once the task is aborted: then stop()
 * has released it or another worker owns it.
 */
async function finishWithRetries(fn: () => Promise<boolean>, signal: AbortSignal, logger: LazyLogger): Promise<boolean | undefined> {
  for (let failures = 0; ; ) {
    try {
      return await fn();
    } catch (err) {
      failures++;
      if (failures === 1 || failures % 20 === 0) logger.get().error({ err, failures }, 'Cannot record the task outcome; retrying');
      if (signal.aborted) return undefined;
      await sleep(retryDelayMs(failures, { baseMs: 100, capMs: 5_000 }), signal);
    }
  }
}

interface LazyLogger {
  get(): Logger;
}

/** A child logger built on first use: most tasks never log past the executing line. */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): LazyLogger {
  let child: Logger | undefined;
  return { get: () => (child ??= parent.child(bindings)) };
}

const MAX_ERROR_LENGTH = 4_000;

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
