// The MailTransport interface the worker sends through; smtp, outbox and memory implement it.

/** One email as the worker hands it over: already rendered (links rewritten, pixel added). */
export interface OutgoingMessage {
  /** The usage log's id; also names the Message-ID and the outbox file. */
  logId: number;
  /** An address, optionally with a display name: `"Beacon" <noreply@example.com>`. */
  from: string;
  to: string;
  subject: string;
  html: string;
  text?: string | undefined;
}

export interface SendResult {
  /** The server's queue id when its reply reveals one, otherwise the Message-ID (without angle brackets). */
  providerMessageId: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'outbox' | 'memory';
  /** Where mail goes, safe to log: e.g. "smtp://host:587" (never credentials) or the outbox folder. */
  describe(): string;
  /** Delivers one message or throws a SendError. Sending the same logId again reuses its Message-ID. */
  send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * A failed send. `permanent` means retrying cannot help (a 5xx reply such as 550 mailbox unavailable,
 * an address the server rejects); otherwise the worker retries with backoff.
 */
export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SendError';
  }
}

export function isSendError(err: unknown): err is SendError {
  return err instanceof SendError;
}

/** Throws a transient SendError if the signal has fired: an aborted send (shutdown) may be retried. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SendError('Send aborted', false, { cause: signal.reason });
}
