// Dashboard sessions: an HMAC-signed cookie naming the API key signed in with; CSRF tokens bound to it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'beacon_session';
/** A working day; signing in again is cheap, a stolen cookie should not live for weeks. */
export const SESSION_TTL_SECONDS = 8 * 3_600;

export interface Session {
  keyId: number;
  /** Unix seconds. */
  expiresAt: number;
  /** Random per sign-in: the CSRF token is derived from it. */
  nonce: string;
}

export interface SessionCodec {
  issue(keyId: number, now?: number): { cookie: string; session: Session };
  /** The session in a cookie value, or undefined when it is forged, malformed or expired. Never throws. */
  read(cookie: string | undefined, now?: number): Session | undefined;
  csrfToken(session: Session): string;
  checkCsrf(session: Session, token: unknown): boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * `secret` is the dashboard's own key (main/ derives it from the first tracking secret, so rotating
 * TRACKING_SECRETS signs everyone out and no new secret has to be managed).
 */
export function createSessionCodec(secret: Buffer): SessionCodec {
  const mac = (purpose: string, value: string) => createHmac('sha256', secret).update(`${purpose}\0${value}`).digest();
  const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
  return {
    issue(keyId, now = nowSeconds()) {
      const session = { keyId, expiresAt: now + SESSION_TTL_SECONDS, nonce: randomBytes(16).toString('base64url') };
      const body = `${session.keyId}.${session.expiresAt}.${session.nonce}`;
      return { session, cookie: `${body}.${mac('session', body).toString('base64url')}` };
    },
    read(cookie, now = nowSeconds()) {
      const m = /^([1-9][0-9]{0,15})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
      if (m === null) return undefined;
      const body = `${m[1]}.${m[2]}.${m[3]}`;
      if (!same(Buffer.from(m[4]!, 'base64url'), mac('session', body))) return undefined;
      const session = { keyId: Number(m[1]), expiresAt: Number(m[2]), nonce: m[3]! };
      return session.expiresAt > now ? session : undefined;
    },
    csrfToken: (session) => mac('csrf', session.nonce).toString('base64url'),
    checkCsrf(session, token) {
      return typeof token === 'string' && token.length < 100 && same(Buffer.from(token, 'base64url'), mac('csrf', session.nonce));
    },
  };
}
