export { parseConfig, ConfigError, type BillingConfig, type Config, type EmbeddedDatabaseConfig, type CacheConfig, type RuntimeConfig, type WebhooksConfig } from './config.js';
export { resolveSecret } from './secret.js';
