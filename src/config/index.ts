export { parseConfig, ConfigError, type BillingConfig, type Config, type EmbeddedDatabaseConfig, type RuntimeConfig, type WebhooksConfig, type RetentionConfig } from './config.js';
export { resolveSecret } from './secret.js';
