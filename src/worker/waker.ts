// One shared wake-up for all idle loops of a worker: NOTIFY, wake() and listener reconnects all end up here.
import { timerMs } from './backoff.js';

/**
 * Idle loops wait here until woken or a poll interval passes. A generation counter closes the gap between
 * "the claim found nothing" and "the loop started waiting": a wake in between makes the wait return at once.
 */
export class Waker {
  #generation = 0;
  readonly #waiters = new Set<() => void>();

  /** Read before claiming; pass to `wait`. */
  get generation(): number {
    return this.#generation;
  }

  /** Wakes every waiting loop (one NOTIFY may stand for many tasks: Postgres folds identical ones per transaction). */
  wakeAll(): void {
    this.#generation++;
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves on the next wake after `sinceGeneration`, after `ms`, or on abort. Leaves no timer or listener behind. */
  wait(sinceGeneration: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.#generation !== sinceGeneration || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timerMs(ms));
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** How many loops are waiting right now (tests check nothing leaks). */
  get waiting(): number {
    return this.#waiters.size;
  }
}
