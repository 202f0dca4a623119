// Where the open pixel goes when the HTML is broken at its end: it must load, or be left out with a warning.
import { describe, expect, it } from 'vitest';
import { scanHtml } from './html-scan.js';
import { pixelTag, rewriteHtml } from './rewrite.js';

const PIXEL = 'https://t.example/api/track/open?logId=1&sig=00';
const render = (html: string) => rewriteHtml(html, { trackClicks: false, openPixelUrl: PIXEL, clickUrl: (u) => u });
const pixelLoads = (html: string) => scanHtml(html).startTags.some((t) => t.tagName === 'img' && t.attrs.some((a) => a.name === 'src' && a.value === PIXEL));

describe('the open pixel at the end of broken HTML', () => {
  it('is appended when there is no </body>', () => {
    const out = render('<p>hi</p>');
    expect(out.html).toBe(`<p>hi</p>${pixelTag(PIXEL)}`);
    expect(out.warnings).toEqual([]);
  });

  it('closes an unterminated comment so the pixel loads, and says so', () => {
    const html = '<p>hi</p><!-- unterminated';
    const out = render(html);
    expect(out.html.startsWith(html)).toBe(true);
    expect(pixelLoads(out.html)).toBe(true);
    expect(out.warnings).toEqual(['the HTML ends inside an unterminated comment; closed it so the open pixel can load']);
  });

  it.each(['<p>hi</p><script>var x = 1;', '<p>hi</p><textarea>draft', '<p>hi</p><style>p{}'])('leaves the pixel out of %j with a warning', (html) => {
    const out = render(html);
    expect(out.html).toBe(html);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toContain('open tracking skipped');
  });

  it('with a </body>, goes before the last one as usual', () => {
    const out = render('<body><!-- </body> --><p>x</p></body>');
    expect(out.html).toBe(`<body><!-- </body> --><p>x</p>${pixelTag(PIXEL)}</body>`);
  });
});
