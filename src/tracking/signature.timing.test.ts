// Timing: a signature wrong in its first byte and one wrong in its last take the same time to refuse.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSigner } from './signature.js';

const signer = createSigner(['timing-secret-0123456789abcdef', 'older-secret-0123456789abcdef']);
const URL_ = 'https://example.com/offer?id=42';
const good = signer.sign('click', 7, URL_);
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
const wrongFirst = flip(good, 0);
const wrongLast = flip(good, good.length - 1);

/**
 * Median time of `fn(a)` and of `fn(b)`, measured in interleaved batches so both see the same machine noise
 * (this machine has 2 noisy cores: medians of many batches, not single calls).
 */
function medians(fn: (sig: string) => boolean, a: string, b: string, samples = 300, batch = 40): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < 2_000; i++) fn(i % 2 ? a : b); // warm up the JIT
  for (let s = 0; s < samples; s++) {
    const order = s % 2 === 0 ? [a, b] : [b, a];
    for (const sig of order) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) fn(sig);
      const ns = Number(process.hrtime.bigint() - start) / batch;
      (sig === a ? ta : tb).push(ns);
    }
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return [median(ta), median(tb)];
}

const relativeGap = ([x, y]: [number, number]) => Math.abs(x - y) / Math.min(x, y);

/**
 * A deliberately leaky check of the kind the audit replaced: compares hex characters one by one and stops at
 * the first difference. The per-character work stands in for what a real leak costs; it is here to prove the
 * measurement can see a leak, so that "no difference" below means something.
 */
function leakyVerify(sig: string): boolean {
  const expected = good;
  for (let i = 0; i < expected.length; i++) {
    createHmac('sha256', 'k').update(sig[i]!).digest();
    if (sig[i] !== expected[i]) return false;
  }
  return true;
}

describe('constant-time verification', () => {
  it('the measurement detects a comparison that stops at the first wrong character', () => {
    expect(relativeGap(medians(leakyVerify, wrongFirst, wrongLast))).toBeGreaterThan(0.5);
  });

  it('verify shows no measurable difference between a first-byte and a last-byte mismatch', () => {
    const gap = relativeGap(medians((s) => signer.verify('click', 7, URL_, s), wrongFirst, wrongLast));
    expect(gap).toBeLessThan(0.05);
    expect(signer.verify('click', 7, URL_, wrongFirst) || signer.verify('click', 7, URL_, wrongLast)).toBe(false);
  });
});
