// Parses the environment once into a frozen, typed Config. The only module that reads process.env.
import path from 'node:path';
import { z } from 'zod';
import { settings, type SettingName } from './settings.js';

export { settings } from './settings.js';

type Parsed = { [K in SettingName]: z.output<(typeof settings)[K]['schema']> };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Base URL of tracking links, without a trailing slash. */
  readonly publicUrl: string;
  /** Absolute path. */
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly smtpUrl: string | undefined;
  /** Undefined in embedded mode until main/ generates or loads one. */
  readonly trackingSecrets: readonly string[] | undefined;
  readonly workerConcurrency: number;
  readonly role: 'all' | 'web' | 'worker';
  readonly bootstrapApiKey: string | undefined;
  readonly shutdownGraceMs: number;
  /** GET /metrics requires it as a bearer token when set. */
  readonly metricsToken: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A configuration problem, with one line per offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const schema = z.object(Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.schema])));

const MIN_SECRET_LENGTH = 16;

/** Reads the environment (process.env unless given) into a frozen Config, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const p = result.data as Parsed;

  const problems: string[] = [];
  const secrets = p.TRACKING_SECRETS?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (secrets !== undefined && secrets.length === 0) {
    problems.push('TRACKING_SECRETS: holds no secret (set one or more comma-separated secrets, or unset it)');
  } else if (secrets !== undefined && secrets.some((s) => s.length < MIN_SECRET_LENGTH)) {
    problems.push(`TRACKING_SECRETS: every secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (p.DATABASE_URL !== undefined && p.TRACKING_SECRETS === undefined) {
    problems.push('TRACKING_SECRETS: required when DATABASE_URL is set (every web process must sign with the same keys)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = (p.PUBLIC_URL ?? `http://localhost:${p.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: p.PORT,
    host: p.HOST,
    publicUrl,
    dataDir: path.resolve(p.DATA_DIR),
    databaseUrl: p.DATABASE_URL,
    smtpUrl: p.SMTP_URL,
    trackingSecrets: secrets && secrets.length > 0 ? Object.freeze(secrets) : undefined,
    workerConcurrency: p.WORKER_CONCURRENCY,
    role: p.ROLE,
    bootstrapApiKey: p.BOOTSTRAP_API_KEY,
    shutdownGraceMs: p.SHUTDOWN_GRACE_MS,
    metricsToken: p.METRICS_TOKEN,
    logLevel: p.LOG_LEVEL,
  });
}
