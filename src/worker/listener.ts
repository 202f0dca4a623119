// A dedicated LISTEN connection (not from the pool) that reconnects with capped backoff after any loss.
import pg from 'pg';
import type { Logger } from '../log/index.js';
import { retryDelayMs, sleep } from './backoff.js';

export interface ListenerOptions {
  url: string;
  channel: string;
  logger: Logger;
  /** A NOTIFY arrived on the channel. */
  onNotify: () => void;
  /** (Re)connected and listening: anything enqueued while we were away was not notified, so look now. */
  onListening: () => void;
}

export interface Listener {
  /** Ends the connection and the reconnect loop. */
  close(): Promise<void>;
}

/** Starts listening in the background; connection failures are retried, never thrown. */
export function startListener(options: ListenerOptions): Listener {
  const stop = new AbortController();
  const { logger } = options;
  const running = (async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      const client = new pg.Client({ connectionString: options.url, keepAlive: true, application_name: 'beacon-listen' });
      const lost = connectionLost(client, stop.signal);
      try {
        client.on('notification', (msg) => {
          if (msg.channel === options.channel) options.onNotify();
        });
        await client.connect();
        await client.query(`listen ${options.channel}`);
        if (failures > 0) logger.info({ source: 'worker' }, `LISTEN ${options.channel} reconnected after ${failures} failed attempts`);
        failures = 0;
        options.onListening();
        const reason = await lost.promise;
        if (reason !== undefined) {
          failures = 1;
          logger.warn({ source: 'worker', err: reason }, `LISTEN ${options.channel} connection lost; reconnecting`);
        }
      } catch (err) {
        failures++;
        // Once per outage, then a reminder now and then so a long outage is never silent.
        if (failures === 1 || failures % 20 === 0) {
          logger.warn({ source: 'worker', err, failures }, `LISTEN ${options.channel} cannot connect; retrying`);
        }
      }
      lost.dispose();
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      if (!stop.signal.aborted) await sleep(retryDelayMs(failures, { baseMs: 100, capMs: 5_000 }), stop.signal);
    }
  })();
  return {
    async close() {
      stop.abort();
      await running;
    },
  };
}

/**
 * `promise` resolves with the error when the connection breaks or ends (pg_terminate_backend, a restart), or
 * with undefined when we are closing. The 'error' handler stays attached for the client's life: pg throws an
 * unhandled 'error' otherwise. `dispose` removes the abort listener however the attempt ended.
 */
function connectionLost(client: pg.Client, signal: AbortSignal): { promise: Promise<Error | undefined>; dispose: () => void } {
  let finish: (err: Error | undefined) => void = () => undefined;
  const onAbort = () => finish(undefined);
  const promise = new Promise<Error | undefined>((resolve) => {
    finish = (err) => {
      signal.removeEventListener('abort', onAbort);
      resolve(err);
    };
  });
  client.on('error', (err) => finish(err));
  client.once('end', () => finish(signal.aborted ? undefined : new Error('connection ended')));
  if (signal.aborted) finish(undefined);
  else signal.addEventListener('abort', onAbort, { once: true });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
