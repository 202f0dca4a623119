// Builds the exact RFC 5322 bytes of an OutgoingMessage; the smtp and outbox transports both send these.
import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailComposerOptions } from 'nodemailer/lib/mail-composer';
import { SendError, type OutgoingMessage } from './transport.js';

export const LOG_ID_HEADER = 'X-Beacon-Log-Id';

export interface ComposedMessage {
  raw: Buffer;
  /** With angle brackets, as in the header: `<beacon.42@example.com>`. */
  messageId: string;
  envelope: { from: string; to: string[] };
}

function firstAddress(field: string, value: string): string {
  const found = addressparser(value, { flatten: true })[0]?.address ?? '';
  if (!/^[^@\s]+@[^@\s]+$/.test(found)) {
    throw new SendError(`Invalid ${field} address: ${JSON.stringify(value)}`, true);
  }
  return found;
}

/**
 * The Message-ID of a usage log: the same on every attempt, so a receiver can drop the duplicate
 * that a retry after a lost "250 OK" produces.
 */
export function messageIdFor(logId: number, from: string): string {
  // Header values must be ASCII: an internationalised domain goes in as punycode.
  const domain = domainToASCII(firstAddress('From', from).split('@')[1] ?? '');
  if (domain === '') throw new SendError(`Invalid From domain: ${JSON.stringify(from)}`, true);
  return `<beacon.${logId}@${domain}>`;
}

/** The MailComposer options for a message: the one mapping from our fields to headers and parts. */
export function toComposerOptions(message: OutgoingMessage, date: Date): MailComposerOptions {
  // A boundary hashed from the content keeps a retry byte-identical (bar Date), and html cannot
  // contain the hash of itself, so the boundary never occurs inside a part.
  const boundary = createHash('sha256')
    .update(JSON.stringify([message.logId, message.from, message.to, message.subject, message.html, message.text ?? null]))
    .digest('hex')
    .slice(0, 24);
  return {
    from: message.from,
    to: message.to,
    subject: message.subject,
    html: message.html,
    ...(message.text === undefined ? {} : { text: message.text }),
    messageId: messageIdFor(message.logId, message.from),
    date,
    headers: { [LOG_ID_HEADER]: String(message.logId) },
    baseBoundary: boundary,
    // Message content never comes from files or URLs: the sender controls html and text.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** Composes the message; `date` defaults to now (the Date header is the one part that differs per attempt). */
export async function composeMessage(message: OutgoingMessage, date: Date = new Date()): Promise<ComposedMessage> {
  if (!Number.isSafeInteger(message.logId) || message.logId <= 0) {
    throw new SendError(`Invalid logId: ${String(message.logId)}`, true);
  }
  firstAddress('To', message.to);
  const node = new MailComposer(toComposerOptions(message, date)).compile();
  const envelope = node.getEnvelope();
  return {
    raw: await node.build(),
    messageId: messageIdFor(message.logId, message.from),
    envelope: { from: envelope.from || '', to: envelope.to },
  };
}
