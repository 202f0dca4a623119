// System task: deletes finished tasks older than a week, in bounded batches, once an hour.
import { z } from 'zod';
import { pruneFinishedTasks } from '../../storage/tasks.js';
import { defineTask } from '../define-task.js';

export const PRUNE_KEEP_MS = 7 * 24 * 3_600_000;
export const PRUNE_BATCH_SIZE = 1_000;

export const pruneTasksTask = defineTask({
  type: 'prune_tasks',
  payload: z.object({}),
  maxAttempts: 3,
  recurring: { uniqueKey: 'system:prune_tasks', everyMs: 3_600_000 },
  async handler(_payload, ctx) {
    const olderThan = new Date(Date.now() - PRUNE_KEEP_MS);
    let total = 0;
    // Small batches keep each delete's locks short; a full batch means there may be more.
    for (;;) {
      if (ctx.signal.aborted) break;
      const deleted = await pruneFinishedTasks(ctx.db.pool, olderThan, PRUNE_BATCH_SIZE);
      total += deleted;
      if (deleted < PRUNE_BATCH_SIZE) break;
    }
    ctx.logger.info({ deleted: total }, `Pruned ${total} finished tasks`);
  },
});
