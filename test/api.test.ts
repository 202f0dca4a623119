// The HTTP API in-process (Fastify inject) on real Postgres: auth, account isolation, validation, tracking answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../src/log/index.js';
import { buildApp } from '../src/server/app.js';
import { createAccount, createApiKey } from '../src/storage/accounts.js';
import { createDatabase } from '../src/storage/db.js';
import { freePort } from './helpers/net.js';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { createTrackingRecorder, type TrackingRecorder } from '../src/tracking/recorder.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildClickUrl, buildOpenUrl } from '../src/tracking/urls.js';
import { createEnqueue } from '../src/worker/enqueue.js';
import { beaconTasks } from '../src/worker/tasks/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let app: FastifyInstance;
let recorder: TrackingRecorder;
let keyA: string;
let keyB: string;
const signer = createSigner(['api-test-secret-0123456789abcdef']);
const logLines: Array<Record<string, unknown>> = [];

const message = { from: 'News <news@example.com>', to: 'reader@example.com', subject: 'Hello', html: '<p><a href="https://example.com/a">a</a></p>' };

beforeAll(async () => {
  db = await createTestDatabase();
  keyA = await createApiKey(db.pool, await createAccount(db.pool, 'A'));
  keyB = await createApiKey(db.pool, await createAccount(db.pool, 'B'));
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });
  recorder = createTrackingRecorder({ db, logger });
  const enqueue = createEnqueue(beaconTasks);
  app = await buildApp({ db, logger, signer, recorder, enqueueSend: (q, p) => enqueue(q, 'send_email', p) });
});

afterAll(async () => {
  await app.close();
  await recorder.close(1_000);
  expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  await db.drop();
});

const post = (key: string | undefined, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/api/messages',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
const get = (key: string | undefined, url: string) => app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });
const counts = async () => {
  const { rows } = await db.pool.query<{ logs: number; tasks: number }>(
    `select (select count(*)::int from usage_logs) as logs, (select count(*)::int from tasks where type = 'send_email') as tasks`,
  );
  return rows[0]!;
};

