// End to end on real parts: Beacon on real Postgres sends real newsletters to a real SMTP server; we follow the links.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { hrefsOf, trackedDestination } from './helpers/html-links.js';
import { startSmtpBeacon, type SmtpBeacon } from './helpers/smtp-beacon.js';
import type { SmtpSink } from './helpers/smtp-sink.js';
import type { TestDatabase } from './helpers/test-db.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../shared/fixtures/emails');
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const HANDWRITTEN = `<html><body>
<p><a href="mailto:help@example.com?subject=Hi">mail us</a> <a href="#faq">FAQ</a> <a href='tel:+15555550100'>call</a>
<a href="https://example.com/r?key=1&amp;id=2">entities</a> <a href="{{unsubscribe_url}}">unsubscribe</a></p>
</body></html>`;

let env: SmtpBeacon;
let db: TestDatabase;
let sink: SmtpSink;
const api = (p: string, init: RequestInit = {}) => env.api(p, init);

beforeAll(async () => {
  env = await startSmtpBeacon();
  ({ db, sink } = env);
});

afterAll(async () => {
  await env?.stop();
});

describe('a newsletter end to end over SMTP', () => {
  const sent: Array<{ id: number; html: string; name: string }> = [];

  it('queues the fixtures and the SMTP server receives them', async () => {
    const bodies = [
      ['inlined-newsletter', fs.readFileSync(path.join(FIXTURES, 'inlined-newsletter.html'), 'utf8')],
      ['merge-tag-newsletter', fs.readFileSync(path.join(FIXTURES, 'merge-tag-newsletter.html'), 'utf8')],
      ['handwritten', HANDWRITTEN],
    ] as const;
    for (const [name, html] of bodies) {
      const res = await api('/api/messages', {
        method: 'POST',
        body: JSON.stringify({ from: 'Beacon News <news@example.test>', to: `${name}@example.test`, subject: name, html }),
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: number; status: string };
      expect(body.status).toBe('queued');
      sent.push({ id: body.id, html, name });
    }
    await sink.waitFor(3, 20_000);
    expect(sink.messages.map((m) => m.parsed.subject).sort()).toEqual(bodies.map(([n]) => n).sort());
  });

  it('rewrites every web link to a tracking link that redirects to exactly the original, and leaves the rest alone', async () => {
    for (const message of sent) {
      const received = sink.messages.find((m) => m.parsed.subject === message.name)!;
      const html = String(received.parsed.html);
      const before = hrefsOf(message.html);
      const after = hrefsOf(html);
      expect(after).toHaveLength(before.length);
      for (const [i, original] of before.entries()) {
        if (/^https?:\/\//i.test(original)) {
          expect(trackedDestination(after[i]!)).toBe(original);
          // HEAD checks the redirect without recording: following every link at once is what scanners do.
          const res = await fetch(after[i]!, { method: 'HEAD', redirect: 'manual', headers: { 'user-agent': BROWSER } });
          expect(res.status).toBe(302);
          expect(res.headers.get('location')).toBe(original);
        } else {
          expect(after[i]).toBe(original);
        }
      }
    }
    const merge = String(sink.messages.find((m) => m.parsed.subject === 'merge-tag-newsletter')!.parsed.html);
    for (const tag of ['*|UNSUB|*', '*|ARCHIVE|*', '*|FORWARD|*', '*|UPDATE_PROFILE|*']) expect(merge).toContain(`href="${tag}"`);
    const hand = String(sink.messages.find((m) => m.parsed.subject === 'handwritten')!.parsed.html);
    for (const raw of ['href="mailto:help@example.com?subject=Hi"', 'href="#faq"', "href='tel:+15555550100'", 'href="{{unsubscribe_url}}"']) {
      expect(hand).toContain(raw);
    }
  });

  it('serves the pixel and shows the open, the clicks and today\'s counters', async () => {
    // The recipients read their mail a while after delivery, not in the seconds a link scanner clicks in.
    await db.pool.query(`update usage_logs set sent_at = sent_at - interval '10 minutes'`);
    for (const message of sent) {
      const html = String(sink.messages.find((m) => m.parsed.subject === message.name)!.parsed.html);
      const pixel = /<img src="([^"]*\/api\/track\/open\?[^"]*)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      expect(pixel).toBeDefined();
      const res = await fetch(pixel!, { headers: { 'user-agent': BROWSER } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(Buffer.from(await res.arrayBuffer())).toHaveLength(43);
    }
    // Each recipient clicks their first web link once; a crawler follows one link of the first message.
    for (const message of sent) {
      const html = String(sink.messages.find((m) => m.parsed.subject === message.name)!.parsed.html);
      const link = hrefsOf(html).find((h) => trackedDestination(h) !== undefined)!;
      const res = await fetch(link, { redirect: 'manual', headers: { 'user-agent': BROWSER } });
      expect(res.status).toBe(302);
    }
    const crawled = hrefsOf(String(sink.messages.find((m) => m.parsed.subject === sent[0]!.name)!.parsed.html)).find((h) => trackedDestination(h))!;
    expect((await fetch(crawled, { redirect: 'manual', headers: { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' } })).status).toBe(302);
    for (const message of sent) {
      const res = await api(`/api/messages/${message.id}`);
      expect(res.status).toBe(200);
      const view = (await res.json()) as Record<string, unknown>;
      expect(view).toMatchObject({ id: message.id, status: 'sent', openCount: 1, clickCount: 1 });
      expect(typeof view.openedAt).toBe('string');
      expect(typeof view.sentAt).toBe('string');
    }
    const today = new Date().toISOString().slice(0, 10);
    const res = await api(`/api/metrics/daily?from=${today}&to=${today}`);
    const { days } = (await res.json()) as { days: Array<Record<string, unknown>> };
    expect(days).toEqual([
      { date: today, sent: 3, failed: 0, opens: 3, uniqueOpens: 3, clicks: 3, uniqueClicks: 3, machineOpens: 0, machineClicks: 1 },
    ]);
    expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  });
});
