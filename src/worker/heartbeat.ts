// The worker's lease: a heartbeat that also recovers tasks of dead workers, and notices when we were declared dead.
import type pg from 'pg';
import type { Logger } from '../log/index.js';
import { heartbeatWorker, recoverStaleTasks } from '../storage/workers.js';
import { sleep } from './backoff.js';

export interface HeartbeatOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Read on every beat: the id changes when the worker rejoins. */
  identity: { readonly id: string };
  heartbeatMs: number;
  staleAfterMs: number;
  /** Our row is gone: abort in-flight tasks and re-register. */
  onDeclaredDead: () => Promise<void>;
  /** Tasks went back to `pending`: worth a claim right away. */
  onRecovered: () => void;
}

/** Beats every `heartbeatMs` (recovering first, at once) until stopped; database errors are logged once per streak. */
export function startHeartbeat(options: HeartbeatOptions): { stop(): Promise<void> } {
  const { logger } = options;
  const stopping = new AbortController();
  const running = (async () => {
    let failures = 0;
    let first = true;
    while (!stopping.signal.aborted) {
      if (!first) await sleep(options.heartbeatMs, stopping.signal);
      first = false;
      if (stopping.signal.aborted) break;
      try {
        if (!(await heartbeatWorker(options.pool, options.identity.id))) await options.onDeclaredDead();
        const recovered = await recoverStaleTasks(options.pool, options.staleAfterMs);
        if (recovered > 0) {
          logger.warn({ recovered }, `Recovered ${recovered} tasks from dead workers`);
          options.onRecovered();
        }
        if (failures > 0) logger.info(`Heartbeat working again after ${failures} failures`);
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) logger.error({ err, failures }, 'Heartbeat failed');
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
