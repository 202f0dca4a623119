// HMAC signatures for tracking links, so nobody can forge opens or clicks or turn /api/track/click into an open redirect.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Purpose = 'open' | 'click';

/** Signs and verifies tracking links. Build one per process with {@link createSigner}. */
export interface Signer {
  /** A 32-char lowercase hex signature. `url` is required for `click` and must be absent for `open`. */
  sign(purpose: Purpose, logId: number, url?: string): string;
  /** True when `sig` was produced by `sign` with any of the configured secrets. Never throws. */
  verify(purpose: Purpose, logId: number, url: string | undefined, sig: string): boolean;
}

/**
 * The HMAC-SHA256 is truncated to 128 bits: forging still takes ~2^128 guesses, and the links stay short.
 * Encoded as exactly 32 lowercase hex characters; `verify` rejects uppercase, so each message has one valid spelling.
 */
const SIG_BYTES = 16;
const SIG_PATTERN = /^[0-9a-f]{32}$/;

// Bumped if the encoding ever changes, so signatures of one scheme can never verify under another.
const DOMAIN = 'beacon-tracking-v1';

/**
 * Every field is length-prefixed (4-byte big-endian byte length), and the URL has a presence byte, so no
 * field boundary can shift: ("click", 12, "3…") never encodes like ("click", 123, "…"), and an open
 * (no URL) never encodes like a click on "".
 */
function encodeMessage(purpose: Purpose, logId: number, url: string | undefined): Buffer {
  const parts: Buffer[] = [];
  const field = (value: string): void => {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  field(DOMAIN);
  field(purpose);
  field(String(logId));
  parts.push(Buffer.from([url === undefined ? 0 : 1]));
  if (url !== undefined) field(url);
  return Buffer.concat(parts);
}

function isWellFormed(purpose: unknown, logId: unknown, url: unknown): boolean {
  if (purpose !== 'open' && purpose !== 'click') return false;
  if (typeof logId !== 'number' || !Number.isSafeInteger(logId) || logId <= 0) return false;
  return purpose === 'click' ? typeof url === 'string' : url === undefined;
}

/**
 * Builds a signer from `TRACKING_SECRETS`: the first secret signs, every secret verifies, so a key can be
 * rotated (`new,old`) without breaking links already in inboxes. Throws if the list or a secret is empty.
 */
export function createSigner(secrets: readonly string[]): Signer {
  if (secrets.length === 0) throw new Error('createSigner: at least one tracking secret is required');
  if (secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new Error('createSigner: tracking secrets must be non-empty strings');
  }
  const keys = [...secrets];
  const mac = (key: string, message: Buffer): Buffer =>
    createHmac('sha256', key).update(message).digest().subarray(0, SIG_BYTES);

  return {
    sign(purpose, logId, url) {
      if (!isWellFormed(purpose, logId, url)) {
        throw new TypeError(`sign: invalid ${purpose} input (logId must be a positive safe integer; url only for clicks)`);
      }
      return mac(keys[0] as string, encodeMessage(purpose, logId, url)).toString('hex');
    },
    verify(purpose, logId, url, sig) {
      try {
        if (typeof sig !== 'string' || !SIG_PATTERN.test(sig)) return false;
        if (!isWellFormed(purpose, logId, url)) return false;
        const given = Buffer.from(sig, 'hex');
        if (given.length !== SIG_BYTES) return false;
        const message = encodeMessage(purpose, logId, url);
        // Check every key, not just until the first match, so timing does not tell which key signed.
        let ok = false;
        for (const key of keys) {
          if (timingSafeEqual(mac(key, message), given)) ok = true;
        }
        return ok;
      } catch {
        return false;
      }
    },
  };
}
