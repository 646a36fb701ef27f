import type { Database, Sql } from '../db/index.js';

export interface AgentsDeps {
  db: Database;
  /**
   * The service clock. Checkpoint rows carry created_at from here (not the
   * database's now()): the partition key must be known before the insert, and
   * tests can pin it to land rows in a chosen month.
   */
  now?: () => Date;
  /**
   * Names of the built-in tools the runtime registered (call_agent, …): an
   * agent's tools may list these by name besides stored tools by id. Absent:
   * no built-ins, only stored tools.
   */
  builtinTools?: ReadonlySet<string>;
  /**
   * Whether the organization has a live integration with this id: an api
   * tool's config.auth.integrationId must name one. Wired at the composition
   * root to platform's integrations (agents does not import platform).
   * Absent: such configs are refused.
   */
  integrationExists?: (sql: Sql, orgId: string, integrationId: string) => Promise<boolean>;
}

export const clock = (deps: AgentsDeps): Date => deps.now?.() ?? new Date();
