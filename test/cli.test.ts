// The `beacon` command line as the real binary (node dist/main/cli.js): help, migrate, keys create/list/revoke on an
// embedded DATA_DIR (alone, and joining a running Beacon) and on DATABASE_URL, and bad configuration.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/storage/accounts.js';
import { cleanupBeaconProcesses, makeDataDir, postgresPidFor, runCli, startBeaconProcess, type BeaconProcess } from './helpers/beacon-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

const STACK_FRAME = /^\s+at .+[(:]/m;
const KEY = /^(bk_[A-Za-z0-9_-]{43})$/m;
const SECRETS = 'cli-test-secret-0123456789abcdef';

afterAll(cleanupBeaconProcesses);

function keyOf(stdout: string): string {
  const key = KEY.exec(stdout)?.[1];
  if (key === undefined) throw new Error(`no key in output:\n${stdout}`);
  return key;
}

/** Parses `keys list` lines: id, account, prefix…, created[, revoked]. */
function listed(stdout: string): Array<{ id: number; account: string; prefix: string; revoked: boolean }> {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^(\d+)\t([^\t]+)\t(\S+)…\tcreated \S+(\trevoked \S+)?$/.exec(line);
      if (!m) throw new Error(`unexpected keys list line: ${JSON.stringify(line)}`);
      return { id: Number(m[1]), account: m[2]!, prefix: m[3]!, revoked: m[4] !== undefined };
    });
}

describe('help and usage errors', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help'], {});
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'migrate', 'keys']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('each command takes --help and exits 0', async () => {
    const cases: Array<[string[], RegExp[]]> = [
      [['start', '--help'], [/Usage: beacon start/, /ROLE=web/]],
      [['migrate', '--help'], [/Usage: beacon migrate/]],
      [['keys', '--help'], [/Usage: beacon keys/, /^\s+create\b/m, /^\s+list\b/m, /^\s+revoke <id>/m]],
      [['keys', 'create', '--help'], [/Usage: beacon keys create/, /--account <name>/]],
      [['keys', 'list', '--help'], [/Usage: beacon keys list/]],
      [['keys', 'revoke', '--help'], [/Usage: beacon keys revoke \[options\] <id>/]],
      [['send', '--help'], [/Usage: beacon send/, /--to <address>/, /--html <file>/, /--text <file>/, /repeat for several/]],
      [['queue', '--help'], [/Usage: beacon queue/, /^\s+stats\b/m]],
      [['queue', 'stats', '--help'], [/Usage: beacon queue stats/, /--json/]],
      [['metrics', 'verify', '--help'], [/Usage: beacon metrics verify/]],
      [['metrics', 'rebuild', '--help'], [/Usage: beacon metrics rebuild/]],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, {})));
    for (const [i, [args, patterns]] of cases.entries()) {
      expect(results[i]!.code, args.join(' ')).toBe(0);
      for (const p of patterns) expect(results[i]!.stdout, args.join(' ')).toMatch(p);
    }
  });

  it('an unknown command exits non-zero and shows the help', async () => {
    const r = await runCli(['frobnicate'], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toMatch(/Usage: beacon/);
    expect(r.stderr).toMatch(/^\s+migrate\b/m);
  });

  it('revoke with an id that is not a positive integer is a usage error', async () => {
    const r = await runCli(['keys', 'revoke', 'abc'], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('must be a positive integer');
  });

  it.each([[''], ['x'.repeat(101)], ['tab\there']])('keys create --account %j is a usage error', async (name) => {
    const r = await runCli(['keys', 'create', '--account', name], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('must be 1 to 100 printable characters');
  });
});

describe('bad configuration exits 1 naming the variable, without a stack trace', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['PORT=abc', { PORT: 'abc' }, /^\s+- PORT: /m],
    ['SMTP_URL=http://x', { SMTP_URL: 'http://x' }, /^\s+- SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/m],
    ['DATABASE_URL without TRACKING_SECRETS', { DATABASE_URL: 'postgres://beacon@127.0.0.1:1/beacon' }, /^\s+- TRACKING_SECRETS: required when DATABASE_URL is set/m],
  ];
  for (const [name, env, message] of cases) {
    it(name, async () => {
      const dataDir = makeDataDir('beacon-cli-bad-');
      for (const args of [['start'], ['migrate'], ['keys', 'list']]) {
        const r = await runCli(args, { DATA_DIR: dataDir, ...env });
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr).toMatch(/^Invalid configuration:/);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(STACK_FRAME);
        expect(r.stdout).toBe('');
      }
      // Refused before touching anything: no database was initialised.
      expect(fs.existsSync(path.join(dataDir, 'pg'))).toBe(false);
    });
  }
});

