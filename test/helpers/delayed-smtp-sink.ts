// An SMTP server that holds its reply to DATA for `delayMs`, so a test can stop Beacon while sends are in flight.
// It tells apart what it received (the whole DATA) from what it accepted (a 250 written to a still-open connection):
// a message whose sender hung up before the 250 was never delivered, as far as SMTP is concerned.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface DelayedSink {
  url: string;
  /** Milliseconds between the end of DATA and the 250; change it at any time. */
  delayMs: number;
  /** Log ids (X-Beacon-Log-Id) of every message whose DATA arrived in full. */
  received: number[];
  /** Log ids of messages answered 250 on an open connection. */
  accepted: number[];
  /** Log ids whose connection closed before the 250 could be given. */
  abandoned: number[];
  close(): Promise<void>;
}

export async function startDelayedSmtpSink(delayMs: number): Promise<DelayedSink> {
  const closedSessions = new Set<string>();
  const sink: DelayedSink = {
    url: '',
    delayMs,
    received: [],
    accepted: [],
    abandoned: [],
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onClose(session) {
      closedSessions.add(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            const logId = Number(parsed.headers.get('x-beacon-log-id'));
            sink.received.push(logId);
            setTimeout(() => {
              if (closedSessions.has(session.id)) {
                sink.abandoned.push(logId);
                callback(new Error('client went away'));
                return;
              }
              sink.accepted.push(logId);
              callback(null, `OK: queued as L${logId}`);
            }, sink.delayMs);
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
  sink.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

/** How many times each value occurs, only for values seen more than once. */
export function duplicates(values: number[]): Record<number, number> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}
