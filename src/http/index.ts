export { buildApp, type AppOptions } from './app.js';
export type { GaugeSource } from './metrics.js';
