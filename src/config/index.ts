export { parseConfig, ConfigError, type BillingConfig, type Config, type EmbeddedDatabaseConfig, type RuntimeConfig } from './config.js';
export { resolveSecret } from './secret.js';
