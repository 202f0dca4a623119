import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../test/helpers/smtp-sink.js';
import { createLogger } from '../log/index.js';
import { createSmtpTransport, queueIdFromResponse, toSendError } from './smtp.js';
import { SendError, type OutgoingMessage } from './transport.js';

const logger = createLogger({ level: 'silent' });

const message = (logId: number, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  logId,
  from: '"Beacon" <noreply@beacon.test>',
  to: 'alice@example.org',
  subject: `Hello ${logId} ✓`,
  html: '<p>Hi <a href="https://example.org/x">there</a></p>',
  text: 'Hi there',
  ...overrides,
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('smtp transport', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({
      rejectRcpt: (address) => (address.startsWith('nobody@') ? { code: 550, message: '5.1.1 Mailbox unavailable' } : undefined),
    });
  });
  afterAll(async () => sink.close());

  it('delivers subject, addresses, html, text and Beacon headers, and returns the queue id', async () => {
    const transport = createSmtpTransport(sink.url.replace('smtp://', 'smtp://user:s3cret@'), logger);
    try {
      const result = await transport.send(message(101));
      await sink.waitFor(1);
      const got = sink.messages.find((m) => m.parsed.messageId === '<beacon.101@beacon.test>');
      expect(got).toBeDefined();
      expect(result.providerMessageId).toBe(got?.queueId);
      expect(got?.envelope).toEqual({ from: 'noreply@beacon.test', to: ['alice@example.org'] });
      expect(got?.parsed.subject).toBe('Hello 101 ✓');
      expect(got?.parsed.from?.value).toEqual([{ name: 'Beacon', address: 'noreply@beacon.test' }]);
      expect(got?.parsed.html).toContain('<a href="https://example.org/x">there</a>');
      expect(got?.parsed.text?.trim()).toBe('Hi there');
      expect(got?.parsed.headers.get('x-beacon-log-id')).toBe('101');
    } finally {
      await transport.close();
    }
  });

  it('gives a retried send the same Message-ID', async () => {
    const transport = createSmtpTransport(sink.url, logger);
    try {
      await transport.send(message(102));
      await transport.send(message(102));
      const ids = sink.messages.filter((m) => m.parsed.headers.get('x-beacon-log-id') === '102').map((m) => m.parsed.messageId);
      expect(ids).toEqual(['<beacon.102@beacon.test>', '<beacon.102@beacon.test>']);
    } finally {
      await transport.close();
    }
  });

  it('reports a 550 recipient rejection as permanent', async () => {
    const transport = createSmtpTransport(sink.url, logger);
    try {
      const err: unknown = await transport.send(message(103, { to: 'nobody@example.org' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError).permanent).toBe(true);
      expect((err as SendError).message).toContain('550');
    } finally {
      await transport.close();
    }
  });

  it('reports a refused connection as transient, promptly', async () => {
    const transport = createSmtpTransport(`smtp://127.0.0.1:${await closedPort()}`, logger);
    const started = Date.now();
    try {
      const err: unknown = await transport.send(message(104)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError).permanent).toBe(false);
      expect((err as SendError).message).toContain('ECONNREFUSED');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await transport.close();
    }
  });

  it('gives up on a server that never greets within the send deadline', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const transport = createSmtpTransport(`smtp://127.0.0.1:${port}`, logger, { sendTimeoutMs: 300 });
    try {
      const started = Date.now();
      const err: unknown = await transport.send(message(105)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError).permanent).toBe(false);
      expect((err as SendError).message).toMatch(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await transport.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('throws before sending when the signal is already aborted', async () => {
    const transport = createSmtpTransport(sink.url, logger);
    const before = sink.messages.length;
    try {
      const err: unknown = await transport.send(message(106), AbortSignal.abort()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError).permanent).toBe(false);
      expect(sink.messages.length).toBe(before);
    } finally {
      await transport.close();
    }
  });

  it('rejects an unusable From address as permanent without connecting', async () => {
    const transport = createSmtpTransport(sink.url, logger);
    try {
      await expect(transport.send(message(107, { from: 'not an address' }))).rejects.toMatchObject({ permanent: true });
    } finally {
      await transport.close();
    }
  });
});

describe('smtp transport helpers', () => {
  it('describe() shows neither password nor user', () => {
    const transport = createSmtpTransport('smtps://api-token-123:p%40ss@mail.example.com', logger);
    expect(transport.describe()).toBe('smtps://mail.example.com:465');
    expect(createSmtpTransport('smtp://u:pw@[::1]:2525', logger).describe()).toBe('smtp://[::1]:2525');
  });

  it('rejects malformed URLs without echoing them', () => {
    expect(() => createSmtpTransport('http://u:hunter2@x', logger)).toThrow(/smtp:\/\//);
    expect(() => createSmtpTransport('smtp://u:hunter2@x?foo=1', logger)).toThrow(/unsupported parameter foo/);
    expect(() => createSmtpTransport('nonsense hunter2', logger)).toThrow(/not a valid URL/);
    expect(() => createSmtpTransport('nonsense hunter2', logger)).not.toThrow(/hunter2/);
  });

  it('finds queue ids in common 250 replies', () => {
    expect(queueIdFromResponse('250 2.0.0 Ok: queued as 4Xyz12AbC')).toBe('4Xyz12AbC');
    expect(queueIdFromResponse('250 OK id=1r2X3y-000abc-De')).toBe('1r2X3y-000abc-De');
    expect(queueIdFromResponse('250 2.0.0 OK')).toBeUndefined();
  });

  it('classifies nodemailer errors', () => {
    const e = (fields: object): SendError => toSendError(Object.assign(new Error('x'), fields));
    expect(e({ code: 'EENVELOPE', responseCode: 550 }).permanent).toBe(true);
    expect(e({ code: 'EMESSAGE', responseCode: 552 }).permanent).toBe(true);
    expect(e({ code: 'EENVELOPE', responseCode: 451 }).permanent).toBe(false);
    expect(e({ code: 'EPROTOCOL', responseCode: 503 }).permanent).toBe(false);
    expect(e({ code: 'EAUTH', responseCode: 535 }).permanent).toBe(false);
    expect(e({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }).permanent).toBe(false);
    expect(e({ code: 'ETIMEDOUT' }).permanent).toBe(false);
    expect(e({ code: 'EENVELOPE' }).permanent).toBe(true);
  });
});
