import { open, seal, type Keys } from '../identity/index.js';

/**
 * Sealing for other modules' stored secrets (webhook signing secrets): the
 * same AES-256-GCM under the secret-box key as this store's values, so one
 * AGENTBASE_SECRET protects them all and a leaked table opens nothing.
 */
export const sealValue = (keys: Pick<Keys, 'secretBox'>, plaintext: string): string => seal(keys.secretBox, plaintext);
export const openValue = (keys: Pick<Keys, 'secretBox'>, sealed: string): string => open(keys.secretBox, sealed);
