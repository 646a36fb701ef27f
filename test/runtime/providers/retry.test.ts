import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultRetryPolicy, parseRetryAfter, withRetry } from '../../../src/runtime/providers/retry.js';
import { ProviderError } from '../../../src/runtime/providers/errors.js';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 };

describe('back-off', () => {
  it('draws uniformly under an exponentially growing, capped ceiling', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
  });
});

describe('Retry-After', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it('reads seconds, an HTTP date and retry-after-ms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(h({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfter(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(h({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(h({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(h({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(h({}), now)).toBeUndefined();
  });
});

describe('withRetry', () => {
  const err = (retryable: boolean, retryAfterMs?: number) =>
    new ProviderError({ kind: retryable ? 'server_error' : 'bad_request', message: 'x', retryable, retryAfterMs });

  it('stops at the first non-retryable error and records the attempts', async () => {
    let calls = 0;
    const e = await withRetry(async () => {
      calls++;
      throw err(calls < 2);
    }, { ...policy, baseDelayMs: 1 }).catch((x: ProviderError) => x);
    expect(calls).toBe(2);
    expect(e).toMatchObject({ kind: 'bad_request', attempts: 2 });
  });

  it('passes anything that is not a ProviderError straight through', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new TypeError('bug');
      }, policy),
    ).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });

  it('waits at least Retry-After even when the jittered delay is smaller', async () => {
    const delays: number[] = [];
    let calls = 0;
    const r = await withRetry(
      async () => {
        if (++calls === 1) throw err(true, 40);
        return 'ok';
      },
      policy,
      { random: () => 0, onRetry: (i) => delays.push(i.delayMs) },
    );
    expect(r).toBe('ok');
    expect(delays).toEqual([40]);
  });

  it('an abort during back-off ends the wait with the abort reason', async () => {
    const ac = new AbortController();
    const p = withRetry(async () => {
      throw err(true, 60_000);
    }, { ...defaultRetryPolicy, maxRetryAfterMs: 120_000 }, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
