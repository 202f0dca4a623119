#!/usr/bin/env node
// The `beacon` command: start the service, run migrations, manage API keys, send mail, look at the queue.
import fs from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createApiKey, DEFAULT_ACCOUNT_NAME, ensureAccount, listApiKeys, revokeApiKey } from '../storage/accounts.js';
import type { Database } from '../storage/db.js';
import { rebuildTrackingCounters, verifyTrackingCounters } from '../storage/metrics.js';
import { runMigrations } from '../storage/migrate.js';
import { withTransaction } from '../storage/transaction.js';
import { createMessageBody, parse, type CreateMessageBody } from '../server/api/schemas.js';
import { queueMessage } from '../server/operations/queue-message.js';
import { findAccountIdByName } from '../storage/dashboard-access.js';
import { oldestPendingAgeSeconds } from '../storage/queue-overview.js';
import { taskCounts } from '../storage/tasks.js';
import { createEnqueue } from '../worker/enqueue.js';
import { beaconTasks } from '../worker/tasks/index.js';
import { openDatabase } from './database.js';
import { startBeacon, type RunningBeacon } from './start.js';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function setup(): { config: Config; logger: Logger } {
  const config = loadConfig();
  return { config, logger: createLogger({ level: config.logLevel }) };
}

/** Runs `fn` against the database (joining a running embedded Beacon if there is one), migrated. */
async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const { config, logger } = setup();
  const opened = await openDatabase(config, logger, { joinRunning: true, poolSize: 2 });
  try {
    await runMigrations(opened.db);
    return await fn(opened.db);
  } finally {
    await opened.close();
  }
}

