import type { WebhooksConfig } from '../../config/index.js';
import type { Database } from '../../db/index.js';
import type { Keys } from '../../identity/index.js';

export interface WebhooksDeps {
  db: Database;
  /** the secret-box key signing secrets are sealed under */
  keys: Pick<Keys, 'secretBox'>;
  config: WebhooksConfig;
  now?: () => Date;
}

export const clock = (deps: WebhooksDeps): Date => deps.now?.() ?? new Date();
