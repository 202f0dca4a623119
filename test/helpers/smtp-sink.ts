// A real SMTP server on 127.0.0.1 for tests: accepts any login, parses every message it receives.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  /** The DATA bytes as received (dot-unstuffed), with nothing added by the sink. */
  raw: Buffer;
  parsed: ParsedMail;
  envelope: { from: string; to: string[] };
  /** The id the sink answered with: `250 OK: queued as <queueId>`. */
  queueId: string;
}

export interface SmtpSinkOptions {
  /** Return a reply to refuse RCPT TO for an address, e.g. `{ code: 550, message: 'No such user' }`. */
  rejectRcpt?: (address: string) => { code: number; message: string } | undefined;
  /** Runs on each received message before the 250 is given (an inline gateway scanning its links, say). */
  beforeAccept?: (parsed: ParsedMail) => Promise<void>;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>`, no credentials (any are accepted if you add some). */
  url: string;
  port: number;
  messages: SinkMessage[];
  /** Resolves once `count` messages have arrived; rejects after timeoutMs (default 5 s). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    // Plain-text AUTH over loopback: no certificate to manage, and the client never upgrades.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rejectRcpt?.(address.address);
      if (refusal === undefined) return callback();
      callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const queueId = randomBytes(5).toString('hex').toUpperCase();
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
            return (options.beforeAccept?.(parsed) ?? Promise.resolve()).then(() => {
              messages.push({ raw, parsed, queueId, envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) } });
              for (const wake of waiters) wake();
              callback(null, `OK: queued as ${queueId}`);
            });
          },
          (err: Error) => callback(err),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SMTP sink: ${messages.length} of ${count} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
