import type { Database } from '../../db/index.js';
import type { PaymentProvider } from './payment-provider.js';

export interface BillingDeps {
  db: Database;
  provider: PaymentProvider;
  /** tax in basis points of the subtotal; 0: none */
  taxRateBps: number;
  /** the service clock; tests pass their own to move through periods */
  now?: () => Date;
}

export const clock = (deps: BillingDeps): Date => deps.now?.() ?? new Date();
