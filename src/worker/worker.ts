// A worker process: N claim loops sharing one LISTEN wake-up, a heartbeat lease, and a draining stop().
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import type { Logger } from '../log/index.js';
import type { Database } from '../storage/db.js';
import { releaseTask, TASKS_CHANNEL } from '../storage/tasks.js';
import { deregisterWorker, registerWorker } from '../storage/workers.js';
import { retryDelayMs, sleep, type BackoffOptions } from './backoff.js';
import { startHeartbeat } from './heartbeat.js';
import { startListener, type Listener } from './listener.js';
import type { TaskDepsOf, TaskRegistry } from './registry.js';
import { CompletionBatcher } from './completion-batcher.js';
import { runTask } from './run-task.js';
import { ensureSystemTasks } from './system-tasks.js';
import { localQueueSource, singleClaimSource, type Claimed, type TaskSource } from './task-source.js';
import { Waker } from './waker.js';

export interface WorkerOptions<R extends TaskRegistry> {
  db: Database;
  logger: Logger;
  /** Loops in this process (the audit's CONCURRENCY_LIMIT; config WORKER_CONCURRENCY). */
  concurrency: number;
  tasks: R;
  /** What the registered tasks declared they need; a missing field is a compile error here. */
  deps: TaskDepsOf<R>;
  /** Backstop poll while idle; NOTIFY normally wakes loops within milliseconds. Default 1 s. */
  pollIntervalMs?: number;
  heartbeatMs?: number;
  /** A worker whose heartbeat is older than this is dead and its tasks are recovered. Default 10 s. */
  staleAfterMs?: number;
  /** Initial identity; replaced by a fresh one if this worker is ever declared dead. */
  workerId?: string;
  /** Overrides every task's retry backoff (default: the task's own, else base 1 s, cap 1 h, equal jitter). */
  retry?: BackoffOptions;
  /**
   * Most tasks one claim statement takes into this process's local queue. 1 claims one task per loop per
   * statement (no local queue). Default 2 × concurrency.
   */
  batchSize?: number;
  /**
   * Claimed-but-unstarted tasks allowed beyond the loops idle at the moment of a batch claim (with
   * `batchSize`, the bound on what a crash strands until lease recovery). Default `concurrency`.
   */
  prefetch?: number;
  /** Successful completions wait up to this long to share one UPDATE (0: the next event-loop turn). Default 0. */
  completeBatchMs?: number;
  /** Told how long each successful claim statement took and how many tasks it took (for /metrics). */
  onClaim?: (seconds: number, tasks: number) => void;
}

export interface Worker {
  /** The current identity (the lease owner id in `tasks.locked_by`). */
  readonly id: string;
  start(): Promise<void>;
  /** Stops claiming, waits up to `graceMs` for in-flight tasks, then aborts and releases the rest. Idempotent. */
  stop(graceMs: number): Promise<void>;
  /** Wakes idle loops now (in-process enqueue). */
  wake(): void;
}

interface InFlight extends Claimed {
  controller: AbortController;
}

