import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { createOutboxTransport, listOutbox, readOutboxMessage } from './outbox.js';
import type { OutgoingMessage } from './transport.js';

const message = (logId: number, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  logId,
  from: 'Beacon <noreply@beacon.test>',
  to: 'Bob <bob@example.org>',
  subject: `Outbox ${logId}`,
  html: `<p>${'Long line of html. '.repeat(20)}</p>`,
  ...overrides,
});

describe('outbox transport', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'beacon-outbox-'));
    dir = path.join(root, 'nested', 'outbox');
  });
  afterAll(async () => fs.rm(root, { recursive: true, force: true }));

  it('writes <logId>.eml that parses into the same message, creating the folder', async () => {
    const transport = createOutboxTransport(dir);
    expect(transport.describe()).toBe(dir);
    const result = await transport.send(message(7, { text: 'plain' }));
    expect(result.providerMessageId).toBe('beacon.7@beacon.test');

    const parsed = await simpleParser(await fs.readFile(path.join(dir, '7.eml')));
    expect(parsed.subject).toBe('Outbox 7');
    expect(parsed.messageId).toBe('<beacon.7@beacon.test>');
    expect(parsed.headers.get('x-beacon-log-id')).toBe('7');
    expect(parsed.to).toMatchObject({ value: [{ name: 'Bob', address: 'bob@example.org' }] });
    expect(parsed.html).toBe(message(7).html);
    expect(parsed.text?.trim()).toBe('plain');
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces the file on a retry, leaving no temp files', async () => {
    const transport = createOutboxTransport(dir);
    await transport.send(message(8, { subject: 'first' }));
    await transport.send(message(8, { subject: 'second' }));
    const parsed = await simpleParser((await readOutboxMessage(dir, 8)) ?? '');
    expect(parsed.subject).toBe('second');
    expect((await fs.readdir(dir)).sort()).toEqual(['7.eml', '8.eml']);
  });

  it('keeps concurrent writes of one logId whole', async () => {
    const transport = createOutboxTransport(dir);
    const subjects = Array.from({ length: 10 }, (_, i) => `race ${i}`);
    await Promise.all(subjects.map((subject) => transport.send(message(9, { subject }))));
    const parsed = await simpleParser((await readOutboxMessage(dir, 9)) ?? '');
    expect(subjects).toContain(parsed.subject);
    // A single-part body ends with the line break that closes it.
    expect((parsed.html || '').trimEnd()).toBe(message(9).html);
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('lists messages newest first and ignores strays', async () => {
    const transport = createOutboxTransport(dir);
    await transport.send(message(10));
    await fs.utimes(path.join(dir, '7.eml'), new Date('2020-01-01'), new Date('2020-01-01'));
    await fs.writeFile(path.join(dir, '.11.eml.abc.tmp'), 'half');
    await fs.writeFile(path.join(dir, 'notes.txt'), 'x');
    await fs.writeFile(path.join(dir, '012.eml'), 'x');

    const list = await listOutbox(dir);
    expect(list.map((e) => e.logId).sort((a, b) => a - b)).toEqual([7, 8, 9, 10]);
    expect(list.at(-1)?.logId).toBe(7);
    expect(list[0]?.modifiedAt.getTime()).toBeGreaterThanOrEqual(list[1]?.modifiedAt.getTime() ?? 0);
    const ten = list.find((e) => e.logId === 10);
    expect(ten?.file).toBe(path.join(dir, '10.eml'));
    expect(ten?.size).toBe((await fs.stat(path.join(dir, '10.eml'))).size);
    expect(await listOutbox(path.join(root, 'missing'))).toEqual([]);
  });

  it('reads one message, undefined when absent, and refuses anything but a positive integer', async () => {
    expect(await readOutboxMessage(dir, 10)).toContain('Subject: Outbox 10');
    expect(await readOutboxMessage(dir, 999)).toBeUndefined();
    await fs.writeFile(path.join(root, 'secret.eml'), 'secret');
    for (const bad of [0, -1, 1.5, Number.NaN, '../secret' as unknown as number, '7/../../secret' as unknown as number]) {
      await expect(readOutboxMessage(dir, bad)).rejects.toBeInstanceOf(AppError);
    }
  });

  it('throws a transient SendError when the folder cannot be written', async () => {
    const blocker = path.join(root, 'a-file');
    await fs.writeFile(blocker, 'x');
    const transport = createOutboxTransport(path.join(blocker, 'outbox'));
    await expect(transport.send(message(12))).rejects.toMatchObject({ name: 'SendError', permanent: false });
  });

  it('throws before writing when the signal is already aborted', async () => {
    const transport = createOutboxTransport(dir);
    await expect(transport.send(message(13), AbortSignal.abort())).rejects.toMatchObject({ permanent: false });
    expect(await readOutboxMessage(dir, 13)).toBeUndefined();
  });
});
