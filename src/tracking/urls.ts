// Builds the signed open-pixel and click-redirect URLs that go into emails, and says which destinations may be tracked.
import type { Signer } from './signature.js';

function base(publicUrl: string): string {
  return publicUrl.replace(/\/+$/, '');
}

/** `${publicUrl}/api/track/open?logId=…&sig=…`, the src of the open pixel. */
export function buildOpenUrl(publicUrl: string, signer: Signer, logId: number): string {
  return `${base(publicUrl)}/api/track/open?logId=${logId}&sig=${signer.sign('open', logId)}`;
}

/**
 * `${publicUrl}/api/track/click?url=…&logId=…&sig=…`. `url` is signed and percent-encoded as-is, so
 * `new URL(result).searchParams.get('url') === url` for any well-formed string; pass a destination already
 * normalised by {@link normalizeDestination} so the redirect's Location is a valid header value.
 */
export function buildClickUrl(publicUrl: string, signer: Signer, logId: number, url: string): string {
  const sig = signer.sign('click', logId, url);
  return `${base(publicUrl)}/api/track/click?url=${encodeURIComponent(url)}&logId=${logId}&sig=${sig}`;
}

const WEB_SCHEME = /^https?:\/\//i;

/**
 * True when `url` is what {@link normalizeDestination} makes of it: printable ASCII, every `%` an escape,
 * nothing left to encode. Every destination Beacon signs is; anything else cannot have come from Beacon,
 * and could not be sent as a Location header as it is.
 */
export function isNormalizedUrl(url: string): boolean {
  return typeof url === 'string' && normalizeDestination(url) === url;
}

/**
 * True only for absolute `http:`/`https:` URLs in normalised form (see {@link isNormalizedUrl}): the only
 * destinations Beacon signs or redirects to. `javascript:`, `data:`, relative and protocol-relative URLs are false.
 */
export function isTrackableUrl(url: string): boolean {
  if (!isNormalizedUrl(url) || !WEB_SCHEME.test(url)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host !== '';
  } catch {
    return false;
  }
}

// RFC 3986 unreserved + reserved characters, and `%` when it starts a valid escape: all else must be encoded.
const NEEDS_ENCODING = /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu;
const EDGE_WHITESPACE = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;
// Browsers drop tabs and newlines anywhere in a URL (WHATWG URL); editors that wrap long hrefs rely on it.
const TAB_OR_NEWLINE = /[\t\n\r]/g;

function percentEncode(char: string): string {
  // A lone surrogate becomes U+FFFD's bytes, as TextEncoder would; encodeURIComponent would throw instead.
  return [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/**
 * The destination Beacon signs and redirects to for an href (already entity-decoded): trimmed, tabs and
 * newlines dropped as a browser would, and only characters that cannot appear in a URL percent-encoded
 * (space → `%20`, `grün` → `gr%C3%BCn`, a `%` that starts no escape → `%25`). Existing escapes, `[`, `]`,
 * `:`, `(`, `)` and the like are kept, and nothing is canonicalised (no `new URL().href`).
 */
export function normalizeDestination(href: string): string {
  return href.replace(EDGE_WHITESPACE, '').replace(TAB_OR_NEWLINE, '').replace(NEEDS_ENCODING, percentEncode);
}
