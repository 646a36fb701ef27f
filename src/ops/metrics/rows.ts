import type { Outcome, OutcomeDetail } from '../../cache/index.js';

/** What the recorder buffers, one shape per table (src/ops/metrics/metrics-repo.ts writes them). */

export type KeptBecause = 'sampled' | 'slow' | 'error';

/** An API request that was kept: becomes one api_requests row and one performance_metrics row (metric_type api). */
export interface ApiRequestRecord {
  requestId: string;
  method: string;
  /** the route pattern, never the raw URL */
  route: string;
  status: number;
  durationMs: number;
  orgId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  sessionId: string | null;
  principalType: 'user' | 'api_key' | null;
  ip: string | null;
  userAgent: string | null;
  requestBytes: number | null;
  responseBytes: number | null;
  keptBecause: KeptBecause;
  sampleRate: number;
  at: Date;
}

/** A performance_metrics row of another kind (query, cache, frontend), recorded by the module that measured it. */
export interface PerformanceRecord {
  metricType: 'query' | 'api' | 'cache' | 'frontend';
  metricName: string;
  durationMs: number;
  memoryUsageMb?: number | null;
  cpuUsagePercent?: number | null;
  orgId?: string | null;
  userId?: string | null;
  sessionId?: string | null;
  requestId?: string | null;
  endpoint?: string | null;
  queryHash?: string | null;
  metadata?: Record<string, unknown> | null;
  at?: Date;
}

/** A request answered 5xx: one error_logs row with the request id the client was given. */
export interface ErrorRecord {
  requestId: string | null;
  orgId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  method: string | null;
  route: string | null;
  status: number;
  errorCode: string;
  errorName: string | null;
  pgCode: string | null;
  /** scrubbed of credentials (scrub.ts) */
  message: string;
  stack: string | null;
  at: Date;
}

export interface PoolStatsRecord {
  poolName: string;
  databaseName: string;
  instance: string;
  total: number;
  active: number;
  idle: number;
  waiting: number;
  avgConnectionTimeMs: number | null;
  maxConnectionTimeMs: number | null;
  connectionErrors: number;
  at: Date;
}

export interface SystemMetricRecord {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'timer';
  value: number;
  unit: string | null;
  tags: Record<string, unknown>;
  serviceName: string;
  environment: string;
  version: string;
  retentionDays: number | null;
  at: Date;
}

/** A query cache read as the cache reported it (src/cache's outcome listener: the outcome, the read's name, its detail). */
export type CacheRead = OutcomeDetail & { outcome: Outcome; name: string };
