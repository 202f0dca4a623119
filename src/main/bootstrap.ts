// First-run access: the default account, and either BOOTSTRAP_API_KEY or one generated key shown once.
import type { Database } from '../storage/db.js';
import { countApiKeys, createApiKey, ensureAccount, registerApiKey } from '../storage/accounts.js';
import { withTransaction } from '../storage/transaction.js';

export interface BootstrapResult {
  accountId: number;
  /** Set only when this start generated the first key: print it once, it is not stored. */
  newKey: string | undefined;
}

export async function bootstrapAccess(db: Database, bootstrapKey: string | undefined): Promise<BootstrapResult> {
  return withTransaction(db, async (tx) => {
    // Several processes may start at once; one decides, the others see its key.
    await tx.query(`select pg_advisory_xact_lock(hashtext('beacon:bootstrap'))`);
    const accountId = await ensureAccount(tx);
    // Only ever on an empty key table: an environment variable must not add a credential to a live system.
    if ((await countApiKeys(tx)) > 0) return { accountId, newKey: undefined };
    if (bootstrapKey !== undefined) {
      await registerApiKey(tx, accountId, bootstrapKey);
      return { accountId, newKey: undefined };
    }
    return { accountId, newKey: await createApiKey(tx, accountId) };
  });
}
