// Retry delays (exponential, jittered, capped, overflow-proof) and an abortable sleep whose timer is always legal.

/** Node's timers hold a signed 32-bit ms count; anything larger fires after 1 ms (with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** Delay before the first retry, before jitter. Default 1 s. */
  baseMs?: number;
  /** Upper bound of any delay. Default 1 hour; never above MAX_TIMER_MS. */
  capMs?: number;
  /**
   * `full`: uniform in [0, d]; `equal`: d/2 plus uniform in [0, d/2] (still grows every attempt);
   * `none`: exactly d. Default `equal`.
   */
  jitter?: Jitter;
  /** Source of randomness in [0, 1); tests pin it. */
  random?: () => number;
}

/**
 * Delay in ms before retrying after failed attempt `attempt` (1-based): base·2^(attempt−1), capped, jittered.
 * Always a finite integer in [0, min(cap, 2^31−1)], whatever `attempt` is (1,000, 10,000, NaN, negative).
 */
export function retryDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const cap = clamp(options.capMs ?? 3_600_000, 0, MAX_TIMER_MS);
  const base = clamp(options.baseMs ?? 1_000, 0, cap);
  const n = Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt) - 1) : 0;
  // 2^52 is still exact and finite; past that the cap has long been reached, so never compute 2^1000.
  const exp = base === 0 ? 0 : Math.min(cap, base * 2 ** Math.min(n, 52));
  const r = clamp((options.random ?? Math.random)(), 0, 1);
  const jittered = options.jitter === 'full' ? exp * r : options.jitter === 'none' ? exp : exp / 2 + (exp / 2) * r;
  return Math.round(clamp(jittered, 0, cap));
}

/** Clamps a timer duration to what setTimeout honours (and to ≥ 0; NaN becomes 0). */
export function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : clamp(ms, 0, MAX_TIMER_MS);
}

/**
 * Resolves after `ms` (clamped to [0, 2^31−1]) or as soon as `signal` aborts, whichever is first. Never rejects;
 * the timer and the listener are both removed when it settles.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timerMs(ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

function clamp(x: number, lo: number, hi: number): number {
  if (Number.isNaN(x)) return lo;
  return Math.min(hi, Math.max(lo, x));
}