describe('embedded DATA_DIR', () => {
  const dataDir = makeDataDir('beacon-cli-');
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  let createdKey: string;
  let createdId: number;
  let beacon: BeaconProcess;

  it('migrate initialises the cluster, exits 0 and leaves no PostgreSQL running', async () => {
    const r = await runCli(['migrate'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('migrations applied');
    expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(postgresPidFor(dataDir)).toBeUndefined();
    expect(fs.existsSync(path.join(dataDir, 'beacon.pid'))).toBe(false);
    // Idempotent.
    expect((await runCli(['migrate'], env)).code).toBe(0);
  });

  it('keys create prints a key once; keys list shows only its prefix', async () => {
    const r = await runCli(['keys', 'create'], env);
    expect(r.code, r.stderr).toBe(0);
    createdKey = keyOf(r.stdout);
    const list = await runCli(['keys', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(createdKey);
    const rows = listed(list.stdout);
    expect(rows).toHaveLength(1);
    expect(createdKey.startsWith(rows[0]!.prefix)).toBe(true);
    expect(rows[0]!.revoked).toBe(false);
    createdId = rows[0]!.id;
    expect(postgresPidFor(dataDir)).toBeUndefined();
  });

  it('a Beacon started afterwards prints no key of its own and accepts the created one', async () => {
    beacon = await startBeaconProcess({ dataDir, apiKey: null, env: { LOG_LEVEL: 'warn' } });
    expect(beacon.printedKey).toBeUndefined();
    const res = await fetch(`${beacon.url}/api/metrics/daily`, { headers: { authorization: `Bearer ${createdKey}` } });
    expect(res.status).toBe(200);
  });

  it('keys create/list/revoke while that Beacon runs join its database instead of failing on the lock', async () => {
    const pg = postgresPidFor(dataDir);
    expect(pg).toBeDefined();
    const r = await runCli(['keys', 'create', '--account', 'other'], env);
    expect(r.code, r.stderr).toBe(0);
    const otherKey = keyOf(r.stdout);
    // The running Beacon sees the new key at once, in its own account.
    const asOther = (p: string, init: RequestInit = {}) =>
      fetch(`${beacon.url}${p}`, { ...init, headers: { authorization: `Bearer ${otherKey}`, 'content-type': 'application/json' } });
    const sent = await asOther('/api/messages', {
      method: 'POST',
      body: JSON.stringify({ from: 'o@example.com', to: 'r@example.com', subject: 'other', html: '<p>x</p>' }),
    });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: number };
    const asDefault = await fetch(`${beacon.url}/api/messages/${id}`, { headers: { authorization: `Bearer ${createdKey}` } });
    expect(asDefault.status).toBe(404);

    const rows = listed((await runCli(['keys', 'list'], env)).stdout);
    expect(rows).toHaveLength(2);
    expect(rows.map((k) => k.account).sort()).toEqual(['default', 'other']);

    const revoke = await runCli(['keys', 'revoke', String(createdId)], env);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`revoked key ${createdId}`);
    const refused = await fetch(`${beacon.url}/api/metrics/daily`, { headers: { authorization: `Bearer ${createdKey}` } });
    expect(refused.status).toBe(401);
    expect((await asOther('/api/metrics/daily')).status).toBe(200);

    const again = await runCli(['keys', 'revoke', String(createdId)], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`no active key with id ${createdId}`);
    expect(again.stderr).not.toMatch(STACK_FRAME);
    expect(listed((await runCli(['keys', 'list'], env)).stdout).find((k) => k.id === createdId)?.revoked).toBe(true);

    // The Beacon's own PostgreSQL served all of it and is still the one running.
    expect(postgresPidFor(dataDir)).toBe(pg);
    expect(fs.readFileSync(path.join(dataDir, 'beacon.pid'), 'utf8').trim()).toBe(String(beacon.beaconPid));
    beacon.kill('SIGTERM');
    expect(await beacon.exited).toEqual({ code: 0, signal: null });
    expect(postgresPidFor(dataDir)).toBeUndefined();
  });
});

describe('DATABASE_URL', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, TRACKING_SECRETS: SECRETS, DATA_DIR: makeDataDir('beacon-cli-ext-'), LOG_LEVEL: 'warn' };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('migrate, keys create/list/revoke work against an external PostgreSQL and store only a hash', async () => {
    const m = await runCli(['migrate'], env);
    expect(m.code, m.stderr).toBe(0);
    expect(fs.existsSync(path.join(env.DATA_DIR!, 'pg'))).toBe(false);

    const key = keyOf((await runCli(['keys', 'create', '--account', 'acme'], env)).stdout);
    const { rows } = await db.pool.query<{ id: number; name: string; prefix: string; revoked_at: Date | null }>(
      'select k.id, a.name, k.prefix, k.revoked_at from api_keys k join accounts a on a.id = k.account_id where k.key_hash = $1',
      [hashApiKey(key)],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'acme', revoked_at: null });
    expect(key.startsWith(rows[0]!.prefix)).toBe(true);
    const { rows: plain } = await db.pool.query('select 1 from api_keys where key_hash = $1 or prefix = $1', [key]);
    expect(plain).toHaveLength(0);

    const list = listed((await runCli(['keys', 'list'], env)).stdout);
    expect(list).toEqual([{ id: rows[0]!.id, account: 'acme', prefix: rows[0]!.prefix, revoked: false }]);

    const revoke = await runCli(['keys', 'revoke', String(rows[0]!.id)], env);
    expect(revoke.code).toBe(0);
    const after = await db.pool.query<{ revoked_at: Date | null }>('select revoked_at from api_keys where id = $1', [rows[0]!.id]);
    expect(after.rows[0]!.revoked_at).toBeInstanceOf(Date);
    const again = await runCli(['keys', 'revoke', String(rows[0]!.id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no active key with id ${rows[0]!.id}`);
    const missing = await runCli(['keys', 'revoke', '999999'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no active key with id 999999');
  });

  it('metrics verify finds a counter that disagrees with the events, metrics rebuild repairs it', async () => {
    const accountId = (await db.pool.query<{ id: number }>(`insert into accounts (name) values ('metrics') returning id`)).rows[0]!.id;
    const logId = (
      await db.pool.query<{ id: number }>(
        `insert into usage_logs (account_id, from_address, to_address, subject, html) values ($1, 'a@example.com', 'b@example.com', 's', 'h') returning id`,
        [accountId],
      )
    ).rows[0]!.id;
    await db.pool.query(
      `insert into open_events (id, log_id, account_id, occurred_at, user_agent, machine) values (gen_random_uuid(), $1, $2, '2026-10-01T10:00:00Z', 'Mozilla/5.0', false)`,
      [logId, accountId],
    );
    const clean = await runCli(['metrics', 'verify'], env);
    expect(clean.code).toBe(1);
    expect(clean.stdout).toContain(`day 2026-10-01 (account ${accountId}): opens is 0, the events say 1`);
    expect(clean.stdout).toContain(`usage log ${logId} (account ${accountId}): openCount is 0, the events say 1`);
    expect(clean.stderr).toContain('beacon metrics rebuild');

    const rebuild = await runCli(['metrics', 'rebuild'], env);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(rebuild.stdout).toContain('metrics rebuild: 1 day row(s) and 1 message(s) corrected');
    const again = await runCli(['metrics', 'verify'], env);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain('every counter matches the events');
  });
});

describe('send and queue stats (DATABASE_URL)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = makeDataDir('beacon-cli-send-');
    env = { DATABASE_URL: db.url, TRACKING_SECRETS: SECRETS, DATA_DIR: dir, LOG_LEVEL: 'warn' };
    fs.writeFileSync(path.join(dir, 'news.html'), '<h1>News</h1><p><a href="https://example.com/read">read</a></p>');
    fs.writeFileSync(path.join(dir, 'news.txt'), 'News: https://example.com/read');
    expect((await runCli(['migrate'], env)).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const sendArgs = (...to: string[]) => [
    'send', ...to.flatMap((t) => ['--to', t]), '--from', 'News <news@example.com>', '--subject', 'Weekly news',
    '--html', path.join(dir, 'news.html'), '--text', path.join(dir, 'news.txt'),
  ];

  it('send queues one message and one send_email task per recipient, prints the ids and shows progress on stderr', async () => {
    const r = await runCli(sendArgs('a@example.com', 'B <b@example.com>', 'c@example.com'), env);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.trim().split('\n').map(Number);
    expect(ids).toHaveLength(3);
    expect(r.stderr).toContain('3/3');
    const { rows } = await db.pool.query<{ id: number; to: string; subject: string; status: string; text: string; account: string; tasks: number }>(
      `select l.id, l.to_address as "to", l.subject, l.status, l.text_body as text, a.name as account,
         (select count(*)::int from tasks t where t.type = 'send_email' and (t.payload->>'logId')::bigint = l.id) as tasks
       from usage_logs l join accounts a on a.id = l.account_id where l.id = any($1::bigint[]) order by l.id`,
      [ids],
    );
    expect(rows.map((x) => x.to)).toEqual(['a@example.com', 'B <b@example.com>', 'c@example.com']);
    for (const row of rows) expect(row).toMatchObject({ subject: 'Weekly news', status: 'queued', text: 'News: https://example.com/read', account: 'default', tasks: 1 });
  });

  it('send with one bad address queues nothing and names the problem; a missing file or account is a clear error', async () => {
    const before = (await db.pool.query<{ n: number }>('select count(*)::int as n from usage_logs')).rows[0]!.n;
    const bad = await runCli(sendArgs('ok@example.com', 'not-an-address'), env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"to" must be an email address');
    expect(bad.stderr).not.toMatch(STACK_FRAME);
    const missing = await runCli(['send', '--to', 'a@example.com', '--from', 'n@example.com', '--subject', 's', '--html', path.join(dir, 'nope.html')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the --html file');
    const account = await runCli([...sendArgs('a@example.com'), '--account', 'nobody'], env);
    expect(account.code).toBe(1);
    expect(account.stderr).toContain('no account named "nobody"');
    const noTo = await runCli(['send', '--from', 'n@example.com', '--subject', 's', '--html', path.join(dir, 'news.html')], env);
    expect(noTo.code).not.toBe(0);
    expect(noTo.stderr).toContain("required option '--to <address>'");
    expect((await db.pool.query<{ n: number }>('select count(*)::int as n from usage_logs')).rows[0]!.n).toBe(before);
  });

  it('queue stats prints counts by type and status and the oldest due task\'s wait, as a table or JSON', async () => {
    await db.pool.query(`update tasks set run_at = now() - interval '90 seconds' where type = 'send_email'`);
    await db.pool.query(`insert into tasks (type, status, last_error, finished_at) values ('send_email', 'dead', 'boom', now())`);
    const table = await runCli(['queue', 'stats'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^send_email\s+pending\s+3$/m);
    expect(table.stdout).toMatch(/^send_email\s+dead\s+1$/m);
    expect(table.stdout).toMatch(/oldest due pending task: waiting (9\d|1\d\d)\.\d s/);
    const json = await runCli(['queue', 'stats', '--json'], env);
    const parsed = JSON.parse(json.stdout) as { counts: Array<{ status: string; type: string; count: number }>; oldestPendingAgeSeconds: number };
    expect(parsed.counts).toContainEqual({ status: 'pending', type: 'send_email', count: 3 });
    expect(parsed.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(90);
  });
});
