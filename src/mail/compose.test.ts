import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMessage, messageIdFor } from './compose.js';
import type { OutgoingMessage } from './transport.js';

const message: OutgoingMessage = { logId: 5, from: 'News <News@Example.COM>', to: 'x@example.org', subject: 'Hi', html: '<b>hi</b>' };

describe('composeMessage', () => {
  it('derives the Message-ID from logId and the From domain', () => {
    expect(messageIdFor(5, message.from)).toBe('<beacon.5@example.com>');
    expect(messageIdFor(6, 'x@Bäcker.example')).toBe('<beacon.6@xn--bcker-gra.example>');
  });

  it('is byte-identical for the same message and date', async () => {
    const date = new Date('2024-05-01T12:00:00Z');
    const a = await composeMessage(message, date);
    const b = await composeMessage(message, date);
    expect(a.raw.equals(b.raw)).toBe(true);
    expect(a.envelope).toEqual({ from: 'News@example.com', to: ['x@example.org'] });
    const parsed = await simpleParser(a.raw);
    expect(parsed.date?.toISOString()).toBe(date.toISOString());
    expect(parsed.html || '').toMatch(/^<b>hi<\/b>\s*$/);
    expect(a.raw.toString()).not.toContain('text/plain');
  });

  it('rejects unusable addresses and ids as permanent', async () => {
    await expect(composeMessage({ ...message, to: 'nobody' })).rejects.toMatchObject({ permanent: true });
    await expect(composeMessage({ ...message, from: '' })).rejects.toMatchObject({ permanent: true });
    await expect(composeMessage({ ...message, logId: 0 })).rejects.toMatchObject({ permanent: true });
  });
});
