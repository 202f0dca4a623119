// The dashboard in-process (Fastify inject) on real Postgres: sign-in, sessions, CSRF, headers, pages, retry, outbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createLogger } from '../src/log/index.js';
import { buildApp } from '../src/server/app.js';
import { createAccount, createApiKey, revokeApiKey } from '../src/storage/accounts.js';
import { createTrackingRecorder, type TrackingRecorder } from '../src/tracking/recorder.js';
import { createSigner } from '../src/tracking/signature.js';
import { createEnqueue } from '../src/worker/enqueue.js';
import { beaconTasks } from '../src/worker/tasks/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let app: FastifyInstance;
let secureApp: FastifyInstance;
let recorder: TrackingRecorder;
let keyA: string;
let keyB: string;
let accountA: number;
const outboxFiles = new Map<number, string>();

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  db = await createTestDatabase();
  accountA = await createAccount(db.pool, 'Acme');
  keyA = await createApiKey(db.pool, accountA);
  keyB = await createApiKey(db.pool, await createAccount(db.pool, 'Other'));
  const logger = createLogger({ level: 'silent' });
  recorder = createTrackingRecorder({ db, logger });
  const enqueue = createEnqueue(beaconTasks);
  const base = { db, logger, signer: createSigner(['dashboard-test-secret-0123456789']), recorder, enqueueSend: (q: Parameters<typeof enqueue>[0], p: { logId: number }) => enqueue(q, 'send_email', p) };
  const outbox = {
    list: async () => [...outboxFiles.keys()].map((logId) => ({ logId, size: outboxFiles.get(logId)!.length, modifiedAt: new Date() })),
    read: async (logId: number) => outboxFiles.get(logId),
  };
  app = await buildApp({ ...base, dashboard: { sessionSecret: Buffer.alloc(32, 7), secure: false, outbox, loginAttemptsPerMinute: 20 } });
  secureApp = await buildApp({ ...base, dashboard: { sessionSecret: Buffer.alloc(32, 7), secure: true } });
});

afterAll(async () => {
  await app?.close();
  await secureApp?.close();
  await recorder?.close(1_000);
  await db?.drop();
});

function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'beacon_session');
  if (c === undefined) throw new Error(`no session cookie; status ${res.statusCode}`);
  return `beacon_session=${c.value}`;
}

async function signIn(key: string, on = app): Promise<string> {
  const res = await on.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key }) });
  expect(res.statusCode).toBe(303);
  return sessionCookie(res);
}

const csrfOf = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)![1]!;

async function queue(key: string, subject: string): Promise<number> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/messages',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: { from: 'news@example.com', to: 'reader@example.com', subject, html: '<p>Hi <a href="https://example.com/x">x</a></p><script>alert(1)</script>' },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ id: number }>().id;
}

describe('sign-in', () => {
  it('a wrong key gets a clear message and no session cookie', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key: 'bk_wrong' }) });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('That API key is not valid');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('a valid key sets an HttpOnly, SameSite=Strict session cookie (Secure only with an https PUBLIC_URL)', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key: keyA }) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    const raw = String(res.headers['set-cookie']);
    expect(raw).toMatch(/HttpOnly/);
    expect(raw).toMatch(/SameSite=Strict/);
    expect(raw).not.toMatch(/Secure/);
    const secure = await secureApp.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key: keyA }) });
    expect(String(secure.headers['set-cookie'])).toMatch(/; Secure/);
    expect(secure.headers['strict-transport-security']).toBeDefined();
  });

  it('pages redirect to /login without a session, or with a forged or revoked one', async () => {
    expect((await app.inject('/')).headers.location).toBe('/login');
    const forged = await app.inject({ url: '/messages', headers: { cookie: 'beacon_session=1.9999999999.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    expect(forged.statusCode).toBe(303);
    const account = await createAccount(db.pool, 'Revoked');
    const key = await createApiKey(db.pool, account);
    const cookie = await signIn(key);
    expect((await app.inject({ url: '/', headers: { cookie } })).statusCode).toBe(200);
    const { rows } = await db.pool.query<{ id: number }>('select id from api_keys where account_id = $1', [account]);
    await revokeApiKey(db.pool, rows[0]!.id);
    expect((await app.inject({ url: '/', headers: { cookie } })).headers.location).toBe('/login');
  });

  it('sign-out needs the CSRF token and clears the cookie', async () => {
    const cookie = await signIn(keyA);
    const overview = await app.inject({ url: '/', headers: { cookie } });
    const refused = await app.inject({ method: 'POST', url: '/logout', headers: { ...FORM, cookie }, payload: form({ _csrf: 'nope' }) });
    expect(refused.statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/logout', headers: { ...FORM, cookie }, payload: form({ _csrf: csrfOf(overview.body) }) });
    expect(ok.statusCode).toBe(303);
    expect(String(ok.headers['set-cookie'])).toMatch(/beacon_session=;/);
  });

  it('limits sign-in attempts per address', async () => {
    const limited = await buildApp({ db, logger: createLogger({ level: 'silent' }), signer: createSigner(['x'.repeat(20)]), recorder, enqueueSend: async () => undefined, dashboard: { sessionSecret: Buffer.alloc(32, 1), secure: false, loginAttemptsPerMinute: 3 } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await limited.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key: 'bk_guess' }) })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const last = await limited.inject({ method: 'POST', url: '/login', headers: FORM, payload: form({ key: keyA }) });
    expect(last.statusCode).toBe(429);
    expect(last.body).toContain('Too many sign-in attempts');
    expect(last.headers['set-cookie']).toBeUndefined();
    await limited.close();
  });
});

