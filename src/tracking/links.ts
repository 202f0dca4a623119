// What a stored message's links become when sent: the destinations that get tracked, and an inert preview.
import { rewriteHtml } from './rewrite.js';

/** The distinct destinations `rewriteHtml` tracks in `html`, in document order. */
export function trackedDestinations(html: string): string[] {
  const found = new Set<string>();
  rewriteHtml(html, {
    trackClicks: true,
    openPixelUrl: undefined,
    clickUrl: (destination) => {
      found.add(destination);
      return destination;
    },
  });
  return [...found];
}

/**
 * The HTML as a recipient would see it, but inert (mautic #5432: previews must record nothing): every link the
 * sender would track goes straight to its destination, and there is no open pixel.
 */
export function previewHtml(html: string, trackClicks: boolean): string {
  return rewriteHtml(html, { trackClicks, openPixelUrl: undefined, clickUrl: (destination) => destination }).html;
}
