import type { Database } from '../../db/index.js';

export interface MarketplaceDeps {
  db: Database;
  /** the runtime's built-in tool names (an installed agent may use them), passed in at the composition root */
  builtinTools?: ReadonlySet<string>;
}