async function start(): Promise<void> {
  const { config, logger } = setup();
  let stopping = false;
  // Set once started; a fatal error during start-up is handled by startBeacon's own cleanup.
  const running: { beacon?: RunningBeacon } = {};
  const shutdown = (exitCode: number) => {
    stopping = true;
    (running.beacon?.stop() ?? Promise.resolve()).then(
      () => process.exit(exitCode),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  running.beacon = await startBeacon(config, logger, print, (message) => {
    if (stopping) return;
    logger.fatal(message);
    process.stderr.write(`beacon: ${message}; stopping\n`);
    shutdown(1);
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
      process.exit(1);
    }
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: draining tasks and tracking events');
    shutdown(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function accountName(value: string): string {
  const name = value.trim();
  if (name === '' || name.length > 100 || /\p{Cc}/u.test(name)) throw new InvalidArgumentError('must be 1 to 100 printable characters');
  return name;
}

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

const program = new Command('beacon')
  .description('Email delivery and engagement tracking on PostgreSQL.\nConfiguration comes from the environment: see docs/configuration.md.')
  .showHelpAfterError();

program
  .command('start')
  .description('run Beacon: HTTP API and tracking (ROLE=web), worker loops (ROLE=worker), or both (default)')
  .action(start);

program
  .command('migrate')
  .description('apply database migrations and exit (start does this too)')
  .action(() => withDatabase(async () => print('migrations applied')));

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key and print it (it is shown only once)')
  .option('--account <name>', 'account the key belongs to (created if missing)', accountName, 'default')
  .action((options: { account: string }) =>
    withDatabase(async (db) => {
      const key = await createApiKey(db.pool, await ensureAccount(db.pool, options.account));
      print(key);
    }),
  );
keys
  .command('list')
  .description('list API keys (prefixes only; keys themselves are not stored)')
  .action(() =>
    withDatabase(async (db) => {
      for (const k of await listApiKeys(db.pool)) {
        print(`${k.id}\t${k.accountName}\t${k.prefix}…\tcreated ${k.createdAt.toISOString()}${k.revokedAt ? `\trevoked ${k.revokedAt.toISOString()}` : ''}`);
      }
    }),
  );
keys
  .command('revoke')
  .description('revoke an API key by its id (see keys list)')
  .argument('<id>', 'key id', positiveInt)
  .action((id: number) =>
    withDatabase(async (db) => {
      if (!(await revokeApiKey(db.pool, id))) {
        process.exitCode = 1;
        process.stderr.write(`beacon: no active key with id ${id}\n`);
      } else print(`revoked key ${id}`);
    }),
  );

const metrics = program.command('metrics').description('check the tracking counters against the raw open and click events');
metrics
  .command('verify')
  .description('recompute every day\'s and every message\'s counters from the events; list differences, exit 1 if any')
  .action(() =>
    withDatabase(async (db) => {
      const mismatches = await verifyTrackingCounters(db.pool);
      for (const m of mismatches) {
        print(`${m.scope} ${m.key} (account ${m.accountId}): ${m.counter} is ${m.stored}, the events say ${m.recomputed}`);
      }
      if (mismatches.length > 0) {
        process.exitCode = 1;
        process.stderr.write(`beacon: ${mismatches.length} counter(s) differ from the events; \`beacon metrics rebuild\` repairs them\n`);
      } else print('metrics verify: every counter matches the events');
    }),
  );
metrics
  .command('rebuild')
  .description('set every tracking counter to what the events say (safe while Beacon runs)')
  .action(() =>
    withDatabase(async (db) => {
      const changed = await withTransaction(db, (tx) => rebuildTrackingCounters(tx));
      print(`metrics rebuild: ${changed.days} day row(s) and ${changed.logs} message(s) corrected`);
    }),
  );

interface SendOptions {
  to: string[];
  from: string;
  subject: string;
  html: string;
  text?: string;
  account: string;
  trackOpens: boolean;
  trackClicks: boolean;
}

async function readBody(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Queues one message per recipient through the API's own validation and operation; prints one id per line. */
async function send(options: SendOptions): Promise<void> {
  const html = await readBody(options.html, '--html');
  const text = options.text === undefined ? undefined : await readBody(options.text, '--text');
  // Every recipient is checked before anything is queued: a typo in the tenth address queues nothing.
  const bodies: CreateMessageBody[] = options.to.map((to) =>
    parse(createMessageBody, { from: options.from, to, subject: options.subject, html, text, trackOpens: options.trackOpens, trackClicks: options.trackClicks }, 'the message'),
  );
  await withDatabase(async (db) => {
    // The default account is the one a first start creates; any other must exist already (no typo makes one).
    const accountId = options.account === DEFAULT_ACCOUNT_NAME ? await ensureAccount(db.pool) : await findAccountIdByName(db.pool, options.account);
    if (accountId === undefined) throw new Error(`no account named "${options.account}" (beacon keys create --account makes one)`);
    const enqueue = createEnqueue(beaconTasks);
    const bar =
      bodies.length > 1
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: 'queueing [{bar}] {value}/{total}', noTTYOutput: true, notTTYSchedule: 1_000, hideCursor: true },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    bar?.start(bodies.length, 0);
    try {
      for (const body of bodies) {
        // The enqueue NOTIFYs on commit: a running Beacon's workers pick the message up at once.
        const id = await queueMessage(db, (q, payload) => enqueue(q, 'send_email', payload), accountId, body);
        print(String(id));
        bar?.increment();
      }
    } finally {
      bar?.stop();
    }
  });
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

program
  .command('send')
  .description('queue an email to each --to address (one message each, as POST /api/messages does); prints the message ids')
  .requiredOption('--to <address>', 'recipient; repeat for several', collect)
  .requiredOption('--from <address>', 'sender, e.g. "News <news@example.com>"')
  .requiredOption('--subject <text>', 'subject line')
  .requiredOption('--html <file>', 'file holding the HTML body')
  .option('--text <file>', 'file holding the plain-text body')
  .option('--account <name>', 'account to send as', accountName, 'default')
  .option('--no-track-opens', 'no open pixel')
  .option('--no-track-clicks', 'do not rewrite links')
  .action((options: SendOptions) => send(options));

const queue = program.command('queue').description('look at the task queue');
queue
  .command('stats')
  .description('task counts by status and type, and how long the oldest due task has waited')
  .option('--json', 'print one JSON object instead of a table')
  .action((options: { json?: boolean }) =>
    withDatabase(async (db) => {
      const counts = await taskCounts(db.pool);
      const oldest = await oldestPendingAgeSeconds(db.pool);
      if (options.json) {
        print(JSON.stringify({ counts, oldestPendingAgeSeconds: Math.round(oldest * 1000) / 1000 }));
        return;
      }
      const width = Math.max(4, ...counts.map((c) => c.type.length));
      print(`${'type'.padEnd(width)}  ${'status'.padEnd(9)}  count`);
      for (const c of counts) print(`${c.type.padEnd(width)}  ${c.status.padEnd(9)}  ${c.count}`);
      if (counts.length === 0) print('(the queue is empty)');
      print(`oldest due pending task: ${oldest < 1 ? 'none waiting' : `waiting ${oldest.toFixed(1)} s`}`);
    }),
  );

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`beacon: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
