// Bearer API key authentication: every /api call is scoped to the account that owns the key.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import type { Database } from '../storage/db.js';
import { findAccountByApiKey } from '../storage/accounts.js';

declare module 'fastify' {
  interface FastifyRequest {
    accountId: number;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** A preHandler that sets request.accountId, or answers 401. */
export function requireApiKey(db: Database) {
  return async (request: FastifyRequest): Promise<void> => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    const key = match?.[1];
    if (key === undefined || key.length > 200) {
      throw new AppError('UNAUTHORIZED', 'Missing API key', { userMessage: 'Send your API key as "Authorization: Bearer <key>"' });
    }
    const accountId = await findAccountByApiKey(db.pool, key);
    if (accountId === undefined) throw new AppError('UNAUTHORIZED', 'Unknown or revoked API key', { userMessage: 'Invalid API key' });
    request.accountId = accountId;
  };
}
