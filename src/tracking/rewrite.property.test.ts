// Generated URLs and documents: exact redirects, byte preservation outside hrefs, never throwing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkClickRequest } from './request.js';
import { rewriteHtml, type RewriteOptions } from './rewrite.js';
import { createSigner } from './signature.js';
import { buildClickUrl } from './urls.js';

const signer = createSigner(['property-test-secret-0123456789']);
const PUBLIC = 'https://beacon.example';
const options: RewriteOptions = { trackClicks: true, openPixelUrl: undefined, clickUrl: (d) => buildClickUrl(PUBLIC, signer, 5, d) };

const hex = fc.constantFrom(...'0123456789ABCDEFabcdef');
const escape = fc.tuple(hex, hex).map(([a, b]) => `%${a}${b}`);
/** Non-ASCII as an already-legal URL carries it: percent-encoded UTF-8. */
const encodedText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }).map((s) => encodeURIComponent(s));
const legalChar = fc.constantFrom(...`abcXYZ019-._~!$'()*,;:@[]`.split(''));
const piece = fc.oneof(legalChar, legalChar, escape, encodedText);
const word = fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join(''));
const queryValue = fc.array(fc.oneof(piece, fc.constantFrom('+', '=', '/', '?', '%26', '%2B', '%23')), { maxLength: 6 }).map((p) => p.join(''));

/** Already-legal absolute http(s) URLs: paths, queries with & = + %XX, fragments, long ones. */
const legalUrl = fc
  .record({
    scheme: fc.constantFrom('http', 'https', 'HTTPS'),
    host: fc.constantFrom('example.com', 'sub.example.co.uk', 'EXAMPLE.com:8080', '127.0.0.1', '[::1]:443'),
    path: fc.array(word, { maxLength: 5 }),
    query: fc.option(fc.array(fc.tuple(word, queryValue), { minLength: 1, maxLength: 4 }), { nil: undefined }),
    fragment: fc.option(fc.array(fc.oneof(piece, fc.constantFrom('&', '=', '#', '/', '?', '+')), { maxLength: 6 }), { nil: undefined }),
    long: fc.boolean(),
  })
  .map(({ scheme, host, path, query, fragment, long }) => {
    let url = `${scheme}://${host}/${path.join('/')}${long ? 'x'.repeat(2500) : ''}`;
    if (query) url += `?${query.map(([k, v]) => `${k}=${v}`).join('&')}`;
    if (fragment) url += `#${fragment.join('')}`;
    return url;
  });

const escapeAttr = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const redirectOf = (attrValue: string): string => {
  const params = new URL(attrValue.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')).searchParams;
  const check = checkClickRequest(Object.fromEntries(params), signer);
  if (check.kind !== 'ok') throw new Error(check.message);
  return check.url;
};

describe('rewriteHtml properties', () => {
  it('redirects every generated URL to exactly itself, whatever the quoting', () => {
    fc.assert(
      fc.property(legalUrl, fc.constantFrom('"', "'", ''), (url, quote) => {
        const raw = quote === "'" ? escapeAttr(url) : url.replace(/&/g, '&amp;');
        const result = rewriteHtml(`<a href=${quote}${raw}${quote}>x</a>`, options);
        expect(result.trackedLinks).toBe(1);
        const written = quote === '' ? '"' : quote;
        const value = result.html.slice(`<a href=${written}`.length, result.html.lastIndexOf(`${written}>x</a>`));
        expect(redirectOf(value)).toBe(url);
      }),
      { numRuns: 300 },
    );
  });

  // Document pieces: each is [input, expected output given the click URL builder].
  type Piece = { input: string; expected: string; tracked: number };
  const untouched = (input: string): Piece => ({ input, expected: input, tracked: 0 });
  const filler = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('<')).map(untouched),
    fc.constantFrom(
      '\r\n',
      ' \t ',
      '😀 é 日本 &amp; &nbsp;',
      '<!-- <a href="https://commented.example/">old</a> -->',
      '<!--[if !mso]><!-->',
      '<!--<![endif]-->',
      '<p class=\'x\' data-a=1>',
      '</p>',
      '<br/>',
      '<img src="https://example.com/i.png" alt="">',
      '<a href="mailto:a@example.com?subject=Hi%20there">m</a>',
      '<a href="*|UNSUB|*">u</a>',
      '<a href="{{unsubscribe_url}}">u</a>',
      '<a href="#top">t</a>',
      '<a href="/relative">r</a>',
      '<script>var s = \'<a href="https://script.example/">\';</script>',
      '<style>a[href="https://style.example/"]{color:red}</style>',
    ).map(untouched),
  );
  const link = fc
    .record({
      url: legalUrl,
      quote: fc.constantFrom('"', "'", ''),
      tag: fc.constantFrom('a', 'A', 'area', 'vml'),
      name: fc.constantFrom('href', 'HREF', 'Href'),
      eq: fc.constantFrom('=', ' = ', '\n=\t'),
      before: fc.constantFrom('', ' class="btn"', " style='color:red'", ' data-x=1'),
      after: fc.constantFrom('', ' target="_blank"', ' title=\'Go "now"\''),
    })
    .map(({ url, quote, tag, name, eq, before, after }): Piece => {
      const raw = quote === "'" ? escapeAttr(url) : url.replace(/&/g, '&amp;');
      const written = quote === '' ? '"' : quote;
      const tracked = escapeAttr(buildClickUrl(PUBLIC, signer, 5, url));
      const make = (attr: string): string =>
        tag === 'vml'
          ? `<!--[if mso]><v:roundrect${before} ${name}${eq}${attr}${after} arcsize="10%"><![endif]-->`
          : `<${tag}${before} ${name}${eq}${attr}${after}>link</${tag}>`;
      return { input: make(`${quote}${raw}${quote}`), expected: make(`${written}${tracked}${written}`), tracked: 1 };
    });

  it('changes nothing in a document but the values of tracked hrefs', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(filler, link), { maxLength: 12 }), (pieces) => {
        const input = pieces.map((p) => p.input).join('');
        const result = rewriteHtml(input, options);
        expect(result.html).toBe(pieces.map((p) => p.expected).join(''));
        expect(result.trackedLinks).toBe(pieces.reduce((n, p) => n + p.tracked, 0));
        expect(result.warnings).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.boolean(), (html, trackClicks) => {
        const result = rewriteHtml(html, { ...options, trackClicks, openPixelUrl: 'https://beacon.example/p' });
        expect(typeof result.html).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
});
