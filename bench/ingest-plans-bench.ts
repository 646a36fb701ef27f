import { ingestAb } from './ingest-ab.js';

/**
 * What plans cost ingestion (issue 13): executions naming one of 50 plans
 * (each planId is checked against the organization's plans once per batch;
 * the plan's cost is the ledger's daily roll-up under the 'plan' dimension,
 * written per batch; idx_executions_plan and the ledger's plan index take
 * the new entries) against executions naming none. `npm run bench --
 * ingest-plans`; environment in ingest-ab.ts.
 */
/** 50 plans of the bench organization, made through the API (an ingested planId must name a live plan). */
const PLANS: string[] = [];

export const ingestPlansBench = () => ingestAb({
  name: 'ingest-plans',
  title: 'Ingestion with plans',
  baseline: 'no plan',
  variant: 'each execution names one of 50 plans',
  goalOf: 'issue 13: plan cost roll-ups must not slow ingest',
  goal: 0.95,
  async setup(app, ctx) {
    for (let i = 0; i < 50; i++) {
      const r = await app.inject({ method: 'POST', url: '/v1/plans', headers: { authorization: ctx.authorization }, payload: { kind: 'generic', title: `plan ${i}` } });
      if (r.statusCode !== 201) throw new Error(`plan: ${r.statusCode} ${r.body}`);
      PLANS.push(r.json().id as string);
    }
  },
  fields: (_e, i, _ctx, variant) => (variant ? { planId: PLANS[i % PLANS.length] } : {}),
});
