import { describe, expect, it } from 'vitest';
import { createMemoryTransport } from './memory.js';
import { SendError, type OutgoingMessage } from './transport.js';

const message = (logId: number): OutgoingMessage => ({ logId, from: 'a@beacon.test', to: 'b@example.org', subject: 's', html: '<p>h</p>' });

describe('memory transport', () => {
  it('records sends and returns the Message-ID as provider id', async () => {
    const transport = createMemoryTransport();
    expect(await transport.send(message(1))).toEqual({ providerMessageId: 'beacon.1@beacon.test' });
    expect(transport.sent.map((m) => m.logId)).toEqual([1]);
    expect(transport.kind).toBe('memory');
  });

  it('fails the next sends in order, then recovers', async () => {
    const transport = createMemoryTransport();
    const first = new SendError('451 try later', false);
    const second = new SendError('550 no such user', true);
    transport.failNext(first);
    transport.failNext(second);
    await expect(transport.send(message(2))).rejects.toBe(first);
    await expect(transport.send(message(2))).rejects.toBe(second);
    await transport.send(message(2));
    expect(transport.sent).toHaveLength(1);
  });

  it('waits the delay and honours an abort during it', async () => {
    const transport = createMemoryTransport({ delayMs: 1_000 });
    const controller = new AbortController();
    const pending = transport.send(message(3), controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'SendError', permanent: false });
    expect(transport.sent).toEqual([]);
  });

  it('refuses to send once closed', async () => {
    const transport = createMemoryTransport();
    await transport.close();
    await expect(transport.send(message(4))).rejects.toBeInstanceOf(SendError);
  });
});
