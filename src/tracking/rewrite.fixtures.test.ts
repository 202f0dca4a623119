// The real newsletters under shared/fixtures: links tracked, every other byte unchanged.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkClickRequest } from './request.js';
import { pixelTag, rewriteHtml } from './rewrite.js';
import { createSigner } from './signature.js';
import { buildClickUrl, buildOpenUrl } from './urls.js';

// Real newsletters (read-only, see their README): every byte outside rewritten hrefs must survive.
const FIXTURES = new URL('../../../shared/fixtures/emails/', import.meta.url);
const signer = createSigner(['fixture-test-secret-0123456789']);
const PUBLIC = 'https://beacon.example';
const PIXEL = buildOpenUrl(PUBLIC, signer, 11);

const CASES: { file: string; tracked: string[]; untouched: string[] }[] = [
  {
    file: 'inlined-newsletter.html',
    tracked: ['http://htmlemail.io', 'http://htmlemail.io/blog', 'http://htmlemail.io'],
    untouched: [],
  },
  {
    file: 'cerberus-hybrid.html',
    tracked: ['https://google.com/', 'https://google.com/', 'https://google.com/'],
    // Inside a plain comment (commented-out markup): not a link.
    untouched: [`href='https://fonts.googleapis.com/css?family=Roboto:400,700'`],
  },
  {
    file: 'merge-tag-newsletter.html',
    tracked: ['http://www.mailchimp.com/kb/article/im-using-the-style-designer-and-i-cant-get-my-formatting-to-change'],
    untouched: ['*|ARCHIVE|*', '*|TWITTER:PROFILEURL|*', '*|FACEBOOK:PROFILEURL|*', '*|FORWARD|*', '*|UNSUB|*', '*|UPDATE_PROFILE|*'].map((tag) => `href="${tag}"`),
  },
];

const TRACKING_HREF = /href="(https:\/\/beacon\.example\/api\/track\/click\?[^"]*)"/g;

describe.each(CASES)('fixture $file', ({ file, tracked, untouched }) => {
  const html = readFileSync(new URL(file, FIXTURES), 'utf8');
  const result = rewriteHtml(html, { trackClicks: true, openPixelUrl: PIXEL, clickUrl: (d) => buildClickUrl(PUBLIC, signer, 11, d) });

  it('tracks every http(s) link, each redirecting to its original destination', () => {
    expect(result.warnings).toEqual([]);
    expect(result.trackedLinks).toBe(tracked.length);
    const locations = [...result.html.matchAll(TRACKING_HREF)].map((m) => {
      const check = checkClickRequest(Object.fromEntries(new URL((m[1] ?? '').replace(/&amp;/g, '&')).searchParams), signer);
      return check.kind === 'ok' ? check.url : check.kind;
    });
    expect(locations).toEqual(tracked);
  });

  it('leaves merge tags, non-web and commented-out hrefs byte-identical', () => {
    for (const href of untouched) expect(result.html.split(href).length).toBe(html.split(href).length);
  });

  it('changes nothing else: restore each href and drop the pixel, and the input comes back', () => {
    const queue = [...tracked];
    const restored = result.html.replace(TRACKING_HREF, () => `href="${queue.shift() ?? 'MISSING'}"`).replace(pixelTag(PIXEL), '');
    expect(queue).toEqual([]);
    expect(restored).toBe(html);
    expect(result.html.split(pixelTag(PIXEL)).length).toBe(2);
    expect(result.html).toMatch(new RegExp(`${pixelTag(PIXEL).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*</body>`));
  });
});
