import { ingestAb } from './ingest-ab.js';

/**
 * What sessions and tags cost ingestion (issue 11): executions naming a
 * session by the application's key (a new key every five executions, so a
 * 100-execution batch finds 20 sessions and creates them), with two tags and
 * metadata, against executions naming neither. `npm run bench --
 * ingest-sessions`; environment in ingest-ab.ts.
 */
export const ingestSessionsBench = () => ingestAb({
  name: 'ingest-sessions',
  title: 'Ingestion with sessions and tags',
  baseline: 'no session, no tags',
  variant: 'a session key (20 new sessions per batch) and two tags',
  goalOf: 'issue 11: linking telemetry must not slow ingest',
  goal: 0.95,
  fields: (e, _i, _ctx, variant, round) => (variant
    ? { sessionId: `r${round}-${e.sessionId}`, tags: ['bench', e.agentId.slice(0, 4)] }
    : { sessionId: undefined }),
});
