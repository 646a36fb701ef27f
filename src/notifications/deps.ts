import type { Database } from '../db/index.js';

export interface NotificationsDeps {
  db: Database;
}