export function createWorker<R extends TaskRegistry>(options: WorkerOptions<R>): Worker {
  const { db, concurrency, tasks: registry } = options;
  const pool = db.pool;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const identity = { id: options.workerId ?? randomUUID() };
  const logger = options.logger.child({ source: 'worker' });
  const stopping = new AbortController();
  // Every idle loop and the heartbeat wait on this signal at once: that is expected, not a leak.
  setMaxListeners(concurrency + 10, stopping.signal);
  const waker = new Waker();
  /** Claimed tasks whose outcome is not recorded yet (handler running, or its finish waiting for a batch). */
  const inFlight = new Map<number, InFlight>();
  const finishing = new Set<Promise<void>>();
  const loops: Promise<void>[] = [];
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 2 * concurrency));
  const sourceEnv = {
    pool,
    identity,
    types: registry.types,
    onReleaseError: (err: unknown, taskId: number) => logger.error({ err, taskId }, 'Cannot release task'),
    onClaim: options.onClaim,
  };
  const source: TaskSource =
    batchSize === 1
      ? singleClaimSource(sourceEnv)
      : localQueueSource(sourceEnv, { batchSize, prefetch: options.prefetch ?? concurrency, concurrency });
  const completions = new CompletionBatcher({ pool, maxBatch: Math.max(batchSize, concurrency), delayMs: options.completeBatchMs ?? 0 });
  const complete = (id: number, workerId: string) => completions.complete(id, workerId);
  const maxUnrecorded = Math.max(batchSize, concurrency);
  /** One logger per loop and identity, so a task costs no child logger unless it logs past its first line. */
  const loopLoggers = new Map<number, { workerId: string; logger: Logger }>();
  const loopLogger = (n: number, workerId: string): Logger => {
    let entry = loopLoggers.get(n);
    if (entry?.workerId !== workerId) loopLoggers.set(n, (entry = { workerId, logger: logger.child({ workerId, loop: n }) }));
    return entry.logger;
  };
  let listener: Listener | undefined;
  let heartbeat: { stop(): Promise<void> } | undefined;
  let started = false;
  let stopped: Promise<void> | undefined;

  const register = () => registerWorker(pool, { id: identity.id, hostname: os.hostname(), pid: process.pid, concurrency });

  async function loop(n: number): Promise<void> {
    const log = logger.child({ loop: n });
    let failures = 0;
    while (!stopping.signal.aborted) {
      const generation = waker.generation;
      let claimed: Claimed | undefined;
      try {
        claimed = await source.take();
        if (failures > 0) log.info(`Worker ${n} claiming again after ${failures} failed attempts`);
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) log.error({ err, failures }, `Worker ${n} cannot claim tasks; backing off`);
        await sleep(retryDelayMs(failures, { baseMs: 100, capMs: 5_000 }), stopping.signal);
        continue;
      }
      if (claimed === undefined) {
        await waker.wait(generation, pollIntervalMs, stopping.signal);
        continue;
      }
      try {
        if (stopping.signal.aborted) {
          // The claim raced stop(): hand it straight back.
          await releaseTask(pool, claimed.task.id, claimed.workerId).catch((err: unknown) => log.error({ err }, 'Cannot release task'));
          break;
        }
        await execute(n, claimed);
      } finally {
        source.ended();
      }
    }
  }

  async function execute(n: number, { task, workerId }: Claimed): Promise<void> {
    const def = registry.get(task.type);
    if (def === undefined) {
      // Unreachable (the claim only takes registered types), but never leave a claimed task running.
      await releaseTask(pool, task.id, workerId).catch((err: unknown) => logger.error({ err }, 'Cannot release task'));
      return;
    }
    const entry: InFlight = { task, workerId, controller: new AbortController() };
    inFlight.set(task.id, entry);
    let handlerDone: () => void = () => undefined;
    const handlerEnded = new Promise<void>((resolve) => (handlerDone = resolve));
    const recorded: Promise<void> = runTask(
      { db, deps: options.deps, logger: loopLogger(n, workerId), loop: n, workerId, retry: options.retry ?? {}, complete, onHandlerDone: handlerDone },
      task,
      def,
      entry.controller.signal,
    ).finally(() => {
      inFlight.delete(task.id);
      finishing.delete(recorded);
    });
    finishing.add(recorded);
    await Promise.race([handlerEnded, recorded]);
    // Recording the outcome overlaps the next task, so completions share statements; past this many unrecorded
    // outcomes the loop waits for its own (a database outage must not let them pile up).
    if (finishing.size > maxUnrecorded) await recorded;
  }

  /** Our row was deleted (declared dead): our tasks belong to others now. Abort them and rejoin as someone new. */
  async function rejoin(): Promise<void> {
    logger.warn({ workerId: identity.id, inFlight: inFlight.size }, 'Worker was declared dead; aborting its tasks and re-registering');
    for (const entry of inFlight.values()) entry.controller.abort(new Error('lease lost'));
    identity.id = randomUUID();
    await source.forget();
    await register();
  }

  return {
    get id() {
      return identity.id;
    },

    async start() {
      if (started) throw new Error('worker already started');
      started = true;
      await register();
      await ensureSystemTasks(db, registry);
      logger.info({ workerId: identity.id, concurrency }, `Worker starting with ${concurrency}x concurrency`);
      listener = startListener({
        url: db.url,
        channel: TASKS_CHANNEL,
        logger,
        onNotify: () => waker.wakeAll(),
        onListening: () => waker.wakeAll(),
      });
      heartbeat = startHeartbeat({
        pool,
        logger,
        identity,
        heartbeatMs: options.heartbeatMs ?? 2_000,
        staleAfterMs: options.staleAfterMs ?? 10_000,
        onDeclaredDead: rejoin,
        onRecovered: () => waker.wakeAll(),
      });
      for (let n = 0; n < concurrency; n++) {
        loops.push(loop(n).catch((err: unknown) => logger.error({ err, loop: n }, `Worker ${n} loop crashed`)));
      }
    },

    stop(graceMs) {
      stopped ??= (async () => {
        stopping.abort();
        const grace = new AbortController();
        const drained = Promise.all(loops).then(() => Promise.all([...finishing]));
        await Promise.race([drained, sleep(graceMs, grace.signal)]);
        grace.abort();
        // Unstarted tasks go back first; then finished ones are recorded, so no release can undo a success.
        await source.close();
        await completions.flush();
        const leftovers = [...inFlight.values()];
        for (const entry of leftovers) entry.controller.abort(new Error('worker stopping'));
        await Promise.all(
          leftovers.map((e) => releaseTask(pool, e.task.id, e.workerId).catch((err: unknown) => logger.error({ err, taskId: e.task.id }, 'Cannot release task'))),
        );
        await heartbeat?.stop();
        await listener?.close();
        if (started) await deregisterWorker(pool, identity.id).catch((err: unknown) => logger.error({ err }, 'Cannot deregister worker'));
        logger.info({ workerId: identity.id, released: leftovers.length }, 'Worker stopped');
      })();
      return stopped;
    },

    wake() {
      waker.wakeAll();
    },
  };
}
