// A receiving gateway that fetches the pixel and follows links while it is still receiving the message (before
// its 250): the open and the click reach Beacon before the send is recorded, and must count as a machine's, not
// as the recipient's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { hrefsOf, trackedDestination } from './helpers/html-links.js';
import { startSmtpBeacon, type SmtpBeacon } from './helpers/smtp-beacon.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

let env: SmtpBeacon;
const scanned: number[] = [];
const api = (p: string, init: RequestInit = {}) => env.api(p, init);
const firstTrackedLink = (html: string) => hrefsOf(html).find((h) => trackedDestination(h) !== undefined)!;

beforeAll(async () => {
  // Loads the pixel and follows the first tracked link with a browser's user agent, then accepts the message.
  env = await startSmtpBeacon({
    beforeAccept: async (parsed) => {
      const html = String(parsed.html);
      const pixel = /<img src="([^"]*\/api\/track\/open\?[^"]*)"/.exec(html)![1]!.replaceAll('&amp;', '&');
      scanned.push((await fetch(pixel, { headers: { 'user-agent': BROWSER } })).status);
      scanned.push((await fetch(firstTrackedLink(html), { redirect: 'manual', headers: { 'user-agent': BROWSER } })).status);
    },
  });
});

afterAll(async () => {
  await env?.stop();
});

it('an open and a click during delivery are a machine\'s; the recipient\'s later are theirs', async () => {
  const html = '<p><a href="https://example.com/offer">offer</a> <a href="https://example.com/other">other</a></p>';
  const res = await api('/api/messages', { method: 'POST', body: JSON.stringify({ from: 'news@example.com', to: 'reader@example.com', subject: 'scanned', html }) });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: number };
  await env.sink.waitFor(1, 10_000);
  let view: Record<string, unknown> = {};
  for (let i = 0; i < 100 && view.status !== 'sent'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    view = (await (await api(`/api/messages/${id}`)).json()) as Record<string, unknown>;
  }
  expect(scanned).toEqual([200, 302]);
  expect(view).toMatchObject({ status: 'sent', openCount: 0, openedAt: null, clickCount: 0, clickedAt: null });
  expect(view.links).toMatchObject([
    { url: 'https://example.com/offer', clicks: 0, machineClicks: 1 },
    { url: 'https://example.com/other', clicks: 0, machineClicks: 0 },
  ]);

  // The recipient reads it a while later and clicks.
  await env.db.pool.query(`update usage_logs set sent_at = sent_at - interval '10 minutes' where id = $1`, [id]);
  const delivered = String(env.sink.messages[0]!.parsed.html);
  const pixel = /<img src="([^"]*\/api\/track\/open\?[^"]*)"/.exec(delivered)![1]!.replaceAll('&amp;', '&');
  expect((await fetch(pixel, { headers: { 'user-agent': BROWSER } })).status).toBe(200);
  expect((await fetch(firstTrackedLink(delivered), { redirect: 'manual', headers: { 'user-agent': BROWSER } })).status).toBe(302);
  const after = (await (await api(`/api/messages/${id}`)).json()) as Record<string, unknown>;
  expect(after).toMatchObject({ openCount: 1, clickCount: 1 });
  const today = new Date().toISOString().slice(0, 10);
  const { days } = (await (await api(`/api/metrics/daily?from=${today}&to=${today}`)).json()) as { days: Array<Record<string, unknown>> };
  expect(days).toMatchObject([{ opens: 1, uniqueOpens: 1, machineOpens: 1, clicks: 1, uniqueClicks: 1, machineClicks: 1 }]);
  expect(await verifyTrackingCounters(env.db.pool)).toEqual([]);
});