describe('pages', () => {
  it('serve security headers: a CSP without inline scripts, nosniff, frame protection', async () => {
    const cookie = await signIn(keyA);
    const res = await app.inject({ url: '/', headers: { cookie } });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    // Every script is a file of ours or a JSON data block: nothing inline to execute.
    expect(res.body).not.toMatch(/<script(?![^>]*(src="\/assets\/|type="application\/json"))/);
    expect(res.body).toContain('<script src="/assets/uplot.min.js">');
    const asset = await app.inject('/assets/uplot.min.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.body).toContain('uPlot');
    expect((await app.inject('/assets/__proto__')).statusCode).toBe(404);
    // The API keeps its own answers: no dashboard CSP on it.
    expect((await app.inject('/healthz')).headers['content-security-policy']).toBeUndefined();
  });

  it('messages: list filtered by status and date, one message with links and a sandboxed inert preview; other accounts see nothing', async () => {
    const id = await queue(keyA, 'Spring <sale>');
    const other = await queue(keyB, 'Not yours');
    const cookie = await signIn(keyA);
    const list = await app.inject({ url: '/messages', headers: { cookie } });
    expect(list.body).toContain('Spring &lt;sale&gt;');
    expect(list.body).not.toContain('Not yours');
    expect((await app.inject({ url: '/messages?status=sent', headers: { cookie } })).body).not.toContain('Spring');
    expect((await app.inject({ url: '/messages?status=queued', headers: { cookie } })).body).toContain('Spring');
    expect((await app.inject({ url: '/messages?from=2001-01-01&to=2001-01-02', headers: { cookie } })).body).toContain('No messages match');
    expect((await app.inject({ url: '/messages?status=bogus', headers: { cookie } })).statusCode).toBe(400);

    const one = await app.inject({ url: `/messages/${id}`, headers: { cookie } });
    expect(one.statusCode).toBe(200);
    expect(one.body).toContain('https://example.com/x');
    expect(one.body).toMatch(new RegExp(`<iframe[^>]*sandbox[^>]*src="/messages/${id}/preview"`));
    const preview = await app.inject({ url: `/messages/${id}/preview`, headers: { cookie } });
    expect(preview.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none'/);
    expect(preview.body).toContain('href="https://example.com/x"');
    expect(preview.body).not.toContain('/api/track/');

    expect((await app.inject({ url: `/messages/${other}`, headers: { cookie } })).statusCode).toBe(404);
    expect((await app.inject({ url: `/messages/${other}/preview`, headers: { cookie } })).statusCode).toBe(404);
  });

  it('queue: counts, dead tasks with errors, retry needs CSRF and only works once', async () => {
    const id = await queue(keyA, 'Will die');
    const { rows } = await db.pool.query<{ id: number }>(
      `update tasks set status = 'dead', attempts = 16, last_error = '550 mailbox unavailable', finished_at = now()
       where payload->>'logId' = $1 returning id`,
      [String(id)],
    );
    await db.pool.query(`update usage_logs set status = 'failed', last_error = '550 mailbox unavailable' where id = $1`, [id]);
    const taskId = rows[0]!.id;
    const cookie = await signIn(keyA);
    const page = await app.inject({ url: '/queue', headers: { cookie } });
    expect(page.body).toContain('550 mailbox unavailable');
    expect(page.body).toContain(`/queue/tasks/${taskId}/retry`);
    expect((await app.inject({ url: '/queue', headers: { cookie: await signIn(keyB) } })).body).not.toContain('550 mailbox');

    const url = `/queue/tasks/${taskId}/retry`;
    expect((await app.inject({ method: 'POST', url, headers: { ...FORM, cookie }, payload: form({}) })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url, headers: { ...FORM, cookie }, payload: form({ _csrf: csrfOf(page.body) }) });
    expect(ok.statusCode).toBe(303);
    const after = await db.pool.query<{ status: string; attempts: number; log: string }>(
      `select t.status, t.attempts, l.status as log from tasks t join usage_logs l on l.id = (t.payload->>'logId')::bigint where t.id = $1`,
      [taskId],
    );
    expect(after.rows[0]).toEqual({ status: 'pending', attempts: 0, log: 'queued' });
    const again = await app.inject({ method: 'POST', url, headers: { ...FORM, cookie }, payload: form({ _csrf: csrfOf(page.body) }) });
    expect(again.statusCode).toBe(409);
  });

  it('outbox: lists and renders the account\'s .eml files, never another account\'s', async () => {
    const id = await queue(keyA, 'In the outbox');
    const other = await queue(keyB, 'Other outbox');
    outboxFiles.set(id, 'Subject: In the outbox\r\n\r\n<p>raw</p>');
    outboxFiles.set(other, 'Subject: Other outbox\r\n\r\nsecret');
    const cookie = await signIn(keyA);
    const list = await app.inject({ url: '/outbox', headers: { cookie } });
    expect(list.body).toContain(`${id}.eml`);
    expect(list.body).not.toContain(`${other}.eml`);
    const one = await app.inject({ url: `/outbox/${id}`, headers: { cookie } });
    expect(one.body).toContain('&lt;p&gt;raw&lt;/p&gt;');
    expect(one.body).toContain(`src="/messages/${id}/preview"`);
    expect((await app.inject({ url: `/outbox/${other}`, headers: { cookie } })).statusCode).toBe(404);
    // Without an outbox (SMTP_URL set) there is no outbox page.
    expect((await secureApp.inject({ url: '/outbox', headers: { cookie: await signIn(keyA, secureApp) } })).statusCode).toBe(404);
  });
});
