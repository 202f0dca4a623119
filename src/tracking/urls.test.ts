// Tracking URL shapes, the url= round-trip, and which destinations are trackable and how they are encoded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSigner } from './signature.js';
import { buildClickUrl, buildOpenUrl, isTrackableUrl, normalizeDestination } from './urls.js';

const signer = createSigner(['url-test-secret-0123456789']);
const PUBLIC = 'https://beacon.example';

describe('buildOpenUrl / buildClickUrl', () => {
  it('builds the documented shapes', () => {
    expect(buildOpenUrl(PUBLIC, signer, 9)).toBe(`${PUBLIC}/api/track/open?logId=9&sig=${signer.sign('open', 9)}`);
    const url = 'https://example.com/go?x=1';
    expect(buildClickUrl(PUBLIC, signer, 9, url)).toBe(
      `${PUBLIC}/api/track/click?url=${encodeURIComponent(url)}&logId=9&sig=${signer.sign('click', 9, url)}`,
    );
    expect(buildOpenUrl(`${PUBLIC}/`, signer, 9)).toBe(buildOpenUrl(PUBLIC, signer, 9));
  });

  it('round-trips the url parameter exactly, whatever it contains', () => {
    const nasty = ['https://example.com/?a=1&b=2%26c', 'https://e.com/a+b?q=a+b&x=%2B#frag&x=1', 'https://e.com/ grün ?q=ü&r=日本#ü', 'https://e.com/%', ''];
    for (const url of [...nasty, 'https://e.com/' + 'x'.repeat(3000)]) {
      expect(new URL(buildClickUrl(PUBLIC, signer, 1, url)).searchParams.get('url')).toBe(url);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (url) => {
        const params = new URL(buildClickUrl(PUBLIC, signer, 3, url)).searchParams;
        expect(params.get('url')).toBe(url);
        expect(signer.verify('click', 3, params.get('url') ?? '', params.get('sig') ?? '')).toBe(true);
      }),
    );
  });
});

describe('isTrackableUrl', () => {
  it.each([
    ['https://example.com/', true],
    ['http://example.com', true],
    ['HTTPS://Example.com/x', true],
    ['https://[::1]:8080/a', true],
    ['mailto:help@example.com', false],
    ['tel:+15555550100', false],
    ['javascript:alert(1)', false],
    ['data:text/html,<script>alert(1)</script>', false],
    ['/relative', false],
    ['//example.com/x', false],
    ['#faq', false],
    ['', false],
    ['https://', false],
    ['https://example.com/a b', false],
    ['https://example.com/grün', false],
    [' https://example.com/', false],
    ['https://example.com/50%off', false],
    ['https://example.com/a|b', false],
    ['https://example.com/50%25off', true],
  ])('%s → %s', (url, expected) => {
    expect(isTrackableUrl(url)).toBe(expected);
  });
});

describe('normalizeDestination', () => {
  it.each([
    ['https://example.com/caf%C3%A9', 'https://example.com/caf%C3%A9'],
    ['https://example.com/f/logo (1).png', 'https://example.com/f/logo%20(1).png'],
    ['https://example.com/s?f[0]=a:2&q=grün', 'https://example.com/s?f[0]=a:2&q=gr%C3%BCn'],
    ['https://example.com/go?x=1', 'https://example.com/go?x=1'],
    ['  https://example.com/x \n', 'https://example.com/x'],
    ['https://example.com/very/\n  long', 'https://example.com/very/%20%20long'],
    ['https://example.com/50%off', 'https://example.com/50%25off'],
    ['https://example.com/a|b^c{d}"e<f>', 'https://example.com/a%7Cb%5Ec%7Bd%7D%22e%3Cf%3E'],
    ['https://example.com/😀', 'https://example.com/%F0%9F%98%80'],
    ['https://example.com/\uD800', 'https://example.com/%EF%BF%BD'],
  ])('%j → %s', (href, expected) => {
    expect(normalizeDestination(href)).toBe(expected);
  });

  it('encodes only what cannot appear in a URL, once', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }).filter((s) => !/[%\t\n\r\f ]/.test(s)), (s) => {
        const url = `https://example.com/${s}`;
        const normalized = normalizeDestination(url);
        expect(normalized).toMatch(/^[\x21-\x7e]+$/);
        expect(decodeURI(normalized)).toBe(url);
        expect(normalizeDestination(normalized)).toBe(normalized);
      }),
    );
  });
});
