/**
 * The materialized views the service refreshes. Adding one is one entry here
 * (its migration creates it with a UNIQUE index over plain columns, owned by a
 * role db.admin is a member of, and revoked from agentbase_app).
 */
export interface MatviewSpec {
  /** the materialized view, in schema public */
  name: string;
  /**
   * Its UNIQUE index over plain columns, covering every row: REFRESH …
   * CONCURRENTLY needs one. While it is missing or invalid the refresh is a plain one.
   */
  uniqueIndex: string;
  /** seconds between refreshes; default AGENTBASE_MATVIEW_REFRESH_SECONDS */
  intervalSeconds?: number;
}

export const MATVIEWS: readonly MatviewSpec[] = [
  { name: 'mv_agent_daily_costs', uniqueIndex: 'idx_mv_agent_daily_costs_key' },
  { name: 'mv_plan_daily_costs', uniqueIndex: 'idx_mv_plan_daily_costs_key' },
  { name: 'mv_agent_performance', uniqueIndex: 'idx_mv_agent_performance_key' },
  // seed 004's two (migration 0025), over the service's own measurements
  { name: 'user_activity_summary', uniqueIndex: 'idx_user_activity_summary_user_id' },
  { name: 'query_performance_summary', uniqueIndex: 'idx_query_performance_summary_hash' },
];

/** Identifiers are spliced into REFRESH statements, so only plain lower-case names are accepted. */
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSpec(spec: MatviewSpec): MatviewSpec {
  if (!IDENT.test(spec.name) || !IDENT.test(spec.uniqueIndex)) {
    throw new Error(`materialized view ${JSON.stringify(spec.name)}: names must match ${IDENT.source}`);
  }
  if (spec.intervalSeconds !== undefined && !(Number.isInteger(spec.intervalSeconds) && spec.intervalSeconds >= 10)) {
    throw new Error(`materialized view ${spec.name}: intervalSeconds must be an integer of at least 10`);
  }
  return spec;
}

/** The registry entry of a name, or undefined: the allow-list every refresh goes through. */
export function findMatview(name: string, registry: readonly MatviewSpec[] = MATVIEWS): MatviewSpec | undefined {
  const spec = registry.find((m) => m.name === name);
  return spec && checkSpec(spec);
}
