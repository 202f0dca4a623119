// Request schemas of the JSON API, and turning a zod failure into a 400 that names the field.
import { z } from 'zod';
import { AppError } from '../../errors/index.js';

const MAX_HEADER_LENGTH = 998; // RFC 5322 line limit
const MAX_BODY_PART = 5 * 1024 * 1024;
const addrSpec = z.email();
// "Display Name <user@example.com>" or a bare address.
const NAMED = /^\s*(?:"([^"\r\n]*)"|([^<>"\r\n]*?))\s*<([^<>\s]+)>\s*$/;

/** An RFC 5322 mailbox: `user@example.com` or `Name <user@example.com>`; never a line break (header injection). */
export const mailbox = z
  .string({ error: 'must be a string' })
  .max(MAX_HEADER_LENGTH)
  .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks')
  .refine((v) => {
    const m = NAMED.exec(v);
    return addrSpec.safeParse(m ? m[3] : v.trim()).success;
  }, 'must be an email address like user@example.com or "Name <user@example.com>"')
  .transform((v) => v.trim());

export const createMessageBody = z.strictObject({
  from: mailbox,
  to: mailbox,
  subject: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(MAX_HEADER_LENGTH)
    .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks'),
  html: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_BODY_PART),
  text: z.string({ error: 'must be a string' }).max(MAX_BODY_PART).optional(),
  trackOpens: z.boolean({ error: 'must be true or false' }).default(true),
  trackClicks: z.boolean({ error: 'must be true or false' }).default(true),
});
export type CreateMessageBody = z.output<typeof createMessageBody>;

export const idParam = z.strictObject({
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer').transform(Number),
});

const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-01-31')
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
    message: `the range may span at most ${MAX_METRICS_DAYS} days`,
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
