// Every setting Beacon reads from the environment, declared once: type, default and a one-line reason.
// docs/configuration.md is generated from this table (npm run docs:config).
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Optional string: unset and empty both mean "not set". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export interface Setting {
  schema: z.ZodTypeAny;
  /** What the default is, in words, for the docs. */
  default: string;
  meaning: string;
}

export const settings = {
  PORT: { schema: port.default(3000), default: '3000', meaning: 'TCP port the HTTP server listens on.' },
  HOST: { schema: z.string().min(1).default('127.0.0.1'), default: '127.0.0.1', meaning: 'Address the HTTP server binds; loopback by default so a first run is not exposed.' },
  PUBLIC_URL: {
    schema: optionalString.pipe(
      z
        .string()
        .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i, 'must be an http:// or https:// URL without query or fragment')
        .optional(),
    ),
    default: 'http://localhost:$PORT',
    meaning: 'Base of every tracking URL put into emails; must be reachable by recipients in production.',
  },
  DATA_DIR: { schema: z.string().min(1).default('./data'), default: './data', meaning: 'Embedded Postgres data, the local outbox and generated secrets.' },
  DATABASE_URL: {
    schema: optionalString.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
    default: 'unset: embedded Postgres in DATA_DIR/pg',
    meaning: 'External PostgreSQL (14 or later) for production and scale-out.',
  },
  SMTP_URL: {
    schema: optionalString.pipe(z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional()),
    default: 'unset: local outbox in DATA_DIR/outbox',
    meaning: 'Where mail is delivered, e.g. smtp://user:pass@host:587 (pooled connections).',
  },
  TRACKING_SECRETS: {
    schema: optionalString,
    default: 'generated once into DATA_DIR (embedded mode); required with DATABASE_URL',
    meaning: 'Comma-separated HMAC keys: the first signs new links, all verify (rotation).',
  },
  WORKER_CONCURRENCY: { schema: positiveInt.max(256).default(5), default: '5', meaning: 'Worker loops per process (the audit\'s CONCURRENCY_LIMIT).' },
  ROLE: { schema: z.enum(['all', 'web', 'worker']).default('all'), default: 'all', meaning: 'web (HTTP only), worker (loops only) or all, so each can scale out separately.' },
  BOOTSTRAP_API_KEY: {
    schema: optionalString.pipe(
      z
        .string()
        .min(16, 'must be at least 16 characters')
        .max(200, 'must be at most 200 characters')
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as "Authorization: Bearer <key>")')
        .optional(),
    ),
    default: 'unset: a key is generated on first start and printed once',
    meaning: 'If set and no key exists yet, registered for the default account (scripts and tests).',
  },
  METRICS_TOKEN: {
    schema: optionalString.pipe(
      z
        .string()
        .min(16, 'must be at least 16 characters')
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as "Authorization: Bearer <token>")')
        .optional(),
    ),
    default: 'unset: GET /metrics is open (HOST is loopback by default)',
    meaning: 'Bearer token Prometheus must send to scrape GET /metrics; set it whenever the port is reachable by others.',
  },
  SHUTDOWN_GRACE_MS: { schema: z.coerce.number().int().min(0).default(10_000), default: '10000', meaning: 'How long SIGTERM waits for in-flight tasks before releasing them.' },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    default: 'info',
    meaning: 'pino log level.',
  },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;
