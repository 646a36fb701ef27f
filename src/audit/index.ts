export { appendAudit, type Actor, type AuditEvent, type AuditRow } from './audit-repo.js';
export { verifyChain, verifyAllChains, type ChainReport, type ChainBreak } from './verify.js';
export { auditRoutes } from './audit-routes.js';
export { GENESIS_HASH } from './chain.js';
