export { parseConfig, ConfigError, type BillingConfig, type CacheConfig, type Config, type EmbeddedDatabaseConfig, type OpsMetricsConfig, type RetentionConfig, type RuntimeConfig, type WebhooksConfig } from './config.js';
export { resolveSecret } from './secret.js';
