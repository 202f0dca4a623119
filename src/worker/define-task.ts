// A task is a type name, a zod payload schema and a handler, declared together in one file (STYLE #5).
import type { z } from 'zod';
import type { Logger } from '../log/index.js';
import type { Database } from '../storage/db.js';
import type { BackoffOptions } from './backoff.js';

/** What a handler learns about the run it is in. */
export interface TaskRunInfo {
  id: number;
  type: string;
  /** 1-based; counted when the task was claimed. */
  attempt: number;
  maxAttempts: number;
}

/**
 * Everything a handler gets. `D` is the deps object this task declares it needs (the consumer declares the
 * interface, STYLE #7); `createWorker` only compiles if the deps main/ passes satisfy every task's `D`.
 */
export interface TaskContext<D = unknown> {
  task: TaskRunInfo;
  /** Child logger carrying taskId, type, workerId and loop. */
  logger: Logger;
  /** Aborted on shutdown (after the grace period) or when this worker lost its lease. Pass it on to I/O. */
  signal: AbortSignal;
  /** The worker's database: every task may need it, so it is not part of `D`. */
  db: Database;
  deps: D;
}

/** A recurring system task: one row forever (its unique key), run once per `everyMs` slot. */
export interface RecurringSchedule {
  uniqueKey: string;
  /** Runs at each multiple of this interval since the Unix epoch (hourly = on the hour). */
  everyMs: number;
}

export interface TaskDefinition<T extends string, S extends z.ZodType, D> {
  readonly type: T;
  readonly payload: S;
  /** Stored on the row at enqueue; default 5. */
  readonly maxAttempts: number | undefined;
  /** This task's retry backoff; the worker's `retry` option, when given, overrides it (tests, operators). */
  readonly retry: BackoffOptions | undefined;
  readonly recurring: RecurringSchedule | undefined;
  /** A property, not a method: that keeps `D` contravariant, so missing deps are a compile error. */
  readonly handler: (payload: z.output<S>, ctx: TaskContext<D>) => Promise<void>;
}

/** Any task definition, whatever its payload and deps (the registry's element type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- payload and deps are invariant here; `any` is the only common supertype.
export type AnyTaskDefinition = TaskDefinition<string, any, any>;

export interface DefineTaskInput<T extends string, S extends z.ZodType, D> {
  type: T;
  payload: S;
  maxAttempts?: number;
  retry?: BackoffOptions;
  recurring?: RecurringSchedule;
  handler: (payload: z.output<S>, ctx: TaskContext<D>) => Promise<void>;
}

/**
 * Declares a task. Give `D` explicitly when the handler needs deps beyond the database, e.g.
 * `defineTask<'send_email', typeof schema, { transport: MailTransport }>({ … })`, or annotate `ctx`.
 */
export function defineTask<const T extends string, S extends z.ZodType, D = unknown>(input: DefineTaskInput<T, S, D>): TaskDefinition<T, S, D> {
  if (input.maxAttempts !== undefined && !(Number.isInteger(input.maxAttempts) && input.maxAttempts >= 1)) {
    throw new Error(`task ${input.type}: maxAttempts must be an integer ≥ 1`);
  }
  return Object.freeze({
    type: input.type,
    payload: input.payload,
    maxAttempts: input.maxAttempts,
    retry: input.retry,
    recurring: input.recurring,
    handler: input.handler,
  });
}

/** Thrown by a handler when retrying cannot help (bad data, a rejected recipient): the task goes to `dead` at once. */
export class PermanentTaskError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentTaskError';
  }
}
