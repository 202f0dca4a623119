// Accounts and API keys. Only a SHA-256 hash of a key is stored; the key itself is shown once.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './transaction.js';

export const DEFAULT_ACCOUNT_NAME = 'default';
const KEY_PREFIX = 'bk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key: `bk_` and 43 base64url characters (256 bits). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export interface ApiKeySummary {
  id: number;
  accountId: number;
  accountName: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** The account named `name`, created if missing; the unique name makes parallel starts agree on one row. */
export async function ensureAccount(q: Queryable, name: string = DEFAULT_ACCOUNT_NAME): Promise<number> {
  await q.query('insert into accounts (name) values ($1) on conflict (name) do nothing', [name]);
  const { rows } = await q.query<{ id: number }>('select id from accounts where name = $1', [name]);
  return rows[0]!.id;
}

export async function createAccount(q: Queryable, name: string): Promise<number> {
  const { rows } = await q.query<{ id: number }>('insert into accounts (name) values ($1) returning id', [name]);
  return rows[0]!.id;
}

/** Stores `key` for the account unless a key with the same hash exists (revoked keys stay revoked). Returns true if stored. */
export async function registerApiKey(q: Queryable, accountId: number, key: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `insert into api_keys (account_id, key_hash, prefix) values ($1, $2, $3) on conflict (key_hash) do nothing`,
    [accountId, hashApiKey(key), key.slice(0, 10)],
  );
  return rowCount === 1;
}

export async function createApiKey(q: Queryable, accountId: number): Promise<string> {
  const key = generateApiKey();
  await registerApiKey(q, accountId, key);
  return key;
}

/** The account a live (not revoked) key belongs to. */
export async function findAccountByApiKey(q: Queryable, key: string): Promise<number | undefined> {
  const { rows } = await q.query<{ account_id: number }>(
    'select account_id from api_keys where key_hash = $1 and revoked_at is null',
    [hashApiKey(key)],
  );
  return rows[0]?.account_id;
}

export async function countApiKeys(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>('select count(*)::int as n from api_keys');
  return rows[0]!.n;
}

export async function listApiKeys(q: Queryable): Promise<ApiKeySummary[]> {
  const { rows } = await q.query<ApiKeySummary>(
    `select k.id, k.account_id as "accountId", a.name as "accountName", k.prefix, k.created_at as "createdAt",
       k.revoked_at as "revokedAt"
     from api_keys k join accounts a on a.id = k.account_id order by k.id`,
  );
  return rows;
}

export async function revokeApiKey(q: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await q.query('update api_keys set revoked_at = now() where id = $1 and revoked_at is null', [id]);
  return rowCount === 1;
}
