import { ingestAb } from './ingest-ab.js';

/**
 * What resolving references costs ingestion (issue 10): every execution
 * naming an agent version, a user and a parent execution — each resolved
 * inside the tenant, one set-based query per kind per batch — against
 * executions naming their agent only. `npm run bench -- ingest-refs`;
 * environment in ingest-ab.ts.
 */
export const ingestRefsBench = () => ingestAb({
  name: 'ingest-refs',
  title: 'Ingestion with references',
  baseline: 'their agent only',
  variant: 'agent, agentVersionId, userId and parentExecutionId',
  goalOf: 'issue 10',
  goal: 0.95,
  fields: (e, i, ctx, variant) => (variant
    ? { agentVersionId: ctx.versionOf.get(e.agentId)!, userId: ctx.userId, parentExecutionId: ctx.earlier[(i * 7919) % ctx.earlier.length]! }
    : {}),
});
