import { describe, expect, it } from 'vitest';
import { divRoundHalfUp, escapeHtml, PLANS, priceInvoice, type UsageFigures } from '../../../src/platform/index.js';

const usage = (over: Partial<UsageFigures> = {}): UsageFigures => ({
  runs: 0, ingestedSpans: 0, inputTokens: 0, outputTokens: 0, tokensUsed: 0, llmCostUsd: '0', storageBytes: 0, seats: 1, ...over,
});

describe('invoice arithmetic in integer cents', () => {
  it('rounds half up, once per line', () => {
    expect(divRoundHalfUp(0n, 7n)).toBe(0n);
    expect(divRoundHalfUp(5n, 10n)).toBe(1n); // 0.5 → 1
    expect(divRoundHalfUp(4n, 10n)).toBe(0n);
    expect(divRoundHalfUp(15n, 10n)).toBe(2n); // 1.5 → 2
    expect(divRoundHalfUp(25n, 10n)).toBe(3n); // 2.5 → 3 (half up, not to even)
    expect(divRoundHalfUp(10n ** 30n + 1n, 2n)).toBe(5n * 10n ** 29n + 1n); // no float precision loss
    expect(() => divRoundHalfUp(-1n, 2n)).toThrow(RangeError);
  });

  it('prices pro with several metered lines over their included amounts, exactly', () => {
    const u = usage({ runs: 12_345, ingestedSpans: 10_250_001, tokensUsed: 13_500_000, storageBytes: 12_345_678_901, seats: 8 });
    const p = priceInvoice(PLANS.pro, u, { billedDays: 31, daysInMonth: 31 }, 0);
    const byItem = Object.fromEntries(p.lines.map((l) => [l.item, l]));
    expect(byItem.base!.amountCents).toBe(4900n);
    // 2,345 runs over 10,000 at 200 ¢ per 1,000 = 469 ¢
    expect(byItem.runs).toMatchObject({ quantity: 12_345n, includedQuantity: 10_000n, billableQuantity: 2_345n, amountCents: 469n });
    // 250,001 spans over 10M at 25 ¢ per 100k = 62.50025 → 63 ¢
    expect(byItem.ingested_spans!.amountCents).toBe(63n);
    // 3.5M tokens over 10M at 50 ¢ per 1M = 175 ¢
    expect(byItem.tokens!.amountCents).toBe(175n);
    // 2,345,678,901 bytes over 10 GB at 25 ¢ per GB = 58.64… → 59 ¢
    expect(byItem.storage!.amountCents).toBe(59n);
    // 3 seats over 5 at 1000 ¢
    expect(byItem.seats!.amountCents).toBe(3000n);
    expect(p.subtotalCents).toBe(4900n + 469n + 63n + 175n + 59n + 3000n);
    expect(p.taxCents).toBe(0n);
    expect(p.totalCents).toBe(p.subtotalCents);
    expect(p.lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('prorates the base price by billed days and rounds tax on the subtotal', () => {
    // 4 of 31 days of 4900 ¢ = 632.258… → 632 ¢
    const p = priceInvoice(PLANS.pro, usage(), { billedDays: 4, daysInMonth: 31 }, 825);
    expect(p.lines[0]!.amountCents).toBe(632n);
    expect(p.subtotalCents).toBe(632n);
    // 8.25 % of 632 = 52.14 → 52
    expect(p.taxCents).toBe(52n);
    expect(p.totalCents).toBe(684n);
    // a half-cent of tax rounds up: 10 % of 5 ¢... via a 1-day enterprise period of 30 days: 49900/30 = 1663.33 → 1663 ¢; 1663 × 0.5 % = 8.315 → 8
    const e = priceInvoice(PLANS.enterprise, usage(), { billedDays: 1, daysInMonth: 30 }, 50);
    expect(e.subtotalCents).toBe(1663n);
    expect(e.taxCents).toBe(8n);
    const half = priceInvoice(PLANS.pro, usage({ seats: 6 }), { billedDays: 0, daysInMonth: 30 }, 5000); // 1000 ¢ at 50 % = 500
    expect(half.taxCents).toBe(500n);
    expect(priceInvoice(PLANS.pro, usage(), { billedDays: 0, daysInMonth: 30 }, 0).totalCents).toBe(0n);
  });

  it('escapes every HTML-special character', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;');
  });
});
