// Signatures: format, binding to purpose/logId/url, rotation, and never throwing on bad input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSigner } from './signature.js';

const OLD = 'old-secret-0123456789abcdef';
const NEW = 'new-secret-0123456789abcdef';

describe('createSigner', () => {
  it('refuses an empty key list or an empty key', () => {
    expect(() => createSigner([])).toThrow();
    expect(() => createSigner([''])).toThrow();
  });

  it('signs with 32 lowercase hex characters (HMAC-SHA256 truncated to 128 bits)', () => {
    const signer = createSigner([NEW]);
    expect(signer.sign('open', 1)).toMatch(/^[0-9a-f]{32}$/);
    expect(signer.sign('click', 1, 'https://example.com/')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('verifies its own signatures and nothing else', () => {
    const signer = createSigner([NEW]);
    const url = 'https://example.com/?a=1&b=2%26c';
    const sig = signer.sign('click', 7, url);
    expect(signer.verify('click', 7, url, sig)).toBe(true);
    expect(signer.verify('click', 8, url, sig)).toBe(false);
    expect(signer.verify('click', 7, `${url}x`, sig)).toBe(false);
    expect(signer.verify('open', 7, undefined, sig)).toBe(false);
    expect(signer.verify('click', 7, url, sig.toUpperCase())).toBe(false);
    expect(signer.verify('click', 7, url, sig.slice(0, 31))).toBe(false);
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    expect(signer.verify('click', 7, url, flipped)).toBe(false);
  });

  it('cannot be fooled by shifting a field boundary', () => {
    const signer = createSigner([NEW]);
    expect(signer.verify('click', 123, 'x', signer.sign('click', 12, '3x'))).toBe(false);
    expect(signer.verify('click', 1, '', signer.sign('open', 1))).toBe(false);
  });

  it('keeps links valid across a key rotation (TRACKING_SECRETS=new,old)', () => {
    const sig = createSigner([OLD]).sign('click', 5, 'https://example.com/');
    expect(createSigner([NEW, OLD]).verify('click', 5, 'https://example.com/', sig)).toBe(true);
    expect(createSigner([NEW]).verify('click', 5, 'https://example.com/', sig)).toBe(false);
    expect(createSigner([NEW, OLD]).sign('open', 5)).toBe(createSigner([NEW]).sign('open', 5));
  });

  it('refuses to sign malformed input', () => {
    const signer = createSigner([NEW]);
    expect(() => signer.sign('open', 0)).toThrow();
    expect(() => signer.sign('open', 1.5)).toThrow();
    expect(() => signer.sign('click', 1)).toThrow();
    expect(() => signer.sign('open', 1, 'https://example.com/')).toThrow();
  });

  it('never throws while verifying, whatever it is given', () => {
    const signer = createSigner([NEW, OLD]);
    fc.assert(
      fc.property(fc.string(), fc.oneof(fc.integer(), fc.double()), fc.option(fc.string(), { nil: undefined }), (sig, logId, url) => {
        expect(typeof signer.verify('click', logId, url, sig)).toBe('boolean');
        expect(typeof signer.verify('open', logId, url, sig)).toBe('boolean');
      }),
    );
    const loose = signer as unknown as { verify(...args: unknown[]): boolean };
    expect(loose.verify('click', 1, 'https://example.com/', undefined)).toBe(false);
    expect(loose.verify('other', 1, undefined, '0'.repeat(32))).toBe(false);
  });
});
