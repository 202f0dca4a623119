// Group commit for task completions: many finished tasks share one guarded UPDATE, each learns its own answer.
import type pg from 'pg';
import { completeTasks } from '../storage/tasks.js';

interface Waiting {
  id: number;
  resolve: (accepted: boolean) => void;
  reject: (err: unknown) => void;
}

export interface CompletionBatcherOptions {
  pool: pg.Pool;
  /** Flush once this many completions wait. */
  maxBatch: number;
  /** Flush this long after the first completion of a batch arrived (0: on the next turn of the event loop). */
  delayMs: number;
}

/** Completes tasks in batches. `complete` resolves like `completeTask`: false when the owner/status guard did not match. */
export class CompletionBatcher {
  readonly #options: CompletionBatcherOptions;
  // Keyed by owner: the guard is per identity, and a rejoin changes it while older completions still wait.
  #waiting = new Map<string, Waiting[]>();
  #count = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #flushing = new Set<Promise<void>>();

  constructor(options: CompletionBatcherOptions) {
    this.#options = options;
  }

  complete(id: number, workerId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let list = this.#waiting.get(workerId);
      if (list === undefined) this.#waiting.set(workerId, (list = []));
      list.push({ id, resolve, reject });
      this.#count++;
      if (this.#count >= this.#options.maxBatch) this.#flushNow();
      else this.#timer ??= this.#options.delayMs > 0 ? setTimeout(() => this.#flushNow(), this.#options.delayMs) : setImmediate(() => this.#flushNow());
    });
  }

  /** Sends everything waiting now and resolves when every flush started so far has settled. */
  async flush(): Promise<void> {
    this.#flushNow();
    await Promise.all([...this.#flushing]);
  }

  #flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    if (this.#count === 0) return;
    const batches = this.#waiting;
    this.#waiting = new Map();
    this.#count = 0;
    for (const [workerId, list] of batches) {
      const done = this.#send(workerId, list).finally(() => this.#flushing.delete(done));
      this.#flushing.add(done);
    }
  }

  async #send(workerId: string, list: Waiting[]): Promise<void> {
    try {
      const accepted = await completeTasks(this.#options.pool, list.map((w) => w.id), workerId);
      for (const w of list) w.resolve(accepted.has(w.id));
    } catch (err) {
      // Each finisher retries on its own (runTask's finishWithRetries), re-entering a later batch.
      for (const w of list) w.reject(err);
    }
  }
}
