// Queues one email: its usage log and its send_email task commit together, or neither does.
import type { Database } from '../../storage/db.js';
import { withTransaction, type Queryable } from '../../storage/transaction.js';
import { insertUsageLog } from '../../storage/usage-logs.js';
import type { CreateMessageBody } from '../api/schemas.js';

/** The server's view of the queue (declared here, bound by main/ to the worker's typed enqueue). */
export type EnqueueSend = (q: Queryable, payload: { logId: number }) => Promise<unknown>;

export async function queueMessage(db: Database, enqueueSend: EnqueueSend, accountId: number, message: CreateMessageBody): Promise<number> {
  return withTransaction(db, async (tx) => {
    const logId = await insertUsageLog(tx, {
      accountId,
      from: message.from,
      to: message.to,
      subject: message.subject,
      html: message.html,
      text: message.text,
      trackOpens: message.trackOpens,
      trackClicks: message.trackClicks,
      trackTextLinks: message.trackTextLinks,
    });
    await enqueueSend(tx, { logId });
    return logId;
  });
}
