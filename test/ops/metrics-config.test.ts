import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { scrubSecrets } from '../../src/ops/index.js';

describe('operational metrics configuration', () => {
  it('defaults: on, one ordinary request in ten, slow from 500 ms, one statement in a hundred, slow from 100 ms, written every 5 s, pool and process sampled every minute', () => {
    expect(parseConfig({}).opsMetrics).toEqual({
      enabled: true, sampleRate: 0.1, slowMs: 500, querySampleRate: 0.01, slowQueryMs: 100, queryContext: false, flushIntervalMs: 5000, poolStatsIntervalMs: 60_000, systemMetricsIntervalMs: 60_000,
      environment: 'production',
    });
  });

  it('reads every variable; 0 turns a sampler off', () => {
    const c = parseConfig({
      AGENTBASE_METRICS_ENABLED: 'false', AGENTBASE_METRICS_SAMPLE_RATE: '0.25', AGENTBASE_METRICS_SLOW_MS: '0', AGENTBASE_METRICS_FLUSH_SECONDS: '2',
      AGENTBASE_POOL_STATS_INTERVAL_SECONDS: '0', AGENTBASE_SYSTEM_METRICS_INTERVAL_SECONDS: '15', AGENTBASE_ENVIRONMENT: 'staging-eu',
      AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '0.5', AGENTBASE_METRICS_SLOW_QUERY_MS: '0', AGENTBASE_METRICS_QUERY_CONTEXT: 'true',
    }).opsMetrics;
    expect(c).toEqual({
      enabled: false, sampleRate: 0.25, slowMs: 0, querySampleRate: 0.5, slowQueryMs: 0, queryContext: true, flushIntervalMs: 2000, poolStatsIntervalMs: 0, systemMetricsIntervalMs: 15_000, environment: 'staging-eu',
    });
  });

  it.each([
    ['AGENTBASE_METRICS_SAMPLE_RATE', '1.5', 'from 0 to 1'],
    ['AGENTBASE_METRICS_SAMPLE_RATE', '-0.1', 'from 0 to 1'],
    ['AGENTBASE_METRICS_SAMPLE_RATE', 'half', 'from 0 to 1'],
    ['AGENTBASE_METRICS_ENABLED', 'maybe', 'true or false'],
    ['AGENTBASE_METRICS_QUERY_SAMPLE_RATE', '2', 'from 0 to 1'],
    ['AGENTBASE_METRICS_QUERY_SAMPLE_RATE', 'some', 'from 0 to 1'],
    ['AGENTBASE_METRICS_SLOW_QUERY_MS', '-5', ''],
    ['AGENTBASE_METRICS_SLOW_MS', '-1', ''],
    ['AGENTBASE_METRICS_FLUSH_SECONDS', '0', ''],
    ['AGENTBASE_POOL_STATS_INTERVAL_SECONDS', 'often', ''],
    ['AGENTBASE_ENVIRONMENT', 'a name far longer than twenty', 'letters, digits'],
  ])('refuses %s=%s with a message naming the variable', (name, value, hint) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*${hint}`));
  });
});

describe('scrubSecrets', () => {
  it.each([
    ['Authorization: Bearer abc.def-ghi', 'abc.def-ghi'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig_part', 'eyJzdWIiOiJ1In0'],
    ['key ab_0123456789abcdef0123 refused', 'ab_0123456789abcdef0123'],
    ['connect postgres://svc:s3cr3t@db.internal:5432/app failed', 's3cr3t'],
    ['webhook whsec_QUJDREVGR0hJSktMTU5PUA== bad', 'QUJDREVGR0hJSktMTU5PUA'],
    ['{"password":"hunter2","user":"x"}', 'hunter2'],
    ['api_key=zzz-top-secret&x=1', 'zzz-top-secret'],
  ])('removes the credential from %s', (text, secret) => {
    const out = scrubSecrets(text, 2000);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted');
  });

  it('keeps what is not a credential and bounds the length', () => {
    expect(scrubSecrets('relation "agents" does not exist', 2000)).toBe('relation "agents" does not exist');
    const long = scrubSecrets('x'.repeat(5000), 100);
    expect(long).toHaveLength(100);
  });
});
