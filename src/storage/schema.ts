// Drizzle schema: the single source of the database shape; drizzle-kit generates drizzle/ from it.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const id = (name: string) => bigint(name, { mode: 'number' });

export const accounts = pgTable(
  'accounts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('accounts_name_idx').on(t.name)],
);

/** Only a SHA-256 hash of each key is stored; `prefix` lets a person tell keys apart. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: id('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_key_hash_idx').on(t.keyHash)],
);

export const usageLogStatuses = ['queued', 'sending', 'sent', 'failed'] as const;
export type UsageLogStatus = (typeof usageLogStatuses)[number];

/** One row per email an account sent (the audit's name); `logId` in tracking URLs is its id. */
export const usageLogs = pgTable(
  'usage_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: id('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    status: text('status').$type<UsageLogStatus>().notNull().default('queued'),
    fromAddress: text('from_address').notNull(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    html: text('html').notNull(),
    textBody: text('text_body'),
    trackOpens: boolean('track_opens').notNull().default(true),
    trackClicks: boolean('track_clicks').notNull().default(true),
    /** Plain-text links are rewritten only when the message asks: text is often read where a long URL hurts. */
    trackTextLinks: boolean('track_text_links').notNull().default(false),
    providerMessageId: text('provider_message_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
    openedAt: ts('opened_at'),
    openCount: integer('open_count').notNull().default(0),
    clickedAt: ts('clicked_at'),
    clickCount: integer('click_count').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    index('usage_logs_account_created_idx').on(t.accountId, t.createdAt.desc()),
    check('usage_logs_status_check', sql`${t.status} in ('queued', 'sending', 'sent', 'failed')`),
  ],
);

/** Append-only: one row per pixel hit. The raw truth every open counter can be recomputed from. */
export const openEvents = pgTable(
  'open_events',
  {
    id: uuid('id').primaryKey(),
    logId: id('log_id').notNull(),
    accountId: id('account_id').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    userAgent: text('user_agent'),
    machine: boolean('machine').notNull(),
  },
  (t) => [index('open_events_log_idx').on(t.logId), index('open_events_account_time_idx').on(t.accountId, t.occurredAt)],
);

/** Append-only: one row per tracked-link hit, with the URL that was followed. */
export const clickEvents = pgTable(
  'click_events',
  {
    id: uuid('id').primaryKey(),
    logId: id('log_id').notNull(),
    accountId: id('account_id').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    userAgent: text('user_agent'),
    machine: boolean('machine').notNull(),
    url: text('url').notNull(),
  },
  (t) => [
    // By time within a log: the scanner-sweep checks look for other clicks of the log within seconds.
    index('click_events_log_time_idx').on(t.logId, t.occurredAt),
    index('click_events_account_time_idx').on(t.accountId, t.occurredAt),
  ],
);

/** Per account and UTC day. `opens`/`clicks` count people; machine traffic is counted apart. */
export const dailyMetrics = pgTable(
  'daily_metrics',
  {
    accountId: id('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    sent: integer('sent').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    opens: integer('opens').notNull().default(0),
    uniqueOpens: integer('unique_opens').notNull().default(0),
    clicks: integer('clicks').notNull().default(0),
    uniqueClicks: integer('unique_clicks').notNull().default(0),
    machineOpens: integer('machine_opens').notNull().default(0),
    machineClicks: integer('machine_clicks').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day] })],
);

export const taskStatuses = ['pending', 'running', 'succeeded', 'failed', 'dead'] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/** The durable task queue. `lockedBy` is the owning worker process while `running`. */
export const tasks = pgTable(
  'tasks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull().default({}),
    status: text('status').$type<TaskStatus>().notNull().default('pending'),
    priority: integer('priority').notNull().default(0),
    runAt: ts('run_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    lockedBy: uuid('locked_by'),
    lockedAt: ts('locked_at'),
    lastError: text('last_error'),
    uniqueKey: text('unique_key'),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // Keeps the claim an index scan however many finished rows pile up.
    index('tasks_claim_idx').on(t.priority.desc(), t.runAt, t.id).where(sql`status = 'pending'`),
    index('tasks_locked_by_idx').on(t.lockedBy).where(sql`status = 'running'`),
    index('tasks_finished_idx').on(t.finishedAt).where(sql`status in ('succeeded', 'dead')`),
    uniqueIndex('tasks_unique_key_idx').on(t.uniqueKey),
    check('tasks_status_check', sql`${t.status} in ('pending', 'running', 'succeeded', 'failed', 'dead')`),
    check('tasks_attempts_check', sql`${t.attempts} >= 0 and ${t.maxAttempts} >= 1`),
  ],
);

/** One row per live worker process; a stale heartbeat means its running tasks are up for recovery. */
export const workers = pgTable('workers', {
  id: uuid('id').primaryKey(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  concurrency: integer('concurrency').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});

export type Account = typeof accounts.$inferSelect;
export type UsageLog = typeof usageLogs.$inferSelect;
export type Task = typeof tasks.$inferSelect;
export type DailyMetrics = typeof dailyMetrics.$inferSelect;
