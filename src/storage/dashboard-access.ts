// Dashboard and CLI access: which key and account an API key is, whether a session's key is still live.
import { hashApiKey } from './accounts.js';
import type { Queryable } from './transaction.js';

export interface KeyAccess {
  keyId: number;
  accountId: number;
  accountName: string;
}

/** The live key and its account for a presented API key. */
export async function findKeyAccess(q: Queryable, key: string): Promise<KeyAccess | undefined> {
  const { rows } = await q.query<KeyAccess>(
    `select k.id as "keyId", k.account_id as "accountId", a.name as "accountName"
     from api_keys k join accounts a on a.id = k.account_id where k.key_hash = $1 and k.revoked_at is null`,
    [hashApiKey(key)],
  );
  return rows[0];
}

/** The account of a session's key while the key is not revoked (revoking a key ends its dashboard sessions). */
export async function liveKeyAccess(q: Queryable, keyId: number): Promise<KeyAccess | undefined> {
  const { rows } = await q.query<KeyAccess>(
    `select k.id as "keyId", k.account_id as "accountId", a.name as "accountName"
     from api_keys k join accounts a on a.id = k.account_id where k.id = $1 and k.revoked_at is null`,
    [keyId],
  );
  return rows[0];
}

export async function findAccountIdByName(q: Queryable, name: string): Promise<number | undefined> {
  const { rows } = await q.query<{ id: number }>('select id from accounts where name = $1', [name]);
  return rows[0]?.id;
}
