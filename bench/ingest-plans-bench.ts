import { randomUUID } from 'node:crypto';
import { ingestAb } from './ingest-ab.js';

/**
 * What plans cost ingestion (issue 13): executions naming one of 50 plans
 * (the plan's cost is the ledger's daily roll-up under the 'plan' dimension,
 * written per batch; idx_executions_plan and the ledger's plan index take
 * the new entries) against executions naming none. `npm run bench --
 * ingest-plans`; environment in ingest-ab.ts.
 */
const PLANS = Array.from({ length: 50 }, () => randomUUID());

export const ingestPlansBench = () => ingestAb({
  name: 'ingest-plans',
  title: 'Ingestion with plans',
  baseline: 'no plan',
  variant: 'each execution names one of 50 plans',
  goalOf: 'issue 13: plan cost roll-ups must not slow ingest',
  goal: 0.95,
  fields: (_e, i, _ctx, variant) => (variant ? { planId: PLANS[i % PLANS.length] } : {}),
});
