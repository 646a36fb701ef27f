export { parseConfig, ConfigError, type Config } from './config.js';
export { resolveSecret } from './secret.js';
