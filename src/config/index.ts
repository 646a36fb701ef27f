export { parseConfig, ConfigError, type Config, type RuntimeConfig } from './config.js';
export { resolveSecret } from './secret.js';
