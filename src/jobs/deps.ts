import type { Database } from '../db/index.js';

export interface JobsDeps {
  db: Database;
}
