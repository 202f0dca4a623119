// The "Link rewriting" and "Pixel" rows of tracking-links.md, each followed through to the redirect it gives.
import { describe, expect, it } from 'vitest';
import { checkClickRequest } from './request.js';
import { rewriteHtml, type RewriteOptions } from './rewrite.js';
import { createSigner } from './signature.js';
import { buildClickUrl } from './urls.js';

const signer = createSigner(['rewrite-test-secret-0123456789']);
const PUBLIC = 'https://beacon.example';
const PIXEL = `${PUBLIC}/api/track/open?logId=7&sig=${signer.sign('open', 7)}`;
const options: RewriteOptions = { trackClicks: true, openPixelUrl: undefined, clickUrl: (d) => buildClickUrl(PUBLIC, signer, 7, d) };

function decodeAttribute(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** The hrefs of a one-link document, before and after. */
function rewriteOne(rawHref: string, quote = '"') {
  const html = `<p>Hi <a class="btn" href=${quote}${rawHref}${quote} target="_blank">go</a></p>`;
  const result = rewriteHtml(html, options);
  const match = /href=(["'])(.*?)\1/s.exec(result.html);
  return { html, result, href: match ? decodeAttribute(match[2] ?? '') : undefined };
}

/** Follows a rewritten href through the click endpoint's checks: where the redirect would go. */
function location(trackedHref: string): string {
  const params = new URL(trackedHref).searchParams;
  const check = checkClickRequest(Object.fromEntries(params), signer);
  if (check.kind !== 'ok') throw new Error(`click check failed: ${JSON.stringify(check)}`);
  return check.url;
}

const TRACKED: [string, string, string][] = [
  ['HTML entities in the attribute', 'https://example.com/r?key=1&amp;id=2', 'https://example.com/r?key=1&id=2'],
  ['existing percent-escapes', 'https://example.com/caf%C3%A9', 'https://example.com/caf%C3%A9'],
  ['spaces', 'https://example.com/f/logo (1).png', 'https://example.com/f/logo%20(1).png'],
  ['characters a URL regex forgets', 'https://example.com/s?f[0]=a:2&amp;q=grün', 'https://example.com/s?f[0]=a:2&q=gr%C3%BCn'],
  ['nothing added to the destination', 'https://example.com/go?x=1', 'https://example.com/go?x=1'],
  ['the url= round-trip', 'https://example.com/?a=1&amp;b=2%26c', 'https://example.com/?a=1&b=2%26c'],
  ['a numeric entity', 'https://example.com/?a=1&#38;b=2', 'https://example.com/?a=1&b=2'],
  ['a double-encoded entity decoded once', 'https://example.com/?q=&amp;amp;', 'https://example.com/?q=&amp;'],
  ['surrounding whitespace', ' \n https://example.com/x \t', 'https://example.com/x'],
  ['an uppercase scheme, default port and fragment kept as written', 'HTTP://Example.com:80/A#Top', 'HTTP://Example.com:80/A#Top'],
  ['a fragment with & and +', 'https://example.com/a+b?c=d+e#x&amp;y', 'https://example.com/a+b?c=d+e#x&y'],
  ['a 3,000-character URL with UTM parameters', `https://example.com/${'p'.repeat(2900)}?utm_source=news&amp;utm_medium=email&amp;utm_campaign=spring`, `https://example.com/${'p'.repeat(2900)}?utm_source=news&utm_medium=email&utm_campaign=spring`],
];

describe('rewriteHtml: links that are tracked', () => {
  it.each(TRACKED)('%s', (_kind, rawHref, expected) => {
    const { result, href } = rewriteOne(rawHref);
    expect(result.trackedLinks).toBe(1);
    expect(result.warnings).toEqual([]);
    expect(href).toBeDefined();
    expect(location(href as string)).toBe(expected);
    // The rewritten href is written back HTML-escaped: no bare & in the attribute.
    expect(result.html).not.toMatch(/href="[^"]*&(?!amp;|quot;|#39;)/);
  });

  it.each(['"', "'", ''])('keeps the quote style %j (unquoted becomes double-quoted)', (quote) => {
    const { result, html } = rewriteOne('https://example.com/r?key=1&amp;id=2', quote);
    const written = quote === '' ? '"' : quote;
    const prefix = `<p>Hi <a class="btn" href=${written}${PUBLIC}/api/track/click?url=`;
    expect(result.html.startsWith(prefix)).toBe(true);
    expect(result.html.endsWith(`${written} target="_blank">go</a></p>`)).toBe(true);
    expect(html).not.toBe(result.html);
  });

  it('splices at the right offsets after a BOM, CR, CRLF, NUL and astral characters', () => {
    const prefix = '\uFEFF<p>😀\r\r\n\0é</p>\r\n';
    const html = `${prefix}<a href="https://example.com/x">x</a>\r\n`;
    const result = rewriteHtml(html, { ...options, clickUrl: (d) => `T(${d})` });
    expect(result.html).toBe(`${prefix}<a href="T(https://example.com/x)">x</a>\r\n`);
  });

  it('reads any attribute-name case and spacing, and <area>', () => {
    const html = `<A HREF = 'https://example.com/a'>a</A><map><area shape="rect" Href=https://example.com/b></map>`;
    const result = rewriteHtml(html, options);
    expect(result.trackedLinks).toBe(2);
    const hrefs = [...result.html.matchAll(/(?:HREF = '|Href=")([^'"]*)/g)].map((m) => location(decodeAttribute(m[1] ?? '')));
    expect(hrefs).toEqual(['https://example.com/a', 'https://example.com/b']);
  });
});

describe('rewriteHtml: links left byte-identical', () => {
  it.each([
    'mailto:help@example.com?subject=Hi',
    'tel:+15555550100',
    'sms:+15555550100?body=hi',
    '#faq',
    '/relative',
    'relative/page.html',
    '//example.com/protocol-relative',
    'cid:logo',
    'javascript:alert(1)',
    'data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;',
    '',
    '*|UNSUB|*',
    '*|ARCHIVE|*',
    '{{unsubscribe_url}}',
    'https://{{domain}}/x',
    'https://example.com/u?id={{ user.id }}',
    'https://example.com/{% raw %}x',
    'https://example.com/?e=%recipient.email%',
    '%%view_email_url%%',
    `${PUBLIC}/api/track/click?url=https%3A%2F%2Fexample.com%2F&amp;logId=7&amp;sig=0123456789abcdef0123456789abcdef`,
    'https://other-beacon.example/api/track/click?url=x&amp;logId=1&amp;sig=abc',
  ])('%j', (rawHref) => {
    const { html, result } = rewriteOne(rawHref);
    expect(result.html).toBe(html);
    expect(result.trackedLinks).toBe(0);
  });

  it('leaves bare, valueless and non-link hrefs alone', () => {
    const html = `<a href>x</a><a name="top">y</a><link rel="stylesheet" href="https://example.com/s.css"><base href="https://example.com/">`;
    expect(rewriteHtml(html, options)).toEqual({ html, trackedLinks: 0, warnings: [] });
  });

  it('does not track when clicks are off, but still adds the pixel', () => {
    const html = '<html><body><a href="https://example.com/">x</a></body></html>';
    const result = rewriteHtml(html, { ...options, trackClicks: false, openPixelUrl: PIXEL });
    expect(result.trackedLinks).toBe(0);
    expect(result.html.replace(/<img [^>]*>/, '')).toBe(html);
  });

  it('honours data-beacon-track="off" and removes just that attribute', () => {
    const html = `<a href="https://example.com/a"\n   data-beacon-track="off" class="x">a</a><a DATA-BEACON-TRACK=OFF href='https://example.com/b'>b</a>`;
    const result = rewriteHtml(html, options);
    expect(result.trackedLinks).toBe(0);
    expect(result.html).toBe(`<a href="https://example.com/a" class="x">a</a><a href='https://example.com/b'>b</a>`);
  });

  it('ignores links inside <script>, <style>, <textarea> and plain comments', () => {
    const html = `<script>var s = '<a href="https://example.com/1">';</script><style>/* <a href="https://example.com/2"> */</style><textarea><a href="https://example.com/3"></textarea><!-- <a href="https://example.com/4">old</a> -->`;
    expect(rewriteHtml(html, options)).toEqual({ html, trackedLinks: 0, warnings: [] });
  });

  it('warns about an http link it cannot make a valid URL of', () => {
    const html = '<a href="https://exa mple.com/">x</a>';
    const result = rewriteHtml(html, options);
    expect(result.html).toBe(html);
    expect(result.warnings).toHaveLength(1);
  });
});

describe('rewriteHtml: Outlook conditional comments', () => {
  it('tracks hrefs inside <!--[if mso]> like plain links, leaving the rest of the comment intact', () => {
    const vml = `<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" HREF="https://example.com/cta?a=1&amp;b=2" style="height:40px" arcsize="10%">`;
    const html = `<!--[if mso]>\r\n  ${vml}\r\n<![endif]--><!--[if !mso]><!--><a href="https://example.com/cta?a=1&amp;b=2">Go</a><!--<![endif]-->`;
    const result = rewriteHtml(html, options);
    expect(result.trackedLinks).toBe(2);
    const values = [...result.html.matchAll(/(?:HREF|href)="([^"]*)"/g)].map((m) => decodeAttribute(m[1] ?? ''));
    expect(values.map(location)).toEqual(['https://example.com/cta?a=1&b=2', 'https://example.com/cta?a=1&b=2']);
    const restored = result.html.replace(/(HREF|href)="[^"]*"/g, '$1="https://example.com/cta?a=1&amp;b=2"');
    expect(restored).toBe(html);
  });
});

describe('rewriteHtml: open pixel', () => {
  const img = `<img src="${PIXEL.replace(/&/g, '&amp;')}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  const withPixel = { ...options, openPixelUrl: PIXEL };

  it('is sized 1×1 without display:none, right before the last </body>', () => {
    const html = '<html><body><!-- </body> --><p>x</p><script>"</body>"</script>\n</BODY>\n</html>';
    const result = rewriteHtml(html, withPixel);
    expect(result.html).toBe(`<html><body><!-- </body> --><p>x</p><script>"</body>"</script>\n${img}</BODY>\n</html>`);
    expect(result.html).not.toContain('display:none');
  });

  it('goes before the last of several </body> tags', () => {
    expect(rewriteHtml('<body>a</body>b</body>c', withPixel).html).toBe(`<body>a</body>b${img}</body>c`);
  });

  it('is appended when there is no </body>', () => {
    expect(rewriteHtml('<p>fragment</p>', withPixel).html).toBe(`<p>fragment</p>${img}`);
    expect(rewriteHtml('', withPixel).html).toBe(img);
  });
});

describe('rewriteHtml never fails a send', () => {
  it('returns the input unchanged, with a warning, when building a click URL throws', () => {
    const html = '<html><body><a href="https://example.com/">x</a><a data-beacon-track="off" href="https://example.com/">y</a></body></html>';
    const result = rewriteHtml(html, { trackClicks: true, openPixelUrl: PIXEL, clickUrl: () => { throw new Error('boom'); } });
    expect(result.html).toBe(html);
    expect(result.trackedLinks).toBe(0);
    expect(result.warnings.join()).toContain('boom');
  });

  it('copes with HTML the tokenizer dislikes', () => {
    for (const html of ['<a href="https://example.com/', '<a href=https://example.com/?a=1&b=2<>x</a>', '<<a href="https://e.com/">', '\0<a\0 href="https://e.com/\0">', '</a></body><body></html><a href="https://example.com/x"', '<!--[if mso]><a href="https://e.com/"', '<svg><a href="https://example.com/s"/></svg>']) {
      const result = rewriteHtml(html, { ...options, openPixelUrl: PIXEL });
      expect(typeof result.html).toBe('string');
    }
  });
});
