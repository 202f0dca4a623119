// Where loops get their next task: one claim statement per task, or a local queue filled by batch claims.
import type pg from 'pg';
import { claimNextTask, claimTasks, releaseTask, type ClaimedTask } from '../storage/tasks.js';

/** A claimed task and the identity it was claimed under (its finish is guarded by that identity). */
export interface Claimed {
  task: ClaimedTask;
  workerId: string;
}

/** What a loop asks for its next task. */
export interface TaskSource {
  /** The next task for this loop, or undefined when none is due. Throws on database errors (the loop backs off). */
  take(): Promise<Claimed | undefined>;
  /** Hands back every claimed-but-unstarted task and makes later takes return undefined. */
  close(): Promise<void>;
  /** Our identity changed (declared dead): tasks claimed under the old one are no longer ours to start. */
  forget(): Promise<void>;
  /** A task `take` handed out has stopped running (finished, failed, or was handed back): its loop is idle again. */
  ended(): void;
}

export interface SourceEnv {
  pool: pg.Pool;
  identity: { readonly id: string };
  types: readonly string[];
  /** Called when a release fails (it is then left to lease recovery). */
  onReleaseError: (err: unknown, taskId: number) => void;
  /** Told each claim statement's duration and how many tasks it took. */
  onClaim: ((seconds: number, tasks: number) => void) | undefined;
}

/** Runs one claim statement, timing it for `onClaim`. */
async function timedClaim<T>(env: SourceEnv, claim: () => Promise<T>, count: (result: T) => number): Promise<T> {
  const start = performance.now();
  const result = await claim();
  env.onClaim?.((performance.now() - start) / 1000, count(result));
  return result;
}

/** One-at-a-time: every take is one claim statement (`batchSize: 1`). */
export function singleClaimSource(env: SourceEnv): TaskSource {
  return {
    async take() {
      const workerId = env.identity.id;
      const task = await timedClaim(env, () => claimNextTask(env.pool, workerId, env.types), (t) => (t === undefined ? 0 : 1));
      return task === undefined ? undefined : { task, workerId };
    },
    close: async () => undefined,
    forget: async () => undefined,
    ended: () => undefined,
  };
}

export interface LocalQueueOptions {
  /** Most tasks one claim statement takes. */
  batchSize: number;
  /** Claimed-but-unstarted tasks allowed beyond the loops that are idle right now. */
  prefetch: number;
  /** Loops in this process: those not holding a task count as idle. */
  concurrency: number;
}

/**
 * Batch claims into an in-process queue. At most `min(batchSize, idle loops + prefetch)` tasks sit claimed
 * but unstarted, so a crash strands few and other processes still find work. One fetch at a time: loops that
 * find the queue empty share it; when the queue runs low after a full batch, the next fetch starts early so
 * loops rarely wait on a round trip.
 */
export function localQueueSource(env: SourceEnv, options: LocalQueueOptions): TaskSource {
  const queue: Claimed[] = [];
  let head = 0;
  let fetching: Promise<void> | undefined;
  let lastFull = false;
  let closed = false;
  /** Tasks handed to loops and not ended yet (counted from the hand-over, so a fetch never mistakes a busy loop for an idle one). */
  let busy = 0;
  const lowWater = Math.max(1, Math.floor(options.batchSize / 2));

  const size = () => queue.length - head;
  const shift = (): Claimed | undefined => {
    if (head >= queue.length) return undefined;
    const item = queue[head]!;
    queue[head++] = undefined as unknown as Claimed; // let the task be collected before the array is compacted
    if (head === queue.length) queue.length = head = 0;
    return item;
  };

  const release = (items: Claimed[]) =>
    Promise.all(items.map((c) => releaseTask(env.pool, c.task.id, c.workerId).catch((err: unknown) => env.onReleaseError(err, c.task.id))));

  function fetch(): Promise<void> {
    if (fetching !== undefined) return fetching;
    const limit = Math.min(options.batchSize, options.concurrency - busy + options.prefetch) - size();
    // Decided before `fetching` is set: an async body that finished synchronously would clear it too early.
    if (limit <= 0) return Promise.resolve();
    fetching = (async () => {
      try {
        const workerId = env.identity.id;
        const tasks = await timedClaim(env, () => claimTasks(env.pool, workerId, env.types, limit), (ts) => ts.length);
        lastFull = tasks.length === limit;
        const claimed = tasks.map((task) => ({ task, workerId }));
        // close() may have run while the claim was in flight: these were never seen by a loop.
        if (closed) await release(claimed);
        else for (const c of claimed) queue.push(c);
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  }

  /** After a full batch the queue is refilled before it runs dry, so loops rarely wait on a round trip. */
  function refillEarly(): void {
    if (lastFull && size() <= lowWater && fetching === undefined) {
      // A failed early fetch is not lost work: the next loop to find the queue empty fetches and sees the error.
      fetch().catch(() => (lastFull = false));
    }
  }

  return {
    async take() {
      for (;;) {
        if (closed) return undefined;
        let item = shift();
        if (item === undefined) {
          await fetch();
          if (closed) return undefined;
          item = shift();
          if (item === undefined) return undefined;
        }
        if (item.workerId !== env.identity.id) {
          // Claimed under an identity we have since lost (a fetch that raced forget()): not ours to start.
          await release([item]);
          continue;
        }
        busy++;
        refillEarly();
        return item;
      }
    },
    async close() {
      closed = true;
      await fetching?.catch(() => undefined);
      const rest: Claimed[] = [];
      for (let c = shift(); c !== undefined; c = shift()) rest.push(c);
      await release(rest);
    },
    ended() {
      busy--;
    },
    async forget() {
      const stale: Claimed[] = [];
      const keep: Claimed[] = [];
      for (let c = shift(); c !== undefined; c = shift()) (c.workerId === env.identity.id ? keep : stale).push(c);
      queue.push(...keep);
      await release(stale);
    },
  };
}
