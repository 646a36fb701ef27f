import type { Database } from '../../db/index.js';

export interface TasksDeps {
  db: Database;
  now?: () => Date;
}

export const clock = (deps: TasksDeps): Date => deps.now?.() ?? new Date();
