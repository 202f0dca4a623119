// bench:tracking — the open pixel and the click redirect under 50 connections: a bare node:http server (no
// database), the audit's design (awaited log update, un-awaited hot-row increment) and Beacon, on one fresh
// embedded PostgreSQL. Prints JSON lines, one per system and endpoint, then the ratios.
// Usage: npm run bench:tracking [-- --seconds 10 --logs 5000 --only beacon --cpu-prof]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createLogger } from '../src/log/index.js';
import { createAccount } from '../src/storage/accounts.js';
import { createDatabase, type Database } from '../src/storage/db.js';
import { startEmbeddedPostgres } from '../src/storage/embedded.js';
import { runMigrations } from '../src/storage/migrate.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildClickUrl, buildOpenUrl } from '../src/tracking/urls.js';

const arg = (name: string, fallback: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]! : fallback);
const SECONDS = Number(arg('seconds', '10'));
const LOGS = Number(arg('logs', '5000'));
const ONLY = arg('only', 'bare,audit,beacon').split(',');
const CPU_PROF = process.argv.includes('--cpu-prof');
const CONNECTIONS = 50;
const SECRET = 'bench-tracking-secret-0123456789';
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const SERVER = path.join(import.meta.dirname, 'tracking/server.ts');

type System = 'bare' | 'audit' | 'beacon';
type Endpoint = 'open' | 'click';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beacon-bench-tracking-'));
fs.chmodSync(tmp, 0o755);
const pgServer = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), logger: createLogger({ level: 'warn' }), settings: { max_connections: '200' } });
const db: Database = createDatabase(pgServer.url);

async function cleanup(): Promise<void> {
  await db.close().catch(() => undefined);
  await pgServer.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** An account with `LOGS` sent usage logs (sent long ago, so no click is a scanner's), and their signed paths. */
async function seed(name: string): Promise<{ accountId: number; opens: string[]; clicks: string[] }> {
  const accountId = await createAccount(db.pool, name);
  const { rows } = await db.pool.query<{ id: number }>(
    `insert into usage_logs (account_id, from_address, to_address, subject, html, status, sent_at, track_opens, track_clicks)
     select $1, 'news@example.com', 'reader' || g || '@example.com', 'Hello', '<p>hi</p>', 'sent', now() - interval '1 hour', true, true
     from generate_series(1, $2) g returning id`,
    [accountId, LOGS],
  );
  const strip = (u: string) => u.slice('http://bench'.length);
  return {
    accountId,
    opens: rows.map((r) => strip(buildOpenUrl('http://bench', signer, r.id))),
    clicks: rows.map((r) => strip(buildClickUrl('http://bench', signer, r.id, `https://example.com/article/${r.id}?utm_source=news`))),
  };
}
const signer = createSigner([SECRET]);

async function startServer(system: System): Promise<{ child: ChildProcess; port: number; stderr: string[] }> {
  const flags = ['--import', 'tsx', ...(CPU_PROF && system === 'beacon' ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve('bench-profiles')}`] : [])];
  const child = spawn(process.execPath, [...flags, SERVER, system], {
    env: { ...process.env, BENCH_DATABASE_URL: pgServer.url, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let rest = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      rest += chunk.toString();
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        stderr.push(line);
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${system} server exited (${code}): ${stderr.join('\n')}`)));
  });
  return { child, port, stderr };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function fire(port: number, paths: string[], options: { amount?: number; duration?: number }): Promise<autocannon.Result> {
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: CONNECTIONS,
        headers: { 'user-agent': USER_AGENT, accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8' },
        requests: [{ setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length]! }) }],
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 2 }),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

