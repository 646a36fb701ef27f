import type { Database } from '../db/index.js';

export interface RunsDeps {
  db: Database;
  /** The service clock: the default time of items that carry none, and the partition window. */
  now?: () => Date;
  /** Told the outcome of every committed ingest batch (the Prometheus counters of ingested items). */
  onIngested?: (results: readonly { kind: string; status: string }[]) => void;
}

export const clock = (deps: RunsDeps): Date => deps.now?.() ?? new Date();
