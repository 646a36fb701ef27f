import type { QueryCache } from '../../cache/index.js';
import type { Database } from '../../db/index.js';

export interface MarketplaceDeps {
  db: Database;
  /** the runtime's built-in tool names (an installed agent may use them), passed in at the composition root */
  builtinTools?: ReadonlySet<string>;
  /** the query cache of the catalogue (browse, a public listing); without it they are read every time */
  cache?: QueryCache;
}
