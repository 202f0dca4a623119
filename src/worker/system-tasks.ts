// Creates each recurring system task's single row, idempotently, from every process that starts.
import type { Database } from '../storage/db.js';
import { ensureRecurringTask } from '../storage/tasks.js';
import type { TaskRegistry } from './registry.js';

/** The start of the next `everyMs` slot strictly after `after` (slots are aligned to the Unix epoch). */
export function nextSlot(after: Date, everyMs: number): Date {
  return new Date((Math.floor(after.getTime() / everyMs) + 1) * everyMs);
}

/**
 * Inserts every recurring task of the registry that has no row yet (first run: due now). The unique key
 * makes it exactly one row however many processes call this at the same instant. Returns the types created.
 */
export async function ensureSystemTasks(db: Database, registry: TaskRegistry): Promise<string[]> {
  const created: string[] = [];
  for (const def of registry.tasks) {
    if (def.recurring === undefined) continue;
    const inserted = await ensureRecurringTask(db.pool, {
      type: def.type,
      uniqueKey: def.recurring.uniqueKey,
      runAt: new Date(),
      ...(def.maxAttempts === undefined ? {} : { maxAttempts: def.maxAttempts }),
    });
    if (inserted) created.push(def.type);
  }
  return created;
}
