import type { Database, Sql } from '../db/index.js';

export interface UsageDeps {
  db: Database;
  /**
   * The priced cost of the organization on or after a UTC day (numeric as
   * text). The cost ledger belongs to the runs module, which the service
   * wiring passes in here: runs depends on usage, so usage cannot import it.
   */
  costSince: (sql: Sql, orgId: string, day: string) => Promise<string>;
  /** the service clock (tests pin it) */
  now?: () => Date;
}
