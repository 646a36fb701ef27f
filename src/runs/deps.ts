import type { Database } from '../db/index.js';

export interface RunsDeps {
  db: Database;
  /** The service clock: the default time of items that carry none, and the partition window. */
  now?: () => Date;
}

export const clock = (deps: RunsDeps): Date => deps.now?.() ?? new Date();
