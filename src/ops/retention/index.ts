export { retentionRoutes } from './retention-routes.js';
export { enforceRetention, getRetention, putRetention, type RetentionDeps, type EnforceResult } from './retention-service.js';
export { DEFAULT_RETENTION, retentionCategories, type RetentionCategory } from './categories.js';
