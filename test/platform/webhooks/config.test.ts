import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/index.js';

describe('webhook configuration', () => {
  it('defaults to 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, a 15 s timeout and no private targets', () => {
    const c = parseConfig({});
    expect(c.webhooks).toEqual({
      retryScheduleMs: [0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      timeoutMs: 15_000,
      allowPrivate: false,
    });
  });

  it('parses a schedule with units (bare numbers are seconds)', () => {
    expect(parseConfig({ AGENTBASE_WEBHOOK_RETRY_SCHEDULE: '0, 250ms,2,1.5m,1d', AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true' }).webhooks)
      .toMatchObject({ retryScheduleMs: [0, 250, 2000, 90_000, 86_400_000], allowPrivate: true });
  });

  it.each([
    ['5s,5m', 'must be 0'],
    ['0,5x', '"5x" is not a delay'],
    ['0,,5s', '"" is not a delay'],
    ['0,8d', 'longer than 7 days'],
    ['0,-5s', '"-5s" is not a delay'],
  ])('refuses %s with a message saying what to fix', (v, msg) => {
    expect(() => parseConfig({ AGENTBASE_WEBHOOK_RETRY_SCHEDULE: v })).toThrow(ConfigError);
    expect(() => parseConfig({ AGENTBASE_WEBHOOK_RETRY_SCHEDULE: v })).toThrow(new RegExp(`AGENTBASE_WEBHOOK_RETRY_SCHEDULE: .*${msg}`));
  });

  it('refuses a timeout out of range', () => {
    expect(() => parseConfig({ AGENTBASE_WEBHOOK_TIMEOUT_SECONDS: '0' })).toThrow(/AGENTBASE_WEBHOOK_TIMEOUT_SECONDS/);
  });
});
