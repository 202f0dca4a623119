// An in-memory MailTransport for the worker's unit tests: records sends, fails on request.
import { messageIdFor } from './compose.js';
import { SendError, throwIfAborted, type MailTransport, type OutgoingMessage, type SendResult } from './transport.js';

export interface MemoryTransport extends MailTransport {
  /** Messages sent successfully, in order. */
  readonly sent: OutgoingMessage[];
  /** Makes the next send throw `err` (queued: call twice to fail the next two). */
  failNext(err: SendError): void;
}

export interface MemoryTransportOptions {
  /** Each send waits this long first, to exercise concurrency and aborts. */
  delayMs?: number;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new SendError('Send aborted', false, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  const sent: OutgoingMessage[] = [];
  const failures: SendError[] = [];
  const state = { closed: false };
  return {
    kind: 'memory',
    sent,
    describe: () => 'memory',
    failNext(err) {
      failures.push(err);
    },
    async send(message, signal): Promise<SendResult> {
      throwIfAborted(signal);
      if (state.closed) throw new SendError('Memory transport is closed', false);
      if (options.delayMs !== undefined && options.delayMs > 0) await delay(options.delayMs, signal);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      // Same id rule as the real transports, so worker tests see realistic provider ids.
      const providerMessageId = messageIdFor(message.logId, message.from).slice(1, -1);
      sent.push({ ...message });
      return { providerMessageId };
    },
    async close() {
      state.closed = true;
    },
  };
}
