// The one worker file the HTTP layer may import: a typed enqueue that works inside the caller's transaction.
import { enqueueTask, type Queryable } from '../storage/tasks.js';
import type { TaskPayloadsOf, TaskRegistry } from './registry.js';
import type { BeaconTaskPayloads } from './tasks/index.js';

export type { Queryable } from '../storage/tasks.js';

export interface EnqueueOptions {
  runAt?: Date;
  priority?: number;
  /** A second enqueue with the same key is a no-op (returns undefined). */
  uniqueKey?: string;
}

/**
 * Enqueues a task of a registered type with a payload of its schema's type. Pass a `pg.PoolClient` inside a
 * transaction to make the task (and its wake-up NOTIFY) commit or roll back with the caller's writes.
 * Throws when the payload does not match the schema: that is a programming error, better caught here than
 * discovered as a dead task.
 */
export type Enqueue<P> = <K extends keyof P & string>(q: Queryable, type: K, payload: P[K], options?: EnqueueOptions) => Promise<{ id: number } | undefined>;

/** Binds enqueue to a registry (main/ does this once and hands the result to the server). */
export function createEnqueue<R extends TaskRegistry>(registry: R): Enqueue<TaskPayloadsOf<R>> {
  return async (q, type, payload, options = {}) => {
    const def = registry.get(type);
    if (def === undefined) throw new Error(`unknown task type ${type}`);
    const parsed = def.payload.safeParse(payload);
    if (!parsed.success) throw new Error(`invalid payload for task ${type}: ${parsed.error.message}`);
    return enqueueTask(q, {
      type,
      payload,
      ...options,
      ...(def.maxAttempts === undefined ? {} : { maxAttempts: def.maxAttempts }),
    });
  };
}

/** The server's type for the enqueue main/ hands it: `enqueue(client, 'send_email', { logId })`. */
export type BeaconEnqueue = Enqueue<BeaconTaskPayloads>;
