import { PARTITIONED_TABLES, type Database } from '../db/index.js';
import * as repo from './ingest-repo.js';
import type { IngestKind } from './ingest-repo.js';

/** Which table's retention bounds each kind of key. Messages are kept for good, and so are their keys. */
const KEY_TABLES: Partial<Record<IngestKind, string>> = {
  execution: 'executions',
  span: 'spans',
  decision: 'agent_decisions',
};

/**
 * Maintenance: drops ingestion keys past their items' retention, one
 * organization at a time, each in its own tenant transaction (the app role
 * deletes under row-level security; nothing runs across tenants at once).
 */
export async function pruneIngestKeys(db: Database, now = new Date()): Promise<number> {
  const orgs = await db.transaction(async (sql) =>
    (await sql.query<{ id: string }>(`SELECT ops_organization_ids() AS id`)).rows.map((r) => r.id));
  let pruned = 0;
  for (const orgId of orgs) {
    for (const [kind, table] of Object.entries(KEY_TABLES) as [IngestKind, string][]) {
      const t = PARTITIONED_TABLES.find((p) => p.table === table)!;
      const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - t.retainMonths, 1)).toISOString();
      pruned += await db.tenant(orgId, (sql) => repo.pruneKeys(sql, orgId, kind, cutoff));
    }
  }
  return pruned;
}
