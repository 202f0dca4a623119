// Decides, for one href, whether Beacon tracks it and to which exact destination.
import { isTrackableUrl, normalizeDestination } from './urls.js';

/** Why an href is left alone, or the destination to track. */
export type HrefDecision = { track: true; destination: string } | { track: false; reason: string };

/**
 * Merge tags of the template engines our users send through (Mailchimp `*|UNSUB|*`, Handlebars/Liquid
 * `{{…}}` `{%…%}`, ExactTarget `%%…%%`, Mailgun `%recipient.x%` but not an escape like `%C3%A9`):
 * substituted after us, so never touched.
 */
const PLACEHOLDER = /\*\||\|\*|\{\{|\}\}|\{%|%\}|%%|%(?![0-9A-Fa-f]{2})[A-Za-z_][\w.-]*%/;

/** A link Beacon generated already: wrapping it again would sign a redirect to a redirect. */
function isOwnClickLink(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.pathname.endsWith('/api/track/click') && parsed.searchParams.has('sig');
  } catch {
    return false;
  }
}

/** `href` is the attribute value as the tokenizer gives it: entities decoded exactly once. */
export function decideHref(href: string): HrefDecision {
  if (PLACEHOLDER.test(href)) return { track: false, reason: 'template placeholder' };
  const destination = normalizeDestination(href);
  if (!isTrackableUrl(destination)) return { track: false, reason: 'not an absolute http(s) URL' };
  if (isOwnClickLink(destination)) return { track: false, reason: 'already a tracking link' };
  return { track: true, destination };
}