describe('authentication and account isolation', () => {
  it('refuses requests without a valid key', async () => {
    expect((await post(undefined, message)).statusCode).toBe(401);
    expect((await post('bk_not_a_key', message)).statusCode).toBe(401);
    expect((await get(undefined, '/api/metrics/daily')).json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('queues a message, creating its usage log and its task together', async () => {
    const before = await counts();
    const res = await post(keyA, message);
    expect(res.statusCode).toBe(202);
    const { id, status } = res.json<{ id: number; status: string }>();
    expect(status).toBe('queued');
    expect(await counts()).toEqual({ logs: before.logs + 1, tasks: before.tasks + 1 });
    const view = (await get(keyA, `/api/messages/${id}`)).json();
    expect(view).toMatchObject({ id, status: 'queued', to: 'reader@example.com', subject: 'Hello', openCount: 0, clickCount: 0, openedAt: null });
  });

  it("a key of account B cannot read account A's messages or metrics", async () => {
    const { id } = (await post(keyA, message)).json<{ id: number }>();
    expect((await get(keyB, `/api/messages/${id}`)).statusCode).toBe(404);
    const today = new Date().toISOString().slice(0, 10);
    await db.pool.query(`insert into daily_metrics (account_id, day, sent) select account_id, $1::date, 7 from usage_logs where id = $2`, [today, id]);
    const a = (await get(keyA, `/api/metrics/daily?from=${today}&to=${today}`)).json<{ days: Array<{ sent: number }> }>();
    const b = (await get(keyB, `/api/metrics/daily?from=${today}&to=${today}`)).json<{ days: Array<{ sent: number }> }>();
    expect(a.days[0]!.sent).toBe(7);
    expect(b.days[0]!.sent).toBe(0);
  });
});

describe('bad input to POST /api/messages', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['missing to', { ...message, to: undefined }, 400, '"to" is required'],
    ['missing html', { from: message.from, to: message.to, subject: 's' }, 400, '"html" is required'],
    ['invalid from', { ...message, from: 'not an address' }, 400, '"from" must be an email address'],
    ['invalid to', { ...message, to: 'a@' }, 400, '"to" must be an email address'],
    ['header injection in subject', { ...message, subject: 'Hi\r\nBcc: x@example.com' }, 400, '"subject" must not contain line breaks'],
    ['header injection in to', { ...message, to: 'a@example.com\nBcc: x@example.com' }, 400, '"to" must not contain line breaks'],
    ['html of the wrong type', { ...message, html: 42 }, 400, '"html" must be a string'],
    ['trackOpens of the wrong type', { ...message, trackOpens: 'yes' }, 400, '"trackOpens" must be true or false'],
    ['trackTextLinks of the wrong type', { ...message, trackTextLinks: 1 }, 400, '"trackTextLinks" must be true or false'],
    ['an unknown field', { ...message, bcc: 'x@example.com' }, 400, 'unknown field "bcc"'],
    ['a list of recipients', { ...message, to: 'other@example.com, Evil <victim@example.com>' }, 400, '"to" must be exactly one email address'],
    ['a group of recipients', { ...message, to: 'team: x@example.com, y@example.com;' }, 400, '"to" must be exactly one email address'],
    ['semicolon-separated recipients', { ...message, to: 'x@example.com; y@example.com <z@example.com>' }, 400, '"to" must be exactly one'],
    ['a NUL in html', { ...message, html: 'a\u0000b' }, 400, '"html" must not contain NUL characters'],
    ['a NUL in a display name', { ...message, from: 'A\u0000 <a@example.com>' }, 400, '"from" must not contain NUL characters'],
    ['an html part over 5 MiB', { ...message, html: 'x'.repeat(6 * 1024 * 1024) }, 400, '"html" must be at most 5242880 characters'],
    ['a blank subject', { ...message, subject: '   ' }, 400, '"subject" must not be empty'],
    ['an array', [message], 400, 'must be a JSON object'],
    ['null', 'null', 400, 'must be a JSON object'],
    ['broken JSON', '{"from":', 400, 'not valid JSON'],
  ];
  for (const [name, payload, status, text] of cases) {
    it(`${name} → ${status}, nothing written`, async () => {
      const before = await counts();
      const res = await post(keyA, payload);
      expect(res.statusCode).toBe(status);
      expect(res.json<{ error: { message: string } }>().error.message).toContain(text);
      expect(await counts()).toEqual(before);
    });
  }

  it('a 20 MB body → 413 with a clear message, nothing written', async () => {
    const before = await counts();
    const res = await post(keyA, JSON.stringify({ ...message, html: 'x'.repeat(20 * 1024 * 1024) }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' } });
    expect(await counts()).toEqual(before);
  });

  it('a non-JSON content type → 415', async () => {
    const res = await post(keyA, 'from=a', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
  });

  it('bad ids and dates → 400, unknown ids → 404', async () => {
    for (const id of ['0', '-1', 'abc', '1.5', '99999999999999999999', '9999999999999999']) expect((await get(keyA, `/api/messages/${id}`)).statusCode).toBe(400);
    expect((await get(keyA, '/api/messages/987654321')).statusCode).toBe(404);
    for (const q of ['from=2026-02-30', 'from=yesterday', 'from=0000-01-01&to=0000-12-31', 'to=0000-01-01', 'from=2026-03-02&to=2026-03-01', 'from=2020-01-01&to=2026-01-01', 'x=1']) {
      expect((await get(keyA, `/api/metrics/daily?${q}`)).statusCode).toBe(400);
    }
    // 366 days (2028 is a leap year) is the most one request spans.
    expect((await get(keyA, '/api/metrics/daily?from=2028-01-01&to=2028-12-31')).statusCode).toBe(200);
    const tooLong = await get(keyA, '/api/metrics/daily?from=2028-01-01&to=2029-01-01');
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toMatchObject({ error: { message: '"from" must be at most 365 days before "to" (366 days per request at most)' } });
  });
});

/** As the worker leaves a message it sent an hour ago: clicks before sending, or within 3 s of it, are a scanner's. */
async function markSentAnHourAgo(id: number): Promise<void> {
  await db.pool.query(`update usage_logs set status = 'sent', sent_at = now() - interval '1 hour' where id = $1`, [id]);
}

describe('tracking endpoints', () => {
  let logId: number;
  beforeAll(async () => {
    logId = (await post(keyA, message)).json<{ id: number }>().id;
    await markSentAnHourAgo(logId);
  });
  const path = (u: string) => u.replace('https://t.example', '');
  const browser = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36' };

  it('redirects a signed click to exactly the signed URL and records it', async () => {
    const url = 'https://example.com/?a=1&b=2%26c';
    const res = await app.inject({ url: path(buildClickUrl('https://t.example', signer, logId, url)), headers: browser });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(url);
    expect(res.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, private');
    expect((await get(keyA, `/api/messages/${logId}`)).json()).toMatchObject({ clickCount: 1 });
  });

  it('HEAD on a click link → 302, nothing recorded', async () => {
    const res = await app.inject({ method: 'HEAD', url: path(buildClickUrl('https://t.example', signer, logId, 'https://example.com/h')), headers: browser });
    expect(res.statusCode).toBe(302);
    expect((await get(keyA, `/api/messages/${logId}`)).json()).toMatchObject({ clickCount: 1 });
  });

  it('a valid signature for a log that does not exist still redirects', async () => {
    const res = await app.inject({ url: path(buildClickUrl('https://t.example', signer, 123_456_789, 'https://example.com/old')) });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://example.com/old');
  });

  it('refuses forged clicks with 403 and a security warning naming the logId', async () => {
    const url = 'https://example.com/a';
    const good = new URL(buildClickUrl('https://t.example', signer, logId, url));
    const sig = good.searchParams.get('sig')!;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
    const openSig = new URL(buildOpenUrl('https://t.example', signer, logId)).searchParams.get('sig')!;
    const otherLogSig = new URL(buildClickUrl('https://t.example', signer, logId + 1, url)).searchParams.get('sig')!;
    const otherUrlSig = new URL(buildClickUrl('https://t.example', signer, logId, 'https://evil.example/')).searchParams.get('sig')!;
    const enc = encodeURIComponent(url);
    const forged = [flip(sig, 0), flip(sig, 31), otherLogSig, otherUrlSig, openSig, sig.slice(0, 20), 'zz' + sig.slice(2), ''];
    for (const s of forged) {
      logLines.length = 0;
      const res = await app.inject({ url: `/api/track/click?url=${enc}&logId=${logId}&sig=${s}` });
      expect(res.statusCode).toBe(403);
      expect(res.body).toBe('Invalid tracking signature');
      expect(logLines.some((l) => l.source === 'security' && l.level === 40 && String(l.msg).includes(String(logId)))).toBe(true);
    }
    expect((await app.inject({ url: `/api/track/click?url=${enc}&logId=${logId}` })).statusCode).toBe(403);
    expect((await app.inject({ url: `/api/track/click?url=${enc}&logId=${logId}&sig=${sig}&sig=${sig}` })).statusCode).toBe(403);
  });

  it('malformed click parameters → 400, never 5xx', async () => {
    const sig = new URL(buildClickUrl('https://t.example', signer, logId, 'https://example.com/a')).searchParams.get('sig')!;
    for (const q of ['', `logId=${logId}&sig=${sig}`, `url=https%3A%2F%2Fexample.com%2Fa&sig=${sig}`, 'url=x&logId=0&sig=a', 'url=x&logId=-1&sig=a', 'url=x&logId=abc&sig=a', 'url=%E0%A4%A&logId=1&sig=a']) {
      const res = await app.inject({ url: `/api/track/click?${q}` });
      expect(res.statusCode).toBe(400);
    }
    for (const bad of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>']) {
      const res = await app.inject({ url: path(buildClickUrl('https://t.example', signer, logId, bad)) });
      expect(res.statusCode).toBe(400);
    }
  });

  it('the pixel is always a no-store GIF; only a valid signature records an open, and the first open is kept', async () => {
    const before = (await get(keyA, `/api/messages/${logId}`)).json<{ openCount: number }>().openCount;
    for (const url of ['/api/track/open', '/api/track/open?logId=abc', `/api/track/open?logId=${logId}&sig=00`, `/api/track/open?logId=${logId}&logId=2`]) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(res.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, private');
      expect(res.rawPayload).toHaveLength(43);
    }
    expect((await get(keyA, `/api/messages/${logId}`)).json<{ openCount: number }>().openCount).toBe(before);
    const pixel = path(buildOpenUrl('https://t.example', signer, logId));
    await app.inject({ url: pixel, headers: browser });
    const first = (await get(keyA, `/api/messages/${logId}`)).json<{ openedAt: string }>().openedAt;
    await new Promise((r) => setTimeout(r, 20));
    await app.inject({ url: pixel, headers: browser });
    const after = (await get(keyA, `/api/messages/${logId}`)).json<{ openedAt: string; openCount: number }>();
    expect(after).toMatchObject({ openedAt: first, openCount: before + 2 });
  });

  it('the pixel is served even when recording throws', async () => {
    const broken = await buildApp({
      db,
      logger: createLogger({ level: 'silent' }),
      signer,
      recorder: { recordOpen: () => Promise.reject(new Error('db down')), recordClick: () => Promise.reject(new Error('db down')) },
      enqueueSend: async () => undefined,
    });
    const res = await broken.inject({ url: path(buildOpenUrl('https://t.example', signer, logId)) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    const click = await broken.inject({ url: path(buildClickUrl('https://t.example', signer, logId, 'https://example.com/z')) });
    expect(click.statusCode).toBe(302);
    await broken.close();
  });
});

describe('when the database is unreachable', () => {
  it('answers 503 (not 500) on the API and on /healthz, and tracking still answers', async () => {
    const gone = createDatabase(`postgres://beacon:x@127.0.0.1:${await freePort()}/beacon`);
    const goneRecorder = createTrackingRecorder({ db: gone, logger: createLogger({ level: 'silent' }), answerTimeoutMs: 50 });
    const down = await buildApp({
      db: gone,
      logger: createLogger({ level: 'silent' }),
      signer,
      recorder: goneRecorder,
      enqueueSend: async () => undefined,
    });
    try {
      const health = await down.inject({ url: '/healthz' });
      expect(health.statusCode).toBe(503);
      const res = await down.inject({ method: 'POST', url: '/api/messages', headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' }, payload: JSON.stringify(message) });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'DATABASE_UNAVAILABLE' } });
      expect((await down.inject({ url: buildOpenUrl('', signer, 1) })).statusCode).toBe(200);
      expect((await down.inject({ url: buildClickUrl('', signer, 1, 'https://example.com/') })).statusCode).toBe(302);
    } finally {
      await down.close();
      await goneRecorder.close(0);
      await gone.close();
    }
  });
});

describe('per-link clicks and the inert preview', () => {
  const html =
    '<html><body><a href="https://example.com/one?a=1&amp;b=2">one</a> <a href="https://example.com/two">two</a> ' +
    '<a href="https://example.com/one?a=1&amp;b=2">one again</a> <a href="mailto:x@example.com">mail</a></body></html>';
  let id: number;
  beforeAll(async () => {
    id = (await post(keyA, { ...message, html })).json<{ id: number }>().id;
    await markSentAnHourAgo(id);
  });
  const click = (url: string, ua: string) =>
    app.inject({ url: buildClickUrl('https://t.example', signer, id, url).replace('https://t.example', ''), headers: { 'user-agent': ua } });

  it('lists every tracked link with its clicks, people and machines apart', async () => {
    const person = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15';
    // A crawler followed "two" an hour ago (recorded through the same recorder, with its time).
    await recorder.recordClick({ logId: id, occurredAt: new Date(Date.now() - 3_600_000), userAgent: 'Googlebot/2.1', machine: true, url: 'https://example.com/two' });
    expect((await click('https://example.com/one?a=1&b=2', person)).statusCode).toBe(302);
    expect((await click('https://example.com/one?a=1&b=2', person)).statusCode).toBe(302);
    const view = (await get(keyA, `/api/messages/${id}`)).json<{ links: unknown[]; clickCount: number }>();
    expect(view.clickCount).toBe(2);
    // Two different links within 2 s is a scanner's sweep: both clicks become machine clicks.
    const sweep = await post(keyA, { ...message, html });
    const sweepId = sweep.json<{ id: number }>().id;
    await markSentAnHourAgo(sweepId);
    for (const url of ['https://example.com/one?a=1&b=2', 'https://example.com/two']) {
      await app.inject({ url: buildClickUrl('https://t.example', signer, sweepId, url).replace('https://t.example', ''), headers: { 'user-agent': person } });
    }
    expect((await get(keyA, `/api/messages/${sweepId}`)).json()).toMatchObject({ clickCount: 0, links: [
      { url: 'https://example.com/one?a=1&b=2', clicks: 0, uniqueClicks: 0, machineClicks: 1 },
      { url: 'https://example.com/two', clicks: 0, uniqueClicks: 0, machineClicks: 1 },
    ] });
    expect(view.links).toEqual([
      { url: 'https://example.com/one?a=1&b=2', clicks: 2, uniqueClicks: 1, machineClicks: 0 },
      { url: 'https://example.com/two', clicks: 0, uniqueClicks: 0, machineClicks: 1 },
    ]);
  });

  it('previews the message with links going straight to their destinations and no pixel, recording nothing', async () => {
    const before = (await get(keyA, `/api/messages/${id}`)).json();
    const res = await get(keyA, `/api/messages/${id}/preview`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/^sandbox;/);
    expect(res.body).toBe(html);
    expect(res.body).not.toContain('/api/track/');
    expect((await get(keyA, `/api/messages/${id}`)).json()).toEqual(before);
    expect((await get(keyB, `/api/messages/${id}/preview`)).statusCode).toBe(404);
    expect((await get(undefined, `/api/messages/${id}/preview`)).statusCode).toBe(401);
  });
});
