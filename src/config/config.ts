import { z } from 'zod';

/**
 * Configuration is read once, from the environment (and an optional .env that
 * the CLI loads before calling this), validated and passed down. Nothing else
 * reads process.env.
 */

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: int(10, 1, 1000),
  // Streaming read replicas (see src/db/replicas.ts): comma-separated postgres:// URLs.
  DATABASE_REPLICA_URLS: z
    .string()
    .transform((v, ctx) => {
      const urls = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
      for (const u of urls) {
        if (!/^postgres(ql)?:\/\/./.test(u)) {
          ctx.addIssue({ code: 'custom', message: `"${u.replace(/:[^:@/]*@/, ':***@')}" is not a postgres:// URL; list replica URLs separated by commas` });
          return z.NEVER;
        }
      }
      return urls;
    })
    .optional(),
  AGENTBASE_REPLICA_MAX_LAG_MS: int(5000, 1, 3_600_000),
  AGENTBASE_REPLICA_READ_YOUR_WRITES_MS: int(2000, 0, 3_600_000),
  AGENTBASE_REPLICA_SAMPLE_INTERVAL_MS: int(2000, 100, 600_000),
  AGENTBASE_DATA_DIR: z.string().min(1).default('./.agentbase'),
  // Embedded PostgreSQL's buffer pool. All of it is resident from startup (see
  // pglite-driver.ts), so it is the largest lever on an idle process's memory.
  AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB: int(16, 1, 4096),
  // Whether V8 may recompile embedded PostgreSQL's hot code with its optimizing compiler (see pglite-driver.ts).
  AGENTBASE_EMBEDDED_WASM_TIER_UP: z.enum(['true', 'false', '1', '0']).default('false'),
  // The prebuilt database a new data folder starts from (see pglite-template.ts): a folder, or "none".
  AGENTBASE_EMBEDDED_TEMPLATE: z.string().min(1).optional(),
  AGENTBASE_SECRET: z.string().min(32, 'must be at least 32 characters (use `openssl rand -base64 48`)').optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(4100, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 512 * 1024 * 1024),
  REQUEST_TIMEOUT_SECONDS: int(60, 1, 3600),
  ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 86_400, 300, 365 * 86_400),
  LOGIN_MAX_ATTEMPTS: int(5, 1, 100),
  LOGIN_LOCKOUT_SECONDS: int(30, 1, 86_400),
  MAINTENANCE_INTERVAL_SECONDS: int(3600, 10, 86_400),
  // How often each materialized view is refreshed (on the job queue; a view may set its own interval).
  AGENTBASE_MATVIEW_REFRESH_SECONDS: int(300, 10, 86_400),
  // The runtime: the model endpoint agents use unless their model_settings name another.
  AGENTBASE_LLM_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' }).optional(),
  AGENTBASE_LLM_API_KEY: z.string().min(1).optional(),
  AGENTBASE_SCRIPTS_DIR: z.string().min(1).optional(),
  AGENTBASE_EGRESS_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  AGENTBASE_RUN_MAX_STEPS: int(20, 1, 1000),
  AGENTBASE_RUN_TIMEOUT_SECONDS: int(300, 1, 86_400),
  AGENTBASE_RUN_MAX_DEPTH: int(3, 0, 20),
  AGENTBASE_WORKER: z.enum(['true', 'false', '1', '0']).default('true'),
  AGENTBASE_WORKER_CONCURRENCY: int(10, 1, 1000),
  // Memory: whether to use pgvector when the database has it, and the embedder
  // organizations use until they configure one (bundled: the offline model in
  // the package; hashed: a deterministic n-gram hash, for tests; none: text only).
  AGENTBASE_MEMORY_VECTORS: z.enum(['auto', 'off']).default('auto'),
  AGENTBASE_MEMORY_EMBEDDER: z.enum(['bundled', 'hashed', 'none']).default('bundled'),
  AGENTBASE_MEMORY_HALF_LIFE_DAYS: z.coerce.number().positive().max(36_500).default(30),
  // Billing: the payment provider (offline: payments settled out of band, always succeed;
  // offline_declining: every charge is declined, to exercise past_due) and the tax rate in basis points.
  AGENTBASE_BILLING_PROVIDER: z.enum(['offline', 'offline_declining']).default('offline'),
  AGENTBASE_BILLING_TAX_RATE_BPS: int(0, 0, 10_000),
  // Webhooks: the delay before each attempt (the first is the first attempt's, 0), the per-attempt timeout, private targets.
  AGENTBASE_WEBHOOK_RETRY_SCHEDULE: z.string().default('0,5s,5m,30m,2h,5h,10h,10h')
    .transform((v, ctx) => {
      const r = parseRetrySchedule(v);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: r });
        return z.NEVER;
      }
      return r;
    }),
  AGENTBASE_WEBHOOK_TIMEOUT_SECONDS: int(15, 1, 300),
  AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  // The service measuring itself into its own database (src/ops/metrics): which requests are kept
  // (a share of ordinary ones; every slow one and every 5xx), how often the buffer is written, and
  // how often the pool and process gauges are sampled (0: never).
  AGENTBASE_METRICS_ENABLED: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('true'),
  AGENTBASE_METRICS_SAMPLE_RATE: z.coerce.number({ error: 'must be a number from 0 to 1, e.g. 0.1 keeps one ordinary request in ten' })
    .min(0, 'must be a number from 0 to 1, e.g. 0.1 keeps one ordinary request in ten')
    .max(1, 'must be a number from 0 to 1, e.g. 0.1 keeps one ordinary request in ten')
    .default(0.1),
  AGENTBASE_METRICS_SLOW_MS: int(500, 0, 3_600_000),
  // Statements of the app-role transactions and query cache reads, kept as performance_metrics rows of
  // type query / cache (query_performance_summary reads them): a share, and every slow one.
  AGENTBASE_METRICS_QUERY_SAMPLE_RATE: z.coerce.number({ error: 'must be a number from 0 to 1, e.g. 0.01 keeps one statement in a hundred' })
    .min(0, 'must be a number from 0 to 1, e.g. 0.01 keeps one statement in a hundred')
    .max(1, 'must be a number from 0 to 1, e.g. 0.01 keeps one statement in a hundred')
    .default(0.01),
  AGENTBASE_METRICS_SLOW_QUERY_MS: int(100, 0, 3_600_000),
  // Link those rows to their request (id, user, session, route) through AsyncLocalStorage, which on
  // Node 20 slows every promise a little (the ops-metrics bench measures it): off unless asked for.
  AGENTBASE_METRICS_QUERY_CONTEXT: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('false'),
  AGENTBASE_METRICS_FLUSH_SECONDS: int(5, 1, 3600),
  AGENTBASE_POOL_STATS_INTERVAL_SECONDS: int(60, 0, 86_400),
  AGENTBASE_SYSTEM_METRICS_INTERVAL_SECONDS: int(60, 0, 86_400),
  // Recorded with the service's own metrics (system_metrics.environment, at most 20 characters).
  AGENTBASE_ENVIRONMENT: z.string().regex(/^[A-Za-z0-9._-]{1,20}$/, 'must be 1-20 letters, digits, dots, dashes or underscores, e.g. production').default('production'),
  // The query cache (src/cache): on or off, and the size maintain() evicts it to (bytes of cached JSON).
  AGENTBASE_CACHE_ENABLED: z.enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' }).default('true'),
  AGENTBASE_CACHE_MAX_BYTES: z.coerce
    .number({ error: 'must be a whole number of bytes, e.g. 67108864 for 64 MiB' })
    .int('must be a whole number of bytes, e.g. 67108864 for 64 MiB')
    .min(65_536, 'must be at least 65536 (64 KiB); set AGENTBASE_CACHE_ENABLED=false to turn the cache off')
    .max(2 ** 40, 'must be at most 1099511627776 (1 TiB)')
    .default(64 * 1024 * 1024),
  // Retention (src/ops/retention): the shortest audit period an organization may set (its personal details), and
  // the bounded batched DELETE maintenance runs per organization and category.
  AGENTBASE_RETENTION_AUDIT_MIN_DAYS: int(365, 1, 2555),
  AGENTBASE_RETENTION_BATCH_SIZE: int(5000, 1, 100_000),
  AGENTBASE_RETENTION_MAX_BATCHES: int(20, 1, 10_000),
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "0,5s,5m,30m,2h" → delays in ms, one per attempt: a bare number is seconds,
 * or a number with ms/s/m/h/d. The first is the first attempt's and must be 0
 * (an event is sent as soon as its change commits); each at most 7 days;
 * 1..50 attempts. A string says what is wrong.
 */
