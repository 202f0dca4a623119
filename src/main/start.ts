// Wires Beacon together from a Config: database, migrations, first-run access, transport, worker loops, HTTP.
import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { createOutboxTransport, listOutbox, readOutboxMessage } from '../mail/outbox.js';
import { renderMessage } from '../mail/render.js';
import { createSmtpTransport } from '../mail/smtp.js';
import type { MailTransport } from '../mail/transport.js';
import { buildApp } from '../server/app.js';
import { createObservations } from '../server/metrics.js';
import { runMigrations } from '../storage/migrate.js';
import { createTrackingRecorder } from '../tracking/recorder.js';
import { createSigner } from '../tracking/signature.js';
import { createEnqueue } from '../worker/enqueue.js';
import { beaconTasks } from '../worker/tasks/index.js';
import { createWorker } from '../worker/worker.js';
import { bootstrapAccess } from './bootstrap.js';
import { openDatabase } from './database.js';
import { resolveTrackingSecrets } from './secrets.js';

export interface RunningBeacon {
  /** Where the HTTP server listens (ROLE=web or all). */
  url: string | undefined;
  /** Drains and stops everything in order; safe to call more than once. */
  stop(): Promise<void>;
}

/** How long shutdown waits for buffered opens and clicks to reach the database. */
const TRACKING_FLUSH_MS = 5_000;

/**
 * The dashboard's session-cookie key: derived from the signing tracking secret under its own label, so it is
 * never the key of a tracking signature, needs no secret of its own, and rotating TRACKING_SECRETS signs everyone out.
 */
function dashboardSessionKey(trackingSecret: string): Buffer {
  return createHmac('sha256', trackingSecret).update('beacon-dashboard-session-v1').digest();
}

/**
 * Starts Beacon. `onFatal` is called when it cannot go on (its embedded database died): the caller stops it
 * and exits non-zero, so a supervisor (or the person at the terminal) sees it and restarts it.
 */
export async function startBeacon(
  config: Config,
  logger: Logger,
  print: (line: string) => void,
  onFatal: (message: string) => void = () => undefined,
): Promise<RunningBeacon> {
  const opened = await openDatabase(config, logger, { joinRunning: false, poolSize: 20, onDatabaseLost: onFatal });
  const { db } = opened;
  const stops: Array<() => Promise<void>> = [() => opened.close()];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
    }
  };
  try {
    await runMigrations(db);
    const access = await bootstrapAccess(db, config.bootstrapApiKey);
    // Printed at once: if a later step fails (a busy port), the key must not be lost with it.
    if (access.newKey !== undefined) {
      print('');
      print(`  API key (shown once, store it now): ${access.newKey}`);
    }
    const trackingSecrets = resolveTrackingSecrets(config);
    const signer = createSigner(trackingSecrets);
    const enqueue = createEnqueue(beaconTasks);

    // The worker's claims and the recorder's batches, served on /metrics by this process's app.
    const observations = createObservations();
    let transport: MailTransport | undefined;
    let wakeWorkers: (() => void) | undefined;
    if (config.role !== 'web') {
      const outboxDir = path.join(config.dataDir, 'outbox');
      const mail = config.smtpUrl !== undefined ? createSmtpTransport(config.smtpUrl, logger) : createOutboxTransport(outboxDir);
      transport = mail;
      stops.push(() => mail.close());
      const worker = createWorker({
        db,
        logger,
        onClaim: observations.observeClaim,
        concurrency: config.workerConcurrency,
        tasks: beaconTasks,
        deps: { transport: mail, render: (log) => renderMessage(log, { publicUrl: config.publicUrl, signer }) },
      });
      await worker.start();
      wakeWorkers = () => worker.wake();
      stops.push(() => worker.stop(config.shutdownGraceMs));
    }

    let url: string | undefined;
    if (config.role !== 'worker') {
      const outboxDir = path.join(config.dataDir, 'outbox');
      const recorder = createTrackingRecorder({ db, logger, onBatch: observations.observeTrackingBatch });
      stops.push(() => recorder.close(TRACKING_FLUSH_MS));
      const app = await buildApp({
        db,
        logger,
        observations,
        signer,
        recorder,
        enqueueSend: (q, payload) => enqueue(q, 'send_email', payload),
        ...(wakeWorkers ? { wakeWorkers } : {}),
        metricsToken: config.metricsToken,
        dashboard: {
          sessionSecret: dashboardSessionKey(trackingSecrets[0]!),
          secure: config.publicUrl.toLowerCase().startsWith('https:'),
          // First-run mode: the outbox this machine's workers write (ROLE=web on the same DATA_DIR reads it too).
          ...(config.smtpUrl === undefined
            ? { outbox: { list: () => listOutbox(outboxDir), read: (logId: number) => readOutboxMessage(outboxDir, logId) } }
            : {}),
        },
      });
      // Closed first on shutdown: no new requests, then the recorder flushes what the last ones buffered.
      stops.push(() => app.close());
      url = await app.listen({ port: config.port, host: config.host });
    }

    print('');
    print(`Beacon is running (role: ${config.role}).`);
    if (url !== undefined) print(`  HTTP:      ${url}   (tracking links use ${config.publicUrl})`);
    if (url !== undefined) print(`  Dashboard: ${url}/   (sign in with an API key)`);
    print(`  Database:  ${opened.where}`);
    if (transport !== undefined) print(`  Mail goes: ${transport.kind === 'outbox' ? `to the local outbox, ${transport.describe()}` : transport.describe()}`);
    print(`  Data:      ${config.dataDir}`);
    if (access.newKey !== undefined) {
      print(`  API key:   printed above, once`);
      print(`  Try: curl -H "Authorization: Bearer ${access.newKey}" ${url ?? config.publicUrl}/api/metrics/daily`);
    }
    print('');
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
