// send_email: render one usage log and hand it to the transport; the log's status records the side effect.
import { z } from 'zod';
import type { Rendered } from '../../mail/render.js';
import { isSendError, type MailTransport } from '../../mail/transport.js';
import type { UsageLogForSend } from '../../storage/usage-logs.js';
import {
  getUsageLogForSend,
  markUsageLogFailed,
  markUsageLogSending,
  markUsageLogSent,
  noteUsageLogError,
} from '../../storage/usage-logs.js';
import { defineTask, PermanentTaskError } from '../define-task.js';

export interface SendEmailDeps {
  transport: MailTransport;
  render: (log: UsageLogForSend) => Rendered;
}

/**
 * Like a mail relay, ride out an SMTP outage for hours rather than seconds: 30 s doubling to an hourly cap,
 * 16 attempts: between 4.5 and 9 hours in all (equal jitter) before the message is failed.
 */
export const SEND_EMAIL_MAX_ATTEMPTS = 16;
export const SEND_EMAIL_RETRY = { baseMs: 30_000, capMs: 3_600_000 } as const;

export const sendEmailTask = defineTask<'send_email', z.ZodObject<{ logId: z.ZodNumber }>, SendEmailDeps>({
  type: 'send_email',
  payload: z.object({ logId: z.number().int().positive() }),
  maxAttempts: SEND_EMAIL_MAX_ATTEMPTS,
  retry: SEND_EMAIL_RETRY,
  async handler({ logId }, ctx) {
    const log = await loadSendable(ctx.db.pool, logId, ctx.logger);
    if (log === undefined) return;
    const rendered = ctx.deps.render(log);
    for (const warning of rendered.warnings) ctx.logger.warn({ source: 'tracking', logId }, warning);

    let providerMessageId: string;
    try {
      ({ providerMessageId } = await ctx.deps.transport.send(rendered.message, ctx.signal));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const lastAttempt = ctx.task.attempt >= ctx.task.maxAttempts;
      if ((isSendError(err) && err.permanent) || lastAttempt) {
        await markUsageLogFailed(ctx.db.pool, logId, message);
        throw new PermanentTaskError(message, { cause: err });
      }
      await noteUsageLogError(ctx.db.pool, logId, message);
      throw err;
    }
    await markUsageLogSent(ctx.db.pool, logId, providerMessageId);
    ctx.logger.info({ logId, providerMessageId, trackedLinks: rendered.trackedLinks }, 'email sent');
  },
});

/** The log if it still needs sending. A retry of an already-sent log (a lost lease, a crash after SMTP) stops here. */
async function loadSendable(q: Parameters<typeof getUsageLogForSend>[0], logId: number, logger: { info: (o: object, m: string) => void }) {
  const log = await getUsageLogForSend(q, logId);
  if (log === undefined) throw new PermanentTaskError(`usage log ${logId} does not exist`);
  if (!(await markUsageLogSending(q, logId))) {
    logger.info({ logId, status: log.status }, 'usage log already final; not sending again');
    return undefined;
  }
  return log;
}
