// Turns a stored message into what is sent: links rewritten to signed click redirects, the open pixel added.
import type { Signer } from '../tracking/signature.js';
import { rewriteHtml } from '../tracking/rewrite.js';
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
  const rewritten =
    log.trackClicks || log.trackOpens
      ? rewriteHtml(log.html, {
          trackClicks: log.trackClicks,
          openPixelUrl: log.trackOpens ? buildOpenUrl(publicUrl, signer, log.id) : undefined,
          clickUrl: (destination) => buildClickUrl(publicUrl, signer, log.id, destination),
        })
      : { html: log.html, trackedLinks: 0, warnings: [] };
  return {
    message: { logId: log.id, from: log.from, to: log.to, subject: log.subject, html: rewritten.html, text: log.text ?? undefined },
    trackedLinks: rewritten.trackedLinks,
    warnings: rewritten.warnings,
  };
}
