import type { Database } from '../db/index.js';

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
}

export const clock = (deps: AgentsDeps): Date => deps.now?.() ?? new Date();
