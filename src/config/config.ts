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
  AGENTBASE_DATA_DIR: z.string().min(1).default('./.agentbase'),
  AGENTBASE_SECRET: z.string().min(32, 'must be at least 32 characters (use `openssl rand -base64 48`)').optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(4100, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 512 * 1024 * 1024),
  ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 86_400, 300, 365 * 86_400),
  LOGIN_MAX_ATTEMPTS: int(5, 1, 100),
  LOGIN_LOCKOUT_SECONDS: int(30, 1, 86_400),
  MAINTENANCE_INTERVAL_SECONDS: int(3600, 10, 86_400),
});

export interface Config {
  database: { mode: 'embedded'; dataDir: string } | { mode: 'server'; url: string; poolMax: number };
  dataDir: string;
  /** undefined until resolved: embedded mode generates one and keeps it in the data folder */
  secret: string | undefined;
  http: { host: string; port: number; bodyLimit: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  auth: {
    accessTokenTtl: number;
    refreshTokenTtl: number;
    loginMaxAttempts: number;
    loginLockoutSeconds: number;
  };
  maintenanceIntervalSeconds: number;
}

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
  return {
    database: e.DATABASE_URL
      ? { mode: 'server', url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX }
      : { mode: 'embedded', dataDir: e.AGENTBASE_DATA_DIR },
    dataDir: e.AGENTBASE_DATA_DIR,
    secret: e.AGENTBASE_SECRET,
    http: { host: e.HOST, port: e.PORT, bodyLimit: e.BODY_LIMIT_BYTES },
    logLevel: e.LOG_LEVEL,
    auth: {
      accessTokenTtl: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtl: e.REFRESH_TOKEN_TTL_SECONDS,
      loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
      loginLockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
    },
    maintenanceIntervalSeconds: e.MAINTENANCE_INTERVAL_SECONDS,
  };
}
