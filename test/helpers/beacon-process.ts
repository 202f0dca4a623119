// Beacon as a real child process (the compiled binary, or `npm start`), its output read back line by line, and
// cleanup that leaves no Beacon and no embedded PostgreSQL behind, even when a test fails half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { settings } from '../../src/config/settings.js';
import { freePort } from './net.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO_ROOT, 'dist/main/cli.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BeaconProcess {
  /** `http://127.0.0.1:<port>` as printed in the start banner. */
  url: string;
  /** BOOTSTRAP_API_KEY when given, otherwise the key printed on first start (undefined if none was printed). */
  apiKey: string | undefined;
  /** The key printed in the banner ("shown once"), if any. */
  printedKey: string | undefined;
  dataDir: string;
  port: number;
  /** stdout and stderr lines as they arrive (stderr prefixed with `stderr: `). */
  lines: string[];
  /** The spawned process: node itself, or npm for `npm start`. */
  pid: number;
  /** The Beacon node process (differs from pid under `npm start`). */
  beaconPid: number;
  /** Signals the spawned process (npm under `npm start`). */
  kill(signal: NodeJS.Signals): void;
  /** Signals the Beacon node process itself. */
  killBeacon(signal: NodeJS.Signals): void;
  exited: Promise<Exit>;
  /** stdout lines that are pino JSON, parsed. */
  logs(): Array<Record<string, unknown> & { msg?: string }>;
  output(): string;
}

export interface StartOptions {
  /** Defaults to a fresh directory under os.tmpdir(). */
  dataDir?: string;
  port?: number;
  /** BOOTSTRAP_API_KEY; `null` leaves it unset so the first start prints a key. */
  apiKey?: string | null;
  /** Extra environment (SMTP_URL, ROLE, LOG_LEVEL, …); `undefined` values unset a variable. */
  env?: Record<string, string | undefined>;
  /** `cli` (default): node dist/main/cli.js start; `npm`: npm start in the repo root (builds first). */
  via?: 'cli' | 'npm';
  readyTimeoutMs?: number;
}

const spawned = new Set<ChildProcess>();
const beaconPids = new Set<number>();
const dataDirs = new Set<string>();
const ownedDirs = new Set<string>();

export const DEFAULT_TEST_KEY = 'bk_process_test_key_0123456789abcdef';

/** process.env without any Beacon setting, so the test decides every one of them. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(settings)) delete env[name];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A fresh DATA_DIR under os.tmpdir(), reachable by the `postgres` user (Beacon runs PostgreSQL as it under root). */
export function makeDataDir(prefix = 'beacon-proc-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  ownedDirs.add(dir);
  dataDirs.add(dir);
  return dir;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A zombie answers kill(0) but is gone for every purpose that matters here.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The live postmaster serving `<dataDir>/pg`, if any (from postmaster.pid, confirmed by its command line). */
export function postgresPidFor(dataDir: string): number | undefined {
  const pgDir = path.join(dataDir, 'pg');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!(Number.isInteger(pid) && pid > 0 && isAlive(pid))) return undefined;
  return cmdline(pid).includes(`-D ${pgDir}`) ? pid : undefined;
}

