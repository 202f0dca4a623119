import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, retryDelayMs, sleep, timerMs } from './backoff.js';

describe('retryDelayMs', () => {
  it('grows exponentially without jitter', () => {
    const d = [1, 2, 3, 4].map((a) => retryDelayMs(a, { baseMs: 1000, jitter: 'none' }));
    expect(d).toEqual([1000, 2000, 4000, 8000]);
  });

  it('stays finite, non-negative and capped for huge attempts', () => {
    for (const attempt of [1000, 10_000, 1e9, Number.MAX_SAFE_INTEGER, Infinity, NaN, -5, 0]) {
      for (const jitter of ['full', 'equal', 'none'] as const) {
        for (const random of [() => 0, () => 0.5, () => 0.999999]) {
          const d = retryDelayMs(attempt, { jitter, random });
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(3_600_000);
        }
      }
    }
    expect(retryDelayMs(1000, { jitter: 'none' })).toBe(3_600_000);
  });

  it('never exceeds the timer limit even with a larger cap', () => {
    expect(retryDelayMs(1000, { capMs: 10 ** 15, jitter: 'none' })).toBe(MAX_TIMER_MS);
    expect(retryDelayMs(1000, { capMs: Infinity, baseMs: Infinity, jitter: 'none' })).toBe(MAX_TIMER_MS);
  });

  it('equal jitter keeps at least half the delay; full jitter spans [0, d]', () => {
    expect(retryDelayMs(3, { jitter: 'equal', random: () => 0 })).toBe(2000);
    expect(retryDelayMs(3, { jitter: 'equal', random: () => 0.999 })).toBeLessThanOrEqual(4000);
    expect(retryDelayMs(3, { jitter: 'full', random: () => 0 })).toBe(0);
    // A broken random source cannot produce NaN or out-of-range values.
    expect(retryDelayMs(3, { jitter: 'full', random: () => NaN })).toBe(0);
    expect(retryDelayMs(3, { jitter: 'full', random: () => 7 })).toBe(4000);
  });
});

describe('sleep and timerMs', () => {
  it('clamps timer durations', () => {
    expect(timerMs(2 ** 40)).toBe(MAX_TIMER_MS);
    expect(timerMs(-1)).toBe(0);
    expect(timerMs(NaN)).toBe(0);
  });

  it('an over-long sleep neither fires early nor warns, and ends on abort', async () => {
    const ac = new AbortController();
    let done = false;
    const p = sleep(2 ** 40, ac.signal).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    ac.abort();
    await p;
    expect(done).toBe(true);
  });

  it('resolves at once for an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const t = Date.now();
    await sleep(10_000, ac.signal);
    expect(Date.now() - t).toBeLessThan(50);
  });
});
