// Turns a stored message into what is sent: links rewritten to signed click redirects, the open pixel added.
import type { Signer } from '../tracking/signature.js';
import { rewriteHtml } from '../tracking/rewrite.js';
import { rewriteTextLinks } from '../tracking/text-links.js';
import { buildClickUrl, buildOpenUrl } from '../tracking/urls.js';
import type { OutgoingMessage } from './transport.js';

export interface Renderable {
  id: number;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string | null | undefined;
  trackOpens: boolean;
  trackClicks: boolean;
  /** Also rewrite the links of the plain-text part (needs trackClicks). */
  trackTextLinks?: boolean;
}

export interface Rendered {
  message: OutgoingMessage;
  trackedLinks: number;
  /** Why tracking was skipped for some or all of the message; it is sent regardless. */
  warnings: string[];
}

export interface RenderOptions {
  publicUrl: string;
  signer: Signer;
}

export function renderMessage(log: Renderable, options: RenderOptions): Rendered {
  const { publicUrl, signer } = options;
  const clickUrl = (destination: string) => buildClickUrl(publicUrl, signer, log.id, destination);
  const rewritten =
    log.trackClicks || log.trackOpens
      ? rewriteHtml(log.html, {
          trackClicks: log.trackClicks,
          openPixelUrl: log.trackOpens ? buildOpenUrl(publicUrl, signer, log.id) : undefined,
          clickUrl,
        })
      : { html: log.html, trackedLinks: 0, warnings: [] };
  const text = log.text && log.trackClicks && log.trackTextLinks ? rewriteTextLinks(log.text, clickUrl) : { text: log.text ?? undefined, trackedLinks: 0 };
  return {
    message: { logId: log.id, from: log.from, to: log.to, subject: log.subject, html: rewritten.html, text: text.text },
    trackedLinks: rewritten.trackedLinks + text.trackedLinks,
    warnings: rewritten.warnings,
  };
}
