// A 110 KB newsletter built from the real fixtures: every web link tracked, every other byte as it was.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { largeNewsletter } from '../bench/newsletter.js';
import { checkClickRequest } from '../src/tracking/request.js';
import { pixelTag, rewriteHtml } from '../src/tracking/rewrite.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildClickUrl, buildOpenUrl } from '../src/tracking/urls.js';
import { hrefsOf } from './helpers/html-links.js';

const html = largeNewsletter(path.resolve(import.meta.dirname, '../../shared/fixtures/emails'));
const signer = createSigner(['large-render-secret-0123456789']);
const PUBLIC = 'https://beacon.example';
const PIXEL = buildOpenUrl(PUBLIC, signer, 5);
const TRACKING_HREF = /href="(https:\/\/beacon\.example\/api\/track\/click\?[^"]*)"/g;

describe('a 110 KB newsletter', () => {
  const result = rewriteHtml(html, { trackClicks: true, openPixelUrl: PIXEL, clickUrl: (d) => buildClickUrl(PUBLIC, signer, 5, d) });
  const web = hrefsOf(html).filter((h) => /^https?:\/\//i.test(h));

  it('is over 110 KB and every web link in it is tracked, redirecting to its original', () => {
    expect(Buffer.byteLength(html)).toBeGreaterThan(110 * 1024);
    expect(result.warnings).toEqual([]);
    expect(result.trackedLinks).toBe(web.length);
    const destinations = [...result.html.matchAll(TRACKING_HREF)].map((m) => {
      const check = checkClickRequest(Object.fromEntries(new URL(m[1]!.replaceAll('&amp;', '&')).searchParams), signer);
      return check.kind === 'ok' ? check.url : check.kind;
    });
    expect(destinations).toEqual(web);
  });

  it('changes no other byte: put each original href back, drop the pixel, and the input returns', () => {
    const queue = [...web];
    const restored = result.html
      .replace(TRACKING_HREF, () => `href="${(queue.shift() ?? 'MISSING').replaceAll('&', '&amp;')}"`)
      .replace(pixelTag(PIXEL), '');
    expect(queue).toEqual([]);
    expect(restored).toBe(html);
  });
});