/** Waits until a count stops moving (the audit's un-awaited increments land after their answers). */
async function settled(read: () => Promise<number>, expected: number): Promise<number> {
  let last = await read();
  for (let quiet = 0, i = 0; i < 100 && last !== expected && quiet < 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await read();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

function recordedCount(system: System, endpoint: Endpoint, accountId: number): Promise<number> {
  if (system === 'bare') return Promise.resolve(0);
  if (system === 'beacon') return count(`select count(*)::int as n from ${endpoint}_events where account_id = $1`, [accountId]);
  // The audit keeps no events: what it recorded is what its daily counter says.
  return count(`select coalesce(sum(${endpoint}s), 0)::int as n from daily_metrics where account_id = $1`, [accountId]);
}

interface Line {
  bench: 'tracking';
  system: System;
  endpoint: Endpoint;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  recorded: number | null;
  answered: number;
  seconds: number;
  errors: number;
}

/**
 * A short warm-up sizes the measured run: autocannon's `amount` mode waits for every response, so no request is
 * cut off in flight at the end and `answered` is exact (a `duration` run drops up to 50 in-flight answers the
 * server still records). The amount aims at SECONDS × 1.3 so the run lasts at least SECONDS.
 */
async function measure(system: System, endpoint: Endpoint, port: number, paths: string[], accountId: number): Promise<Line> {
  const warm = await fire(port, paths, { duration: 2 });
  // Warm-up requests cut off in flight may still be recorded: let the count settle before taking it.
  const before = await settled(() => recordedCount(system, endpoint, accountId), Number.NaN);
  const amount = Math.max(20_000, Math.ceil(warm.requests.average * SECONDS * 1.3));
  const started = Date.now();
  const result = await fire(port, paths, { amount });
  const seconds = (Date.now() - started) / 1000;
  const answered = endpoint === 'open' ? result['2xx'] : result['3xx'];
  const recorded = system === 'bare' ? null : (await settled(() => recordedCount(system, endpoint, accountId), before + answered)) - before;
  return {
    bench: 'tracking',
    system,
    endpoint,
    reqPerSec: Math.round(result.requests.total / seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    recorded,
    answered,
    seconds: +seconds.toFixed(1),
    errors: result.errors + result.timeouts + result.non2xx - (endpoint === 'click' ? result['3xx'] : 0),
  };
}

const results: Line[] = [];
try {
  await runMigrations(db);
  for (const system of ['bare', 'audit', 'beacon'] as const) {
    if (!ONLY.includes(system)) continue;
    const { accountId, opens, clicks } = await seed(system);
    const server = await startServer(system);
    try {
      for (const endpoint of ['open', 'click'] as const) {
        const line = await measure(system, endpoint, server.port, endpoint === 'open' ? opens : clicks, accountId);
        results.push(line);
        console.log(JSON.stringify(line));
      }
    } finally {
      await stopServer(server.child);
      for (const l of server.stderr.filter((s) => !s.startsWith('listening'))) console.error(`[${system}] ${l}`);
    }
  }
  const rate = (s: System, e: Endpoint) => results.find((r) => r.system === s && r.endpoint === e)?.reqPerSec;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? +(a / b).toFixed(2) : null);
  console.log(
    JSON.stringify({
      bench: 'tracking',
      ratios: {
        open: { beaconOverAudit: ratio(rate('beacon', 'open'), rate('audit', 'open')), beaconOverBare: ratio(rate('beacon', 'open'), rate('bare', 'open')) },
        click: { beaconOverAudit: ratio(rate('beacon', 'click'), rate('audit', 'click')), beaconOverBare: ratio(rate('beacon', 'click'), rate('bare', 'click')) },
      },
      beaconRecordedEqualsAnswered: results.filter((r) => r.system === 'beacon').every((r) => r.recorded === r.answered),
      targets: { beaconOverAudit: '>= 5', beaconOverBare: '>= 0.35 (aim)', p99Ms: '<= 15', recorded: '== answered' },
      machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      connections: CONNECTIONS,
      loadGenerator: 'autocannon in the parent process; each server in its own child process',
    }),
  );
} finally {
  await cleanup();
}
