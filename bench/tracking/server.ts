// One system under test for bench:tracking, alone in its own process: `bare`, `audit` or `beacon` on a free port.
// Prints `listening <port>` once ready; on SIGTERM closes (Beacon flushes its recorder) and prints its stats.
import http from 'node:http';
import Fastify from 'fastify';
import pg from 'pg';
import { createLogger } from '../../src/log/index.js';
import { buildApp } from '../../src/server/app.js';
import { createDatabase } from '../../src/storage/db.js';
import { TRANSPARENT_GIF } from '../../src/tracking/gif.js';
import { createTrackingRecorder } from '../../src/tracking/recorder.js';
import { checkClickRequest, checkOpenRequest } from '../../src/tracking/request.js';
import { createSigner } from '../../src/tracking/signature.js';
import { createEnqueue } from '../../src/worker/enqueue.js';
import { beaconTasks } from '../../src/worker/tasks/index.js';

const system = process.argv[2];
const databaseUrl = process.env.BENCH_DATABASE_URL ?? '';
const signer = createSigner([process.env.BENCH_SECRET ?? '']);
const POOL_SIZE = 20; // what src/main/start.ts gives Beacon
const GIF_HEADERS = {
  'content-type': 'image/gif',
  'cache-control': 'no-store, no-cache, must-revalidate, private',
  pragma: 'no-cache',
  expires: '0',
  'content-length': String(TRANSPARENT_GIF.length),
};

type Closer = () => Promise<unknown>;

/** (a) No database, no framework: the ceiling for answering the pixel on this machine. */
function bare(): Promise<{ port: number; close: Closer }> {
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/api/track/click')) {
      const url = new URL(req.url, 'http://x').searchParams.get('url') ?? '/';
      res.writeHead(302, { location: url, 'cache-control': GIF_HEADERS['cache-control'] }).end();
      return;
    }
    res.writeHead(200, GIF_HEADERS).end(TRANSPARENT_GIF);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(r)) })),
  );
}

/**
 * (b) The audit's recordEmailOpen as written: the usage-log update awaited (overwriting opened_at), the daily
 * counter's hot row incremented without awaiting, errors to console.error. Same Fastify stack and signature
 * checks as Beacon, so only the recording differs.
 */
async function audit(): Promise<{ port: number; close: Closer }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  const app = Fastify({ logger: false });
  const increment = (logId: number, column: 'opens' | 'clicks') =>
    pool.query(
      `insert into daily_metrics (account_id, day, ${column}) select account_id, (now() at time zone 'UTC')::date, 1 from usage_logs where id = $1
       on conflict (account_id, day) do update set ${column} = daily_metrics.${column} + 1`,
      [logId],
    );
  app.get('/api/track/open', async (request, reply) => {
    const check = checkOpenRequest(request.query, signer);
    if (check.kind === 'ok') {
      await pool.query('update usage_logs set opened_at = now() where id = $1', [check.logId]);
      increment(check.logId, 'opens').catch((err: unknown) => console.error('Async metric update failed:', err));
    }
    return reply.headers(GIF_HEADERS).send(TRANSPARENT_GIF);
  });
  app.get('/api/track/click', async (request, reply) => {
    const check = checkClickRequest(request.query, signer);
    if (check.kind !== 'ok') return reply.status(check.kind === 'forbidden' ? 403 : 400).send();
    await pool.query('update usage_logs set clicked_at = now() where id = $1', [check.logId]);
    increment(check.logId, 'clicks').catch((err: unknown) => console.error('Async metric update failed:', err));
    return reply.status(302).header('cache-control', GIF_HEADERS['cache-control']).header('location', check.url).send();
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: Number(new URL(address).port), close: async () => (await app.close(), await pool.end()) };
}

/** (c) Beacon: the real app and recorder, wired as src/main/start.ts wires them. */
async function beacon(): Promise<{ port: number; close: Closer }> {
  const logger = createLogger({ level: 'info' });
  const db = createDatabase(databaseUrl, { max: POOL_SIZE });
  const recorder = createTrackingRecorder({ db, logger });
  const enqueue = createEnqueue(beaconTasks);
  const app = await buildApp({ db, logger, signer, recorder, enqueueSend: (q, p) => enqueue(q, 'send_email', p) });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    port: Number(new URL(address).port),
    close: async () => {
      await app.close();
      await recorder.close(10_000);
      process.stderr.write(`stats ${JSON.stringify(recorder.stats())}\n`);
      await db.close();
    },
  };
}

const started = system === 'bare' ? await bare() : system === 'audit' ? await audit() : system === 'beacon' ? await beacon() : undefined;
if (started === undefined) throw new Error(`unknown system ${system}; expected bare, audit or beacon`);
process.once('SIGTERM', () => {
  void started.close().then(() => process.exit(0));
});
process.stderr.write(`listening ${started.port}\n`);
