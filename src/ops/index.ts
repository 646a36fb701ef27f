export { eraseRoutes, eraseOrganization, eraseUser, type EraseDeps, type StepUpInput } from './erase/index.js';
export { DEFAULT_RETENTION, retentionRoutes, enforceRetention, retentionCategories, type RetentionDeps, type EnforceResult } from './retention/index.js';
