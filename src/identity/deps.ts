import type { Database } from '../db/index.js';
import type { AccessTokens } from './access-tokens.js';
import type { Keys } from './secrets.js';

export interface IdentityDeps {
  db: Database;
  keys: Keys;
  tokens: AccessTokens;
  auth: {
    refreshTokenTtl: number;
    loginMaxAttempts: number;
    loginLockoutSeconds: number;
  };
}
