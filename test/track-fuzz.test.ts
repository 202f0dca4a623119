// 10,000 random and malformed requests against the two tracking endpoints: never a 5xx, a crash or an unhandled rejection.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/index.js';
import { buildApp } from '../src/server/app.js';
import { createAccount } from '../src/storage/accounts.js';
import { verifyTrackingCounters } from '../src/storage/metrics.js';
import { insertUsageLog } from '../src/storage/usage-logs.js';
import { createTrackingRecorder, type TrackingRecorder } from '../src/tracking/recorder.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildClickUrl, buildOpenUrl } from '../src/tracking/urls.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

let db: TestDatabase;
let app: FastifyInstance;
let recorder: TrackingRecorder;
let logId: number;
const signer = createSigner(['fuzz-secret-0123456789abcdef']);
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  db = await createTestDatabase();
  const accountId = await createAccount(db.pool, 'fuzz');
  logId = await insertUsageLog(db.pool, { accountId, from: 'a@example.com', to: 'b@example.com', subject: 's', html: 'h', text: undefined, trackOpens: true, trackClicks: true });
  const logger = createLogger({ level: 'silent' });
  recorder = createTrackingRecorder({ db, logger });
  app = await buildApp({ db, logger, signer, recorder, enqueueSend: async () => undefined });
});

afterAll(async () => {
  await app.close();
  await recorder.close(2_000);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
  expect(await verifyTrackingCounters(db.pool)).toEqual([]);
  await db.drop();
});

const validClick = () => new URL(buildClickUrl('http://x', signer, logId, 'https://example.com/a?b=1')).searchParams;
const validOpen = () => new URL(buildOpenUrl('http://x', signer, logId)).searchParams;

/** Raw query-string pieces, many of them deliberately broken: bad escapes, huge values, odd names. */
const rawValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%C0%AF', '%FF%FE', '+', '&', '=', '#', '..', '\u2028', '[]', '{}'),
  fc.integer().map(String),
  fc.constantFrom('0', '-1', '01', '1e3', '9007199254740993', '1.5', ' 1', 'NaN', 'Infinity'),
  fc.string({ maxLength: 3 }).map((s) => s.repeat(3_000)),
  fc.constantFrom('javascript:alert(1)', 'data:text/html,x', 'https://example.com/', '//evil.example', 'http://[::1'),
);
const name = fc.oneof(fc.constantFrom('url', 'logId', 'sig', 'url[]', 'logId[0]', 'sig[a]', '__proto__', 'constructor'), fc.string({ maxLength: 8 }));
const pair = fc.tuple(name, rawValue).map(([k, v]) => `${k}=${v}`);

/** Starts from a valid link and breaks it: drop, repeat, replace or append parameters. */
const mutated = (base: () => URLSearchParams) =>
  fc.tuple(fc.array(fc.nat(2), { maxLength: 3 }), fc.array(pair, { maxLength: 4 }), fc.array(name, { maxLength: 2 })).map(([ops, extra, drop]) => {
    const params = base();
    for (const op of ops) {
      const key = ['url', 'logId', 'sig'][op]!;
      const value = params.get(key);
      if (value !== null) params.append(key, value);
    }
    for (const key of drop) params.delete(key);
    return [params.toString(), ...extra].filter((p) => p !== '').join('&');
  });

const query = (base: () => URLSearchParams) => fc.oneof(fc.array(pair, { maxLength: 6 }).map((ps) => ps.join('&')), mutated(base));
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD');
const userAgent = fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('Googlebot/2.1', 'Mozilla/5.0 Chrome/126', '')), { nil: undefined });

describe('tracking endpoints under fuzzing', () => {
  it('the click endpoint answers 302, 400 or 403 to 5,000 random requests', async () => {
    await fc.assert(
      fc.asyncProperty(query(validClick), method, userAgent, async (q, m, ua) => {
        const res = await app.inject({ method: m as 'GET' | 'HEAD', url: `/api/track/click?${q}`, headers: ua === undefined ? {} : { 'user-agent': ua } });
        expect([302, 400, 403]).toContain(res.statusCode);
        if (res.statusCode === 302) expect(res.headers.location).toMatch(/^https?:/i);
      }),
      { numRuns: 5_000 },
    );
  });

  it('the pixel answers the GIF to 5,000 random requests', async () => {
    await fc.assert(
      fc.asyncProperty(query(validOpen), method, userAgent, async (q, m, ua) => {
        const res = await app.inject({ method: m as 'GET' | 'HEAD', url: `/api/track/open?${q}`, headers: ua === undefined ? {} : { 'user-agent': ua } });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('image/gif');
      }),
      { numRuns: 5_000 },
    );
  });
});
