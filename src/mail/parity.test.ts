// The outbox's .eml and what an SMTP server receives for the same message must be the same bytes.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../test/helpers/smtp-sink.js';
import { createLogger } from '../log/index.js';
import { createOutboxTransport } from './outbox.js';
import { createSmtpTransport } from './smtp.js';
import type { OutgoingMessage } from './transport.js';

const withoutDate = (raw: string): string => raw.replace(/^Date: .*\r\n/m, '');

describe('outbox and smtp parity', () => {
  let sink: SmtpSink;
  let dir: string;
  beforeAll(async () => {
    sink = await startSmtpSink();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beacon-parity-'));
  });
  afterAll(async () => {
    await sink.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('produces identical messages apart from the Date header', async () => {
    const message: OutgoingMessage = {
      logId: 31,
      from: '"Bäcon Team" <team@beacon.test>',
      to: 'carol@example.org',
      subject: 'Parity ✓ with a rather long subject line that needs folding across several header lines',
      html: `<p>${'Dots at line start\r\n.like this one '.repeat(10)}</p><img src="https://t.example/o.gif">`,
      text: 'plain text\r\n.dot line',
    };
    const smtp = createSmtpTransport(sink.url, createLogger({ level: 'silent' }));
    await smtp.send(message);
    await smtp.close();
    await createOutboxTransport(dir).send(message);

    await sink.waitFor(1);
    const received = sink.messages[0]?.raw.toString('utf8') ?? '';
    const eml = await fs.readFile(path.join(dir, '31.eml'), 'utf8');
    expect(received).toMatch(/^Date: /m);
    expect(eml).toMatch(/^Date: /m);
    expect(withoutDate(received)).toBe(withoutDate(eml));
    expect(received).not.toMatch(/^X-Mailer:/im);
  });
});
