// Validates the query of the open and click endpoints, so bad input of any shape becomes a 4xx and never a 5xx.
import type { Signer } from './signature.js';
import { isNormalizedUrl, isTrackableUrl } from './urls.js';

/** What the click endpoint answers: 302 to `url`, 400, or 403 (plus a `security` warning naming `logId`). */
export type ClickCheck =
  | { kind: 'ok'; logId: number; url: string }
  | { kind: 'bad-request'; message: string }
  | { kind: 'forbidden'; logId: string; message: string };

/** Whether the open endpoint records the open; it answers the GIF either way. */
export type OpenCheck = { kind: 'ok'; logId: number } | { kind: 'invalid'; reason: string };

type Param = { ok: true; value: string } | { ok: false; problem: 'missing' | 'repeated' | 'not a string' };

/** One query parameter; Fastify gives a string, an array for a repeated parameter, or nothing. */
function param(query: unknown, name: string): Param {
  if (typeof query !== 'object' || query === null || !Object.hasOwn(query, name)) return { ok: false, problem: 'missing' };
  const value: unknown = (query as Record<string, unknown>)[name];
  if (value === undefined) return { ok: false, problem: 'missing' };
  if (Array.isArray(value)) return { ok: false, problem: 'repeated' };
  if (typeof value !== 'string') return { ok: false, problem: 'not a string' };
  return { ok: true, value };
}

// Canonical decimal only: `+1`, `01`, `1e3`, ` 1` and `1.0` would all be different strings for one log.
const CANONICAL_ID = /^[1-9][0-9]{0,15}$/;

function parseLogId(raw: string): number | undefined {
  if (!CANONICAL_ID.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Checks a click request in the order the answers must take precedence: malformed `url`/`logId` (400,
 * including a `url` not in {@link isNormalizedUrl} form), then the signature (403), then the destination's
 * scheme (400: only a stolen key could sign a `javascript:` URL, and it must not become an open redirect to it).
 */
export function checkClickRequest(query: unknown, signer: Signer): ClickCheck {
  const url = param(query, 'url');
  if (!url.ok) return { kind: 'bad-request', message: `url parameter ${url.problem}` };
  // Malformed (`%E0%A4%A`, raw spaces, non-ASCII): the rewriter never signs one, and it is no valid Location.
  if (!isNormalizedUrl(url.value)) return { kind: 'bad-request', message: 'url parameter is not a well-formed URL' };
  const rawLogId = param(query, 'logId');
  if (!rawLogId.ok) return { kind: 'bad-request', message: `logId parameter ${rawLogId.problem}` };
  const logId = parseLogId(rawLogId.value);
  if (logId === undefined) return { kind: 'bad-request', message: 'logId must be a positive integer' };

  const sig = param(query, 'sig');
  if (!sig.ok) return { kind: 'forbidden', logId: rawLogId.value, message: `sig parameter ${sig.problem}` };
  if (!signer.verify('click', logId, url.value, sig.value)) {
    return { kind: 'forbidden', logId: rawLogId.value, message: 'invalid click signature' };
  }

  if (!isTrackableUrl(url.value)) return { kind: 'bad-request', message: 'destination is not an http(s) URL' };
  return { kind: 'ok', logId, url: url.value };
}

/** Checks an open-pixel request: `ok` only with a canonical `logId` and a valid `open` signature. */
export function checkOpenRequest(query: unknown, signer: Signer): OpenCheck {
  const rawLogId = param(query, 'logId');
  if (!rawLogId.ok) return { kind: 'invalid', reason: `logId parameter ${rawLogId.problem}` };
  const logId = parseLogId(rawLogId.value);
  if (logId === undefined) return { kind: 'invalid', reason: 'logId must be a positive integer' };
  const sig = param(query, 'sig');
  if (!sig.ok) return { kind: 'invalid', reason: `sig parameter ${sig.problem}` };
  if (!signer.verify('open', logId, undefined, sig.value)) return { kind: 'invalid', reason: 'invalid open signature' };
  return { kind: 'ok', logId };
}
