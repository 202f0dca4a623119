// The Endpoints table of tracking-links.md: which click/open queries are 302, 400 or 403.
import { describe, expect, it } from 'vitest';
import { checkClickRequest, checkOpenRequest } from './request.js';
import { createSigner } from './signature.js';

const signer = createSigner(['request-test-secret-0123456789']);
const URL_ = 'https://example.com/?a=1&b=2%26c';

function click(logId: number, url: string, s = signer): Record<string, string> {
  return { url, logId: String(logId), sig: s.sign('click', logId, url) };
}

describe('checkClickRequest', () => {
  it('accepts a link Beacon signed', () => {
    expect(checkClickRequest(click(42, URL_), signer)).toEqual({ kind: 'ok', logId: 42, url: URL_ });
  });

  it.each<[string, (q: Record<string, unknown>) => unknown]>([
    ['a tampered sig', (q) => ({ ...q, sig: String(q.sig).replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) })],
    ['a sig for another logId', (q) => ({ ...q, logId: '43' })],
    ['a sig for another URL', (q) => ({ ...q, url: 'https://example.com/?a=1&b=2&c' })],
    ['an open sig used for a click', (q) => ({ ...q, sig: signer.sign('open', 42) })],
    ['a truncated sig', (q) => ({ ...q, sig: String(q.sig).slice(0, 30) })],
    ['a non-hex sig', (q) => ({ ...q, sig: 'z'.repeat(32) })],
    ['an uppercase sig', (q) => ({ ...q, sig: String(q.sig).toUpperCase() })],
    ['a duplicated sig', (q) => ({ ...q, sig: [q.sig, q.sig] })],
    ['a missing sig', ({ sig: _sig, ...q }) => q],
    ['an empty sig', (q) => ({ ...q, sig: '' })],
  ])('answers 403 naming the logId for %s', (_name, mutate) => {
    const result = checkClickRequest(mutate(click(42, URL_)), signer);
    expect(result).toMatchObject({ kind: 'forbidden' });
    if (result.kind === 'forbidden') expect(['42', '43']).toContain(result.logId);
  });

  it.each<[string, (q: Record<string, unknown>) => unknown]>([
    ['url missing', ({ url: _url, ...q }) => q],
    ['logId missing', ({ logId: _logId, ...q }) => q],
    ['url repeated', (q) => ({ ...q, url: [q.url, q.url] })],
    ['logId repeated', (q) => ({ ...q, logId: ['42', '42'] })],
    ['url not a string', (q) => ({ ...q, url: { x: 1 } })],
    ...['0', '-1', '1.5', 'abc', '01', '+42', '4.2e1', ' 42', '42 ', '', '99999999999999999999', '0x2a'].map(
      (logId): [string, (q: Record<string, unknown>) => unknown] => [`logId ${JSON.stringify(logId)}`, (q) => ({ ...q, logId })],
    ),
    ['url with a broken escape', (q) => ({ ...q, url: '%E0%A4%A', sig: 'a' })],
    ['url with raw spaces', (q) => ({ ...q, url: 'https://example.com/a b' })],
    ['url with raw non-ASCII', (q) => ({ ...q, url: 'https://example.com/grün' })],
    ['no query at all', () => undefined],
    ['a null query', () => null],
    ['a string query', () => 'url=x'],
  ])('answers 400 for %s, before looking at the signature', (_name, mutate) => {
    expect(checkClickRequest(mutate(click(42, URL_)), signer)).toMatchObject({ kind: 'bad-request' });
  });

  it('answers 400 for a valid signature over a non-web destination', () => {
    for (const url of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'data:text/html,%3Cscript%3Ealert(1)%3C/script%3E', 'mailto:x@example.com', '//evil.example/', '']) {
      expect(checkClickRequest(click(42, url), signer)).toMatchObject({ kind: 'bad-request' });
    }
  });

  it('answers 403, not 400, for a forged signature over a javascript: URL', () => {
    expect(checkClickRequest({ url: 'javascript:alert(1)', logId: '42', sig: '0'.repeat(32) }, signer)).toMatchObject({
      kind: 'forbidden',
    });
  });

  it('accepts links signed before a key rotation', () => {
    const old = createSigner(['old-secret-0123456789abcdef']);
    const query = click(42, URL_, old);
    expect(checkClickRequest(query, createSigner(['new-secret-0123456789abcdef', 'old-secret-0123456789abcdef']))).toMatchObject({
      kind: 'ok',
    });
    expect(checkClickRequest(query, createSigner(['new-secret-0123456789abcdef']))).toMatchObject({ kind: 'forbidden' });
  });
});

describe('checkOpenRequest', () => {
  const sig = signer.sign('open', 42);

  it('records only a canonical logId with a valid open signature', () => {
    expect(checkOpenRequest({ logId: '42', sig }, signer)).toEqual({ kind: 'ok', logId: 42 });
    expect(checkOpenRequest({ logId: '43', sig }, signer).kind).toBe('invalid');
    expect(checkOpenRequest({ logId: '042', sig }, signer).kind).toBe('invalid');
    expect(checkOpenRequest({ logId: '42', sig: [sig, sig] }, signer).kind).toBe('invalid');
    expect(checkOpenRequest({ logId: '42' }, signer).kind).toBe('invalid');
    expect(checkOpenRequest({ logId: '42', sig: signer.sign('click', 42, URL_) }, signer).kind).toBe('invalid');
    expect(checkOpenRequest(undefined, signer).kind).toBe('invalid');
  });
});
