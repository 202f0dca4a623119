// The production transport: pooled SMTP through nodemailer, sending the bytes compose.ts builds.
import nodemailer from 'nodemailer';
import type { NodemailerError } from 'nodemailer';
import type { Logger } from '../log/index.js';
import { composeMessage } from './compose.js';
import { parseSmtpUrl } from './smtp-url.js';
import { SendError, throwIfAborted, type MailTransport, type OutgoingMessage, type SendResult } from './transport.js';

export interface SmtpTransportOptions {
  maxConnections?: number;
  /** Upper bound on one send, queueing in the pool included; socket timeouts miss a server that trickles. */
  sendTimeoutMs?: number;
}

// Codes that mean the message itself is unacceptable; everything else without a 5xx reply is the
// connection's or the configuration's fault, and the same message may go through later.
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMAXRECIPIENTS']);

/** Maps a nodemailer error: a 5xx reply is permanent (except 503, a session-state complaint), 4xx transient. */
export function toSendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const e = err as Partial<NodemailerError>;
  const reason = e.response ?? e.message ?? String(err);
  const code = e.responseCode;
  // An authentication failure (535) is a configuration problem: the message should go once it is fixed.
  const authFailure = e.code === 'EAUTH' || e.code === 'ENOAUTH';
  const permanent =
    !authFailure && (code === undefined ? PERMANENT_CODES.has(e.code ?? '') : code >= 500 && code !== 503);
  const what = e.code === 'EABORT' ? 'SMTP send aborted' : 'SMTP send failed';
  const detail = e.originalCode ?? e.code;
  return new SendError(`${what}${detail === undefined ? '' : ` (${detail})`}: ${reason}`, permanent, { cause: err });
}

/** `250 2.0.0 Ok: queued as 4Bc7Yz` (Postfix, smtp-server) or `250 OK id=1r2X3y-000abc-De` (Exim). */
export function queueIdFromResponse(response: string | undefined): string | undefined {
  return /\bqueued as ([\w.-]+)/i.exec(response ?? '')?.[1] ?? /\bid=([\w.-]+)/.exec(response ?? '')?.[1];
}

/** Pooled SMTP for `smtp://user:pass@host:port` or `smtps://…`; throws at once if the URL is malformed. */
export function createSmtpTransport(url: string, logger: Logger, options: SmtpTransportOptions = {}): MailTransport {
  const endpoint = parseSmtpUrl(url);
  const sendTimeoutMs = options.sendTimeoutMs ?? 120_000;
  const pool = nodemailer.createTransport({
    pool: true,
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    auth: endpoint.auth,
    requireTLS: endpoint.requireTLS,
    ignoreTLS: endpoint.ignoreTLS,
    tls: { rejectUnauthorized: endpoint.rejectUnauthorized },
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 100,
    // The worker owns retries (with backoff and a record in the task); the pool's own would hide them.
    maxRequeues: 0,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
    dnsTimeout: 10_000,
    logger: false,
  });
  const log = logger.child({ source: 'smtp', smtp: endpoint.display });
  const state = { closed: false };

  return {
    kind: 'smtp',
    describe: () => endpoint.display,
    async send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> {
      throwIfAborted(signal);
      if (state.closed) throw new SendError('SMTP transport is closed', false);
      const composed = await composeMessage(message);
      const deadline = AbortSignal.timeout(sendTimeoutMs);
      try {
        const info = await pool.sendMail({
          envelope: composed.envelope,
          raw: composed.raw,
          signal: signal === undefined ? deadline : AbortSignal.any([signal, deadline]),
        });
        const providerMessageId = queueIdFromResponse(info.response) ?? composed.messageId.slice(1, -1);
        log.debug({ logId: message.logId, messageId: composed.messageId, response: info.response }, 'Message accepted');
        return { providerMessageId };
      } catch (err) {
        if (deadline.aborted && signal?.aborted !== true) {
          throw new SendError(`SMTP send timed out after ${sendTimeoutMs} ms`, false, { cause: err });
        }
        throw toSendError(err);
      }
    },
    async close() {
      state.closed = true;
      pool.close();
    },
  };
}