export function parseRetrySchedule(v: string): number[] | string {
  const parts = v.split(',').map((p) => p.trim());
  if (parts.length < 1 || parts.length > 50) return 'must list 1..50 delays separated by commas, e.g. 0,5s,5m,30m,2h';
  const out: number[] = [];
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(p);
    if (!m) return `"${p}" is not a delay; write a number with ms, s, m, h or d (e.g. 0,5s,5m,30m,2h)`;
    const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
    if (ms > 7 * 86_400_000) return `"${p}" is longer than 7 days`;
    out.push(ms);
  }
  if (out[0] !== 0) return 'the first delay is the first attempt\'s and must be 0 (events are sent when their change commits)';
  return out;
}

export interface ServerDatabaseConfig {
  mode: 'server';
  url: string;
  poolMax: number;
  /** read replicas; reads fall back to the primary when none is usable */
  replicas: {
    urls: string[];
    /** a replica lagging more is skipped until a later sample finds it caught up */
    maxLagMs: number;
    /** after a write, its organization reads from the primary this long unless a replica has replayed it */
    readYourWritesMs: number;
    sampleIntervalMs: number;
  };
}

export interface Config {
  database: EmbeddedDatabaseConfig | ServerDatabaseConfig;
  dataDir: string;
  /** undefined until resolved: embedded mode generates one and keeps it in the data folder */
  secret: string | undefined;
  http: { host: string; port: number; bodyLimit: number; requestTimeoutMs: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  auth: {
    accessTokenTtl: number;
    refreshTokenTtl: number;
    loginMaxAttempts: number;
    loginLockoutSeconds: number;
  };
  maintenanceIntervalSeconds: number;
  /** materialized views (src/ops/matviews): seconds between refreshes */
  matviews: { refreshSeconds: number };
  runtime: RuntimeConfig;
  /** the in-process job worker (agent runs, workflow steps, schedules) */
  worker: { enabled: boolean; concurrency: number };
  memory: MemoryConfig;
  billing: BillingConfig;
  webhooks: WebhooksConfig;
  opsMetrics: OpsMetricsConfig;
  cache: CacheConfig;
  retention: RetentionConfig;
}

export interface OpsMetricsConfig {
  /** false: nothing is recorded, no timer runs */
  enabled: boolean;
  /** the share (0..1) of ordinary API requests kept; slow ones and 5xx are always kept */
  sampleRate: number;
  /** a request at least this slow (ms) is always kept */
  slowMs: number;
  /** the share (0..1) of statements and query cache reads kept; slow ones always are (0 and a slow limit of 0: none) */
  querySampleRate: number;
  /** a statement or cache read at least this slow (ms) is always kept; 0: no such rule (with a rate of 0 too, none is kept) */
  slowQueryMs: number;
  /** statement and cache rows carry the request they served (AsyncLocalStorage: a cost on every promise) */
  queryContext: boolean;
  /** how often the buffer is written (it is also written when it holds a batch) */
  flushIntervalMs: number;
  /** how often connection_pool_stats / system_metrics are sampled; 0: never */
  poolStatsIntervalMs: number;
  systemMetricsIntervalMs: number;
  /** system_metrics.environment */
  environment: string;
}

export interface CacheConfig {
  /** off: every read computes (writes still invalidate, so turning it on later is safe) */
  enabled: boolean;
  /** the size cap of cached answers, bytes; maintenance evicts least recently used entries to it */
  maxBytes: number;
}

export interface RetentionConfig {
  /** the shortest period (days) an organization may keep audit rows' personal details */
  auditMinDays: number;
  /** rows one DELETE removes */
  batchSize: number;
  /** batches per organization and category in one maintenance run (the rest waits for the next run) */
  maxBatches: number;
}

export interface BillingConfig {
  /** which PaymentProvider charges invoices (src/platform/billing/payment-provider.ts) */
  provider: 'offline' | 'offline_declining';
  /** tax on invoices, in basis points of the subtotal (825 = 8.25 %); 0: none */
  taxRateBps: number;
}

export interface WebhooksConfig {
  /** the delay before each attempt, in ms: [0, 5000, …]; its length is the number of attempts */
  retryScheduleMs: number[];
  /** an attempt that has no complete answer within this fails */
  timeoutMs: number;
  /** whether endpoints may be loopback, private, link-local … addresses (tests; private deployments) */
  allowPrivate: boolean;
}

export interface MemoryConfig {
  /** auto: vector search when the database has pgvector; off: full text only */
  vectors: 'auto' | 'off';
  /** the embedder of organizations and agents that configure none */
  defaultEmbedder: 'bundled' | 'hashed' | 'none';
  /** the recency half-life of ranking unless an org or agent sets one */
  halfLifeDays: number;
}

export interface EmbeddedDatabaseConfig {
  mode: 'embedded';
  dataDir: string;
  /** PostgreSQL's shared_buffers, MB */
  sharedBuffersMb: number;
  /** whether V8 recompiles hot PostgreSQL code with its optimizing compiler */
  wasmTierUp: boolean;
  /** where the template for a new data folder is; undefined: the one built with agentbase; false: none */
  template?: string | false;
}

export interface RuntimeConfig {
  /** the default OpenAI-compatible endpoint (agents may name their own in model_settings) */
  llm: { baseUrl: string; apiKey: string | undefined } | undefined;
  /** where `provider: "scripted"` agents' script files (<name>.json) are read from */
  scriptsDir: string | undefined;
  /**
   * Whether http tools and model endpoints may reach loopback, private and
   * link-local addresses. Off by default: a tenant's tool URL must not become a
   * way into the service's own network (SSRF).
   */
  egressAllowPrivate: boolean;
  /** limits of one agent run unless the request lowers them */
  maxSteps: number;
  timeoutMs: number;
  /** how deep agent-to-agent calls may nest */
  maxDepth: number;
}

const truthy = (v: string): boolean => v === 'true' || v === '1';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = EnvSchema.safeParse(cleaned);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = r.data;
  if (e.DATABASE_REPLICA_URLS?.length && !e.DATABASE_URL) {
    throw new ConfigError('invalid configuration:\n  DATABASE_REPLICA_URLS: read replicas need a primary; set DATABASE_URL too (embedded mode has no replicas)');
  }
  return {
    database: e.DATABASE_URL
      ? {
        mode: 'server',
        url: e.DATABASE_URL,
        poolMax: e.DATABASE_POOL_MAX,
        replicas: {
          urls: e.DATABASE_REPLICA_URLS ?? [],
          maxLagMs: e.AGENTBASE_REPLICA_MAX_LAG_MS,
          readYourWritesMs: e.AGENTBASE_REPLICA_READ_YOUR_WRITES_MS,
          sampleIntervalMs: e.AGENTBASE_REPLICA_SAMPLE_INTERVAL_MS,
        },
      }
      : {
        mode: 'embedded',
        dataDir: e.AGENTBASE_DATA_DIR,
        sharedBuffersMb: e.AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB,
        wasmTierUp: truthy(e.AGENTBASE_EMBEDDED_WASM_TIER_UP),
        ...(e.AGENTBASE_EMBEDDED_TEMPLATE
          ? { template: e.AGENTBASE_EMBEDDED_TEMPLATE === 'none' ? (false as const) : e.AGENTBASE_EMBEDDED_TEMPLATE }
          : {}),
      },
    dataDir: e.AGENTBASE_DATA_DIR,
    secret: e.AGENTBASE_SECRET,
    http: { host: e.HOST, port: e.PORT, bodyLimit: e.BODY_LIMIT_BYTES, requestTimeoutMs: e.REQUEST_TIMEOUT_SECONDS * 1000 },
    logLevel: e.LOG_LEVEL,
    auth: {
      accessTokenTtl: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtl: e.REFRESH_TOKEN_TTL_SECONDS,
      loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
      loginLockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
    },
    maintenanceIntervalSeconds: e.MAINTENANCE_INTERVAL_SECONDS,
    matviews: { refreshSeconds: e.AGENTBASE_MATVIEW_REFRESH_SECONDS },
    runtime: {
      llm: e.AGENTBASE_LLM_BASE_URL ? { baseUrl: e.AGENTBASE_LLM_BASE_URL, apiKey: e.AGENTBASE_LLM_API_KEY } : undefined,
      scriptsDir: e.AGENTBASE_SCRIPTS_DIR,
      egressAllowPrivate: truthy(e.AGENTBASE_EGRESS_ALLOW_PRIVATE),
      maxSteps: e.AGENTBASE_RUN_MAX_STEPS,
      timeoutMs: e.AGENTBASE_RUN_TIMEOUT_SECONDS * 1000,
      maxDepth: e.AGENTBASE_RUN_MAX_DEPTH,
    },
    worker: { enabled: truthy(e.AGENTBASE_WORKER), concurrency: e.AGENTBASE_WORKER_CONCURRENCY },
    memory: {
      vectors: e.AGENTBASE_MEMORY_VECTORS,
      defaultEmbedder: e.AGENTBASE_MEMORY_EMBEDDER,
      halfLifeDays: e.AGENTBASE_MEMORY_HALF_LIFE_DAYS,
    },
    billing: { provider: e.AGENTBASE_BILLING_PROVIDER, taxRateBps: e.AGENTBASE_BILLING_TAX_RATE_BPS },
    webhooks: {
      retryScheduleMs: e.AGENTBASE_WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: e.AGENTBASE_WEBHOOK_TIMEOUT_SECONDS * 1000,
      allowPrivate: truthy(e.AGENTBASE_WEBHOOKS_ALLOW_PRIVATE),
    },
    opsMetrics: {
      enabled: truthy(e.AGENTBASE_METRICS_ENABLED),
      sampleRate: e.AGENTBASE_METRICS_SAMPLE_RATE,
      slowMs: e.AGENTBASE_METRICS_SLOW_MS,
      querySampleRate: e.AGENTBASE_METRICS_QUERY_SAMPLE_RATE,
      slowQueryMs: e.AGENTBASE_METRICS_SLOW_QUERY_MS,
      queryContext: truthy(e.AGENTBASE_METRICS_QUERY_CONTEXT),
      flushIntervalMs: e.AGENTBASE_METRICS_FLUSH_SECONDS * 1000,
      poolStatsIntervalMs: e.AGENTBASE_POOL_STATS_INTERVAL_SECONDS * 1000,
      systemMetricsIntervalMs: e.AGENTBASE_SYSTEM_METRICS_INTERVAL_SECONDS * 1000,
      environment: e.AGENTBASE_ENVIRONMENT,
    },
    cache: { enabled: truthy(e.AGENTBASE_CACHE_ENABLED), maxBytes: e.AGENTBASE_CACHE_MAX_BYTES },
    retention: {
      auditMinDays: e.AGENTBASE_RETENTION_AUDIT_MIN_DAYS,
      batchSize: e.AGENTBASE_RETENTION_BATCH_SIZE,
      maxBatches: e.AGENTBASE_RETENTION_MAX_BATCHES,
    },
  };
}