export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops the postmaster of `dataDir` if one is still running (fast shutdown, then SIGKILL). */
export async function stopPostgres(dataDir: string): Promise<void> {
  const pid = postgresPidFor(dataDir);
  if (pid === undefined) return;
  process.kill(pid, 'SIGINT');
  try {
    await waitUntil(() => !isAlive(pid), 15_000, `postgres ${pid} to stop`);
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone already
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

// `npm start` rebuilds dist/ in place while other test files (parallel forks) may be loading it: while one of ours
// is building, spawns of the compiled binary wait. The lock file names the test process holding it.
const BUILD_LOCK = path.join(os.tmpdir(), `beacon-test-npm-build-${Buffer.from(REPO_ROOT).toString('base64url').slice(-40)}.lock`);

function lockOwner(): number | undefined {
  try {
    const text = fs.readFileSync(BUILD_LOCK, 'utf8');
    // Empty: created this instant, its owner's pid not written yet.
    if (text === '') return 0;
    const pid = Number(text);
    return pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function acquireBuildLock(): Promise<() => void> {
  for (const deadline = Date.now() + 120_000; ; ) {
    try {
      fs.writeFileSync(BUILD_LOCK, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(BUILD_LOCK, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockOwner() === undefined) fs.rmSync(BUILD_LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`${BUILD_LOCK} held too long`, { cause: err });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function waitForNoBuild(): Promise<void> {
  const owner = lockOwner();
  if (owner !== undefined && owner !== process.pid) await waitUntil(() => lockOwner() === undefined, 120_000, 'another test file\'s npm build');
}

const BANNER = 'Beacon is running';
const KEY_LINE = /^\s*API key \(shown once, store it now\): (bk_\S+)\s*$/;

/** Starts Beacon and resolves once its start banner has been printed in full. */
export async function startBeaconProcess(options: StartOptions = {}): Promise<BeaconProcess> {
  const dataDir = options.dataDir ?? makeDataDir();
  dataDirs.add(dataDir);
  const port = options.port ?? (await freePort());
  const bootstrapKey = options.apiKey === undefined ? DEFAULT_TEST_KEY : (options.apiKey ?? undefined);
  const env = cleanEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    BOOTSTRAP_API_KEY: bootstrapKey,
    ...options.env,
  });
  const via = options.via ?? 'cli';
  const releaseBuildLock = via === 'npm' ? await acquireBuildLock() : undefined;
  if (via === 'cli') await waitForNoBuild();
  const child =
    via === 'npm'
      ? spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      : spawn(process.execPath, [CLI, 'start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  spawned.add(child);
  const pid = child.pid!;
  const lines: string[] = [];
  // 'close', not 'exit': it comes once stdout is drained, so a test reading the output after exit sees the last lines.
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));

  let onLine: (line: string) => void = () => undefined;
  const reader = (prefix: string) => {
    let rest = '';
    return (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const part of parts) {
        lines.push(prefix + part);
        onLine(prefix + part);
      }
    };
  };
  child.stdout!.on('data', reader(''));
  child.stderr!.on('data', reader('stderr: '));

  const output = () => lines.join('\n');
  const timeoutMs = options.readyTimeoutMs ?? 90_000;
  let url: string | undefined;
  let printedKey: string | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    // A first start prints its new key as soon as it exists (before the banner); the banner is printed
    // synchronously, from BANNER through the Data line (and the key's reminder lines) to a blank line.
    let state: 'wait' | 'banner' | 'afterData' = 'wait';
    const done = (err?: Error) => {
      clearTimeout(timer);
      onLine = () => undefined;
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`Beacon did not print "${BANNER}" within ${timeoutMs} ms; output:\n${output()}`)), timeoutMs);
    void exited.then((e) => done(new Error(`Beacon exited (code ${e.code}, signal ${e.signal}) before it was ready; output:\n${output()}`)));
    onLine = (line) => {
      const key = KEY_LINE.exec(line);
      if (key) printedKey = key[1];
      if (state === 'wait') {
        if (line.includes(BANNER)) state = 'banner';
        return;
      }
      const http = /^\s*HTTP:\s+(\S+)/.exec(line);
      if (http) url = http[1];
      if (/^\s*Data:/.test(line)) state = 'afterData';
      else if (state === 'afterData' && line === '') done();
    };
    for (const line of [...lines]) onLine(line);
  });
  try {
    await ready;
  } finally {
    releaseBuildLock?.();
  }

  // Under npm start the Beacon is a grandchild; find it by its command line.
  const beaconPid = via === 'npm' ? (descendants(pid).find((p) => /^\S*node dist\/main\/cli\.js start/.test(cmdline(p))) ?? pid) : pid;
  beaconPids.add(beaconPid);
  // ROLE=worker serves no HTTP: its url is empty, and a test must not expect one.
  const workerOnly = options.env?.ROLE === 'worker';
  if (url === undefined && !workerOnly) throw new Error(`no HTTP line in the banner; output:\n${output()}`);
  return {
    url: url ?? '',
    apiKey: bootstrapKey ?? printedKey,
    printedKey,
    dataDir,
    port,
    lines,
    pid,
    beaconPid,
    kill: (signal) => void child.kill(signal),
    killBeacon: (signal) => process.kill(beaconPid, signal),
    exited,
    logs: () =>
      lines.flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown> & { msg?: string }];
        } catch {
          return [];
        }
      }),
    output,
  };
}

/** Runs one CLI command to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  if (env.DATA_DIR) dataDirs.add(env.DATA_DIR);
  await waitForNoBuild();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  spawned.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await new Promise<Exit>((resolve) => child.once('close', (c, s) => resolve({ code: c, signal: s })));
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`beacon ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
  return { code, signal, stdout, stderr };
}

function killGroups(signal: NodeJS.Signals): void {
  for (const child of spawned) {
    // Each child leads its own process group: npm, its shell and Beacon go together (PostgreSQL has its own).
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  }
  for (const pid of beaconPids) {
    try {
      if (isAlive(pid)) process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Kills every process this module started, stops their PostgreSQL servers and removes the data directories made here. */
export async function cleanupBeaconProcesses(): Promise<void> {
  killGroups('SIGKILL');
  await Promise.all(
    [...spawned].map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))),
  );
  spawned.clear();
  beaconPids.clear();
  for (const dir of dataDirs) await stopPostgres(dir);
  for (const dir of ownedDirs) fs.rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
  ownedDirs.clear();
}

// Last resort if the test process itself goes away without afterAll.
process.once('exit', () => killGroups('SIGKILL'));
