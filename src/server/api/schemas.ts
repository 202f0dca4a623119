// Request schemas of the JSON API, and turning a zod failure into a 400 that names the field.
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';

const MAX_HEADER_LENGTH = 998; // RFC 5322 line limit
const MAX_BODY_PART = 5 * 1024 * 1024;
const addrSpec = z.email({ pattern: z.regexes.unicodeEmail });

/** A string field: type errors say so, and a NUL (which Postgres text cannot hold) is a 400, not a 500. */
const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a string' : undefined) })
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !v.includes('\0'), 'must not contain NUL characters');

/** One header line: no line breaks (header injection). */
const headerText = (max: number) => text(max).refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks');

/**
 * Exactly one RFC 5322 mailbox, `user@example.com` or `Name <user@example.com>`. Parsed by nodemailer's own
 * address parser, so what is accepted here is what the transport will send to: a list or a group is refused,
 * since one usage log is one recipient.
 */
export const mailbox = headerText(MAX_HEADER_LENGTH)
  .superRefine((v, ctx) => {
    const parsed = addressparser(v);
    const only = parsed.length === 1 ? parsed[0] : undefined;
    if (only === undefined || 'group' in only) {
      ctx.addIssue({ code: 'custom', message: 'must be exactly one email address (no lists or groups)' });
    } else if (!addrSpec.safeParse(only.address).success) {
      ctx.addIssue({ code: 'custom', message: 'must be an email address like user@example.com or "Name <user@example.com>"' });
    }
  })
  .transform((v) => v.trim());

export const createMessageBody = z.strictObject({
  from: mailbox,
  to: mailbox,
  subject: headerText(MAX_HEADER_LENGTH).refine((v) => v.trim() !== '', 'must not be empty'),
  html: text(MAX_BODY_PART).refine((v) => v.trim() !== '', 'must not be empty'),
  text: text(MAX_BODY_PART).optional(),
  trackOpens: z.boolean({ error: 'must be true or false' }).default(true),
  trackClicks: z.boolean({ error: 'must be true or false' }).default(true),
  /** Off by default: plain text is read as text, where a long tracking URL replaces a readable one. */
  trackTextLinks: z.boolean({ error: 'must be true or false' }).default(false),
});
export type CreateMessageBody = z.output<typeof createMessageBody>;

export const idParam = z.strictObject({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
    .transform(Number)
    .refine(Number.isSafeInteger, 'is too large'),
});

// Years 1970–9999: what a calendar of sends can hold, and nothing Postgres's date arithmetic can trip on.
const isoDay = z
  .string()
  .regex(/^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$/, 'must be a date like 2026-01-31 (years 1970 to 9999)')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'is not a real date');

export const MAX_METRICS_DAYS = 366;

export const dailyMetricsQuery = z
  .strictObject({ from: isoDay.optional(), to: isoDay.optional() })
  .transform(({ from, to }) => {
    const end = to ?? new Date().toISOString().slice(0, 10);
    const start = from ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    return { from: start, to: end };
  })
  .refine(({ from, to }) => from <= to, { message: 'must not be after "to"', path: ['from'] })
  .refine(({ from, to }) => (Date.parse(to) - Date.parse(from)) / 86_400_000 < MAX_METRICS_DAYS, {
    message: `must be at most ${MAX_METRICS_DAYS - 1} days before "to" (${MAX_METRICS_DAYS} days per request at most)`,
    path: ['from'],
  });

/** Parses `input` or throws a VALIDATION AppError naming the first bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  const root = issue.path[0];
  const missing = typeof input === 'object' && input !== null && root !== undefined && !(String(root) in input);
  let message: string;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} in ${what}`;
  } else if (field === '') {
    message = issue.code === 'invalid_type' ? `${what} must be a JSON object` : `${what}: ${issue.message}`;
  } else {
    message = missing ? `"${field}" is required` : `"${field}" ${issue.message}`;
  }
  throw new AppError('VALIDATION', message, field ? { field } : {});
}
